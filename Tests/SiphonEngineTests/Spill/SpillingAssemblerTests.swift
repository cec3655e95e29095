// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore
import SiphonEngine
import SiphonPgOutput
import Testing

/// The assembler with a `SpillingChangeStore`: the same events as with everything in memory, in parts.
@Suite struct SpillingAssemblerTests {
    typealias Message = PgOutputMessage

    static let oid: UInt32 = 16_400

    static let relation = Message.relation(
        Message.Relation(
            oid: Self.oid, namespace: "app", name: "users", replicaIdentity: .default,
            columns: [
                Message.Relation.Column(flags: 1, name: "id", typeOID: 23, typeModifier: -1),
                Message.Relation.Column(flags: 0, name: "name", typeOID: 25, typeModifier: -1),
            ]))

    static func insert(_ id: Int, xid: UInt32? = nil) -> Message {
        .insert(
            Message.Insert(
                xid: xid, relationOID: Self.oid,
                new: Message.TupleData([.text(ByteBuffer(string: "\(id)")), .text(ByteBuffer(string: "name \(id)"))])))
    }

    static func streamCommit(_ xid: UInt32, lsn: UInt64) -> Message {
        .streamCommit(
            Message.StreamCommit(
                xid: xid, commitLSN: LSN(rawValue: lsn), endLSN: LSN(rawValue: lsn + 8),
                commitTime: PostgresTimestamp(rawValue: 9)))
    }

    /// Streamed transaction 10 with subtransactions 11 (rolled back) and 12, an origin, a message and a truncate;
    /// streamed transaction 30 rolled back wholly; plain transaction 20 committing in between.
    static let messages: [Message] =
        [
            Self.relation, .streamStart(Message.StreamStart(xid: 10, isFirstSegment: true)),
            .origin(Message.Origin(commitLSN: .zero, name: "east")),
        ] + (0..<300).map { Self.insert($0, xid: [10, 11, 12][$0 % 3]) }
        + [
            .message(
                Message.LogicalMessage(
                    xid: 12, isTransactional: true, lsn: LSN(rawValue: 40), prefix: "p",
                    content: ByteBuffer(string: "kept"))),
            .message(
                Message.LogicalMessage(
                    xid: 11, isTransactional: true, lsn: LSN(rawValue: 41), prefix: "p",
                    content: ByteBuffer(string: "rolled back"))),
            .streamStop, .streamStart(Message.StreamStart(xid: 30, isFirstSegment: true)),
        ] + (1000..<1200).map { Self.insert($0, xid: 30) }
        + [
            .streamStop,
            .begin(Message.Begin(finalLSN: LSN(rawValue: 200), commitTime: PostgresTimestamp(rawValue: 5), xid: 20)),
            Self.insert(2000),
            .commit(
                Message.Commit(
                    commitLSN: LSN(rawValue: 200), endLSN: LSN(rawValue: 208),
                    commitTime: PostgresTimestamp(rawValue: 5))),
            .streamStart(Message.StreamStart(xid: 10, isFirstSegment: false)),
        ] + (300..<400).map { Self.insert($0, xid: 10) }
        + [
            .truncate(Message.Truncate(xid: 12, options: [.cascade], relationOIDs: [Self.oid, Self.oid])),
            .streamStop, .streamAbort(Message.StreamAbort(xid: 10, subtransactionXID: 11)),
            .streamAbort(Message.StreamAbort(xid: 30, subtransactionXID: 30)), Self.streamCommit(10, lsn: 300),
        ]

    @Test func spilledTransactionsGiveTheSameEventsAsInMemoryOnes() throws {
        var inMemory = ChangeAssembler(source: "slot", renderer: ValueRenderer())
        var expected: [AssembledEvent] = []
        for message in Self.messages { try inMemory.consume(message, into: &expected) }

        try withSpillDirectory { directory in
            let limit = 4_096
            var assembler = ChangeAssembler(
                source: "slot", renderer: ValueRenderer(),
                heldChanges: SpillingChangeStore(memoryLimit: limit, directory: directory))
            var events: [AssembledEvent] = []
            var parts = 0
            var mostOnDisk = 0
            for message in Self.messages {
                try assembler.consume(message, into: &events, limit: 50)
                parts += 1
                while assembler.hasPendingEvents {
                    try assembler.emitPendingEvents(into: &events, limit: 50)
                    parts += 1
                }
                #expect(assembler.bufferedBytes <= limit)
                mostOnDisk = max(mostOnDisk, assembler.heldChangeCount - assembler.bufferedChangeCount)
            }
            #expect(events == expected)
            #expect(mostOnDisk > 400)
            #expect(assembler.heldChangeCount == 0)
            #expect(assembler.bufferedBytes == 0)
            #expect(try openFiles(in: directory) ?? 0 == 0)
            // Transaction 10 comes back as begin, 302 changes, a message and commit: 305 events in parts of 50.
            #expect(parts == Self.messages.count + 6)
        }

        let committed = expected.compactMap { event -> Change? in
            if case .change(let change) = event, change.xid == 10 { change } else { nil }
        }
        #expect(committed.count == 302)
        #expect(committed.map(\.id.index) == Array(0..<302))
        #expect(committed.allSatisfy { $0.origin == "east" && $0.id.commitLSN == LSN(rawValue: 300) })
        let survivors = (0..<400).filter { $0 >= 300 || $0 % 3 != 1 }
        #expect(committed.filter { $0.operation == .insert }.map { Int($0.new?["id"] ?? "") } == survivors)
        #expect(committed.suffix(2).map(\.operation) == [.truncate, .truncate])
    }
}
