// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore
import SiphonPgOutput
import Testing

/// The assembler on hand-built message sequences: streaming corner cases and protocol violations.
@Suite struct ChangeAssemblerTests {
    typealias Message = PgOutputMessage

    static let oid: UInt32 = 16_400

    static func relation(xid: UInt32? = nil, extraColumn: Bool = false) -> Message {
        var columns = [
            Message.Relation.Column(flags: 1, name: "id", typeOID: 23, typeModifier: -1),
            Message.Relation.Column(flags: 0, name: "name", typeOID: 25, typeModifier: -1),
        ]
        if extraColumn {
            columns.append(Message.Relation.Column(flags: 0, name: "extra", typeOID: 25, typeModifier: -1))
        }
        return .relation(
            Message.Relation(
                xid: xid,
                oid: Self.oid,
                namespace: "app",
                name: "users",
                replicaIdentity: .default,
                columns: columns
            )
        )
    }

    static func insert(xid: UInt32? = nil, _ values: String...) -> Message {
        .insert(
            Message.Insert(xid: xid, relationOID: Self.oid, new: Message.TupleData(values.map { .text(.text($0)) }))
        )
    }

    static func begin(xid: UInt32, lsn: UInt64) -> Message {
        .begin(Message.Begin(finalLSN: LSN(lsn), commitTime: PostgresTimestamp(7), xid: xid))
    }

    static func commit(lsn: UInt64) -> Message {
        .commit(Message.Commit(commitLSN: LSN(lsn), endLSN: LSN(lsn + 8), commitTime: PostgresTimestamp(7)))
    }

    static func streamStart(_ xid: UInt32, first: Bool) -> Message {
        .streamStart(Message.StreamStart(xid: xid, isFirstSegment: first))
    }

    static func streamCommit(_ xid: UInt32, lsn: UInt64) -> Message {
        .streamCommit(
            Message.StreamCommit(xid: xid, commitLSN: LSN(lsn), endLSN: LSN(lsn + 8), commitTime: PostgresTimestamp(9))
        )
    }

    static func streamAbort(_ xid: UInt32, _ subtransactionXID: UInt32) -> Message {
        .streamAbort(Message.StreamAbort(xid: xid, subtransactionXID: subtransactionXID))
    }

    private func run(_ messages: [Message], assembler: inout ChangeAssembler) throws -> [AssembledEvent] {
        var events: [AssembledEvent] = []
        for message in messages {
            try assembler.consume(message, into: &events)
        }
        return events
    }

    private func run(_ messages: [Message]) throws -> [AssembledEvent] {
        var assembler = ChangeAssembler(source: "slot", renderer: ValueRenderer())
        return try self.run(messages, assembler: &assembler)
    }

    private func failure(
        _ messages: [Message],
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> PgOutputDecodingError? {
        var assembler = ChangeAssembler(source: "slot", renderer: ValueRenderer())
        return #expect(throws: PgOutputDecodingError.self, sourceLocation: sourceLocation) {
            for message in messages { _ = try assembler.consume(message) }
        }
    }

    /// The `name` column of each change, as text (the renderer quotes text values).
    private func names(_ events: [AssembledEvent]) -> [String?] {
        ChangeAssemblerFixtureTests.changes(events).map { $0.new?["name"] }
    }

    private func json(_ text: String) -> String { JSONText.string(text) }

    @Test func aKnownPrimaryKeyNarrowsAFullReplicaIdentitysKey() throws {
        // REPLICA IDENTITY FULL: pgoutput flags every column as part of the key.
        let full = Message.relation(
            Message.Relation(
                xid: nil, oid: Self.oid, namespace: "app", name: "users", replicaIdentity: .full,
                columns: [
                    Message.Relation.Column(flags: 1, name: "id", typeOID: 23, typeModifier: -1),
                    Message.Relation.Column(flags: 1, name: "name", typeOID: 25, typeModifier: -1),
                ]))
        let messages = [Self.begin(xid: 5, lsn: 100), full, Self.insert("1", "ada"), Self.commit(lsn: 100)]
        let flagged = ChangeAssemblerFixtureTests.changes(try self.run(messages))
        #expect(flagged.map(\.key.names) == [["id", "name"]])

        var assembler = ChangeAssembler(source: "slot", renderer: ValueRenderer())
        assembler.primaryKeys[Self.oid] = ["id"]
        let narrowed = ChangeAssemblerFixtureTests.changes(try self.run(messages, assembler: &assembler))
        #expect(narrowed.map(\.key.names) == [["id"]])
        #expect(narrowed.map { $0.new?.names } == [["id", "name"]])
    }

    @Test func wholeAbortDropsEverythingHeld() throws {
        var assembler = ChangeAssembler(source: "slot", renderer: ValueRenderer())
        let events = try self.run(
            [
                Self.streamStart(10, first: true), Self.relation(xid: 10), Self.insert(xid: 10, "1", "a"),
                Self.insert(xid: 11, "2", "b"), .streamStop,
            ],
            assembler: &assembler
        )
        #expect(events.isEmpty)
        #expect(assembler.bufferedChangeCount == 2)
        #expect(assembler.bufferedBytes > 0)
        #expect(try assembler.consume(Self.streamAbort(10, 10)).isEmpty)
        #expect(assembler.bufferedChangeCount == 0)
        #expect(assembler.bufferedBytes == 0)
        let error = #expect(throws: PgOutputDecodingError.self) {
            try assembler.consume(Self.streamCommit(10, lsn: 100))
        }
        #expect(error?.reason == .unexpectedMessage("transaction 10 was never streamed"))
    }

    @Test func subtransactionAbortDropsOnlyItsChanges() throws {
        var assembler = ChangeAssembler(source: "slot", renderer: ValueRenderer())
        let events = try self.run(
            [
                Self.relation(), Self.streamStart(10, first: true), Self.insert(xid: 10, "1", "a"),
                Self.insert(xid: 11, "2", "b"), Self.insert(xid: 12, "3", "c"), .streamStop, Self.streamAbort(10, 11),
            ],
            assembler: &assembler
        )
        #expect(events.isEmpty)
        #expect(assembler.bufferedChangeCount == 2)
        let committed = try self.run(
            [
                Self.streamStart(10, first: false), Self.insert(xid: 10, "4", "d"), .streamStop,
                Self.streamCommit(10, lsn: 500),
            ],
            assembler: &assembler
        )
        #expect(self.names(committed) == [self.json("a"), self.json("c"), self.json("d")])
        #expect(ChangeAssemblerFixtureTests.changes(committed).map(\.id.index) == [0, 1, 2])
        #expect(
            ChangeAssemblerFixtureTests.changes(committed).allSatisfy { $0.xid == 10 && $0.id.commitLSN == LSN(500) }
        )
        #expect(committed.first == .begin(xid: 10, commitLSN: LSN(500), commitTime: PostgresTimestamp(9)))
        #expect(
            committed.last == .commit(xid: 10, commitLSN: LSN(500), endLSN: LSN(508), commitTime: PostgresTimestamp(9))
        )
        #expect(assembler.bufferedChangeCount == 0)
        #expect(assembler.bufferedBytes == 0)
    }

    @Test func streamCommitHandsBackItsEventsInPartsWhenAsked() throws {
        var assembler = ChangeAssembler(source: "slot", renderer: ValueRenderer())
        _ = try self.run(
            [
                Self.relation(), Self.streamStart(10, first: true), Self.insert(xid: 10, "1", "a"),
                Self.insert(xid: 11, "2", "b"), Self.insert(xid: 10, "3", "c"), .streamStop,
            ],
            assembler: &assembler
        )
        #expect(assembler.heldChangeCount == 3)
        var events: [AssembledEvent] = []
        try assembler.consume(Self.streamCommit(10, lsn: 500), into: &events, limit: 2)
        #expect(events.count == 2)
        #expect(assembler.hasPendingEvents)
        #expect(assembler.heldChangeCount == 0)
        try assembler.emitPendingEvents(into: &events, limit: 2)
        #expect(events.count == 4)
        #expect(assembler.hasPendingEvents)
        try assembler.emitPendingEvents(into: &events, limit: 2)
        #expect(!assembler.hasPendingEvents)
        let whole = try self.run([
            Self.relation(), Self.streamStart(10, first: true), Self.insert(xid: 10, "1", "a"),
            Self.insert(xid: 11, "2", "b"), Self.insert(xid: 10, "3", "c"), .streamStop,
            Self.streamCommit(10, lsn: 500),
        ])
        #expect(events == whole)
        #expect(ChangeAssemblerFixtureTests.changes(events).map(\.id.index) == [0, 1, 2])
        #expect(
            events.last == .commit(xid: 10, commitLSN: LSN(500), endLSN: LSN(508), commitTime: PostgresTimestamp(9))
        )
        #expect(assembler.bufferedChangeCount == 0)
        #expect(assembler.bufferedBytes == 0)
        // Nothing is pending any more: the next message is consumed as usual.
        #expect(try assembler.consume(Self.begin(xid: 20, lsn: 600)).count == 1)
    }

    @Test func heldChangeCountFollowsAbortsOfSubtransactionsAndTransactions() throws {
        var assembler = ChangeAssembler(source: "slot", renderer: ValueRenderer())
        _ = try self.run(
            [
                Self.relation(), Self.streamStart(10, first: true), Self.insert(xid: 10, "1", "a"),
                Self.insert(xid: 11, "2", "b"), Self.insert(xid: 11, "3", "c"), .streamStop,
                Self.streamStart(20, first: true), Self.insert(xid: 20, "4", "d"), .streamStop,
            ],
            assembler: &assembler
        )
        #expect(assembler.heldChangeCount == 4)
        _ = try assembler.consume(Self.streamAbort(10, 11))
        #expect(assembler.heldChangeCount == 2)
        _ = try assembler.consume(Self.streamAbort(20, 20))
        #expect(assembler.heldChangeCount == 1)
        #expect(assembler.bufferedChangeCount == 1)
    }

    @Test func relationSentInAbortedSubtransactionStillDescribesLaterChanges() throws {
        // pgoutput sends a relation once per streamed transaction, even when that was inside a subtransaction
        // that later rolled back.
        let events = try self.run([
            Self.streamStart(10, first: true), Self.relation(xid: 11), Self.insert(xid: 11, "1", "a"), .streamStop,
            Self.streamAbort(10, 11),
            Self.streamStart(10, first: false), Self.insert(xid: 10, "2", "b"), .streamStop,
            Self.streamCommit(10, lsn: 300),
        ])
        #expect(self.names(events) == [self.json("b")])
    }

    @Test func streamedSchemaBecomesEveryonesOnlyAtCommit() throws {
        var assembler = ChangeAssembler(source: "slot", renderer: ValueRenderer())
        let events = try self.run(
            [
                Self.relation(),
                Self.streamStart(10, first: true), Self.relation(xid: 10, extraColumn: true),
                Self.insert(xid: 10, "1", "a", "x"), .streamStop,
                // Another transaction commits meanwhile and still sees two columns.
                Self.begin(xid: 20, lsn: 200), Self.insert("2", "b"), Self.commit(lsn: 200),
                Self.streamCommit(10, lsn: 300),
            ],
            assembler: &assembler
        )
        let xids = events.map { (event: AssembledEvent) -> UInt32? in
            if case .change(let change) = event { change.xid } else { nil }
        }
        #expect(xids == [nil, 20, nil, nil, 10, nil])
        #expect(self.names(events) == [self.json("b"), self.json("a")])
        #expect(assembler.relations[Self.oid]?.columns.count == 3)
    }

    @Test func originInsideAStreamNamesItsChanges() throws {
        let events = try self.run([
            Self.relation(), Self.streamStart(10, first: true),
            .origin(Message.Origin(commitLSN: .zero, name: "east")), Self.insert(xid: 10, "1", "a"), .streamStop,
            Self.streamCommit(10, lsn: 300),
        ])
        #expect(ChangeAssemblerFixtureTests.changes(events).map(\.origin) == ["east"])
    }

    @Test func emptyStreamedTransactionStillCommits() throws {
        #expect(
            try self.run([Self.streamStart(10, first: true), .streamStop, Self.streamCommit(10, lsn: 300)]) == [
                .begin(xid: 10, commitLSN: LSN(300), commitTime: PostgresTimestamp(9)),
                .commit(xid: 10, commitLSN: LSN(300), endLSN: LSN(308), commitTime: PostgresTimestamp(9)),
            ]
        )
    }

    @Test func transactionalMessageInsideAStreamIsHeld() throws {
        let message = Message.LogicalMessage(
            xid: 11,
            isTransactional: true,
            lsn: LSN(50),
            prefix: "p",
            content: .text("c")
        )
        var assembler = ChangeAssembler(source: "slot", renderer: ValueRenderer())
        _ = try self.run([Self.streamStart(10, first: true), .message(message), .streamStop], assembler: &assembler)
        #expect(assembler.bufferedChangeCount == 0)
        #expect(assembler.bufferedBytes > 0)
        #expect(try assembler.consume(Self.streamAbort(10, 11)).isEmpty)
        #expect(assembler.bufferedBytes == 0)
        #expect(try assembler.consume(Self.streamCommit(10, lsn: 60)).count == 2)
    }

    @Test func beginBelowTheLastCommitIsAProtocolError() {
        let error = self.failure([
            Self.begin(xid: 1, lsn: 0x200), Self.commit(lsn: 0x200), Self.begin(xid: 2, lsn: 0x100),
        ])
        #expect(error?.messageType == UInt8(ascii: "B"))
        #expect(error?.reason == .unexpectedMessage("commit LSN 0/100 is below the last commit 0/200"))
    }

    @Test func streamCommitBelowTheLastCommitIsAProtocolError() {
        let error = self.failure([
            Self.streamStart(10, first: true), .streamStop,
            Self.begin(xid: 1, lsn: 0x200), Self.commit(lsn: 0x200), Self.streamCommit(10, lsn: 0x100),
        ])
        #expect(error?.reason == .unexpectedMessage("commit LSN 0/100 is below the last commit 0/200"))
    }

    @Test func transactionStructureIsEnforced() {
        #expect(
            self.failure([Self.begin(xid: 1, lsn: 0x200), Self.commit(lsn: 0x300)])?.reason
                == .unexpectedMessage("commit LSN 0/300 differs from Begin's 0/200")
        )
        #expect(self.failure([Self.commit(lsn: 0x300)])?.reason == .unexpectedMessage("Commit without Begin"))
        #expect(
            self.failure([Self.begin(xid: 1, lsn: 0x200), Self.begin(xid: 2, lsn: 0x300)])?.reason
                == .unexpectedMessage("transaction 1 has not committed yet")
        )
        #expect(
            self.failure([Self.begin(xid: 1, lsn: 0x200), Self.streamStart(2, first: true)])?.reason
                == .unexpectedMessage("transaction 1 has not committed yet")
        )
        #expect(
            self.failure([Self.streamStart(2, first: true), Self.begin(xid: 1, lsn: 0x200)])?.reason
                == .unexpectedMessage("the stream block of transaction 2 has not stopped yet")
        )
        #expect(
            self.failure([Self.relation(), Self.insert("1", "a")])?.reason
                == .unexpectedMessage("change outside a transaction")
        )
        #expect(
            self.failure([.origin(Message.Origin(commitLSN: .zero, name: "x"))])?.reason
                == .unexpectedMessage("Origin outside a transaction")
        )
        #expect(
            self.failure([
                .message(Message.LogicalMessage(isTransactional: true, lsn: .zero, prefix: "", content: ByteBuffer()))
            ])?
            .reason == .unexpectedMessage("transactional Message outside a transaction")
        )
        #expect(self.failure([.streamStop])?.reason == .unexpectedMessage("Stream Stop without Stream Start"))
    }

    @Test func streamSegmentsMustStartWithTheFirst() {
        #expect(
            self.failure([Self.streamStart(10, first: false)])?.reason
                == .unexpectedMessage("later segment of transaction 10, whose first segment never came")
        )
        #expect(
            self.failure([Self.streamStart(10, first: true), .streamStop, Self.streamStart(10, first: true)])?.reason
                == .unexpectedMessage("first segment of transaction 10, which is already streaming")
        )
    }

    @Test func unknownRelation() {
        let error = self.failure([Self.begin(xid: 1, lsn: 0x200), Self.insert("1", "a")])
        #expect(error?.reason == .unknownRelation(oid: Self.oid))
        #expect(error?.messageType == UInt8(ascii: "I"))
        #expect(error?.description == "pgoutput Insert ('I') message: no Relation message has described relation 16400")
        #expect(
            self.failure([
                Self.begin(xid: 1, lsn: 0x200),
                .truncate(Message.Truncate(options: [], relationOIDs: [Self.oid])),
            ])?.reason == .unknownRelation(oid: Self.oid)
        )
    }

    @Test func tupleWithWrongColumnCount() {
        let error = self.failure([Self.relation(), Self.begin(xid: 1, lsn: 0x200), Self.insert("1")])
        #expect(error?.reason == .columnCountMismatch(relation: "app.users", expected: 2, actual: 1))
    }

    @Test func nonTransactionalMessagePassesStraightThrough() throws {
        let message = Message.LogicalMessage(isTransactional: false, lsn: LSN(5), prefix: "hb", content: ByteBuffer())
        #expect(
            try self.run([Self.streamStart(10, first: true), .message(message)])
                == [.message(transactional: false, prefix: "hb", content: ByteBuffer(), lsn: LSN(5))]
        )
    }
}
