// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore
import SiphonPgOutput
import Testing

/// The assembler on streams PostgreSQL 15 sent. Expected JSON comes from the same `ValueRenderer`, so these
/// tests check which bytes, format and type reach the renderer and where the result lands, whatever it renders.
@Suite struct ChangeAssemblerFixtureTests {
    static let int4: UInt32 = 23
    static let text: UInt32 = 25
    static let slot = "fixture_slot"

    static func column(_ name: String, _ value: String, _ type: UInt32, format: ValueFormat = .text) throws
        -> Row.Column
    {
        var json = ""
        try ValueRenderer().appendJSON(of: .text(value), format: format, typeOID: type, to: &json)
        return Row.Column(name: name, json: json)
    }

    static func null(_ name: String) -> Row.Column { Row.Column(name: name, json: "null") }

    static func id(_ lsn: UInt64, _ index: Int) -> Change.ID {
        Change.ID(source: Self.slot, commitLSN: LSN(lsn), index: index)
    }

    static func changes(_ events: [AssembledEvent]) -> [Change] {
        events.compactMap { if case .change(let change) = $0 { change } else { nil } }
    }

    @Test func insert() throws {
        let lsn: UInt64 = 0x2B9_4CA8
        let time = PostgresTimestamp(848_620_501_891_007)
        let id = try Self.column("id", "1", Self.int4)
        let name = try Self.column("name", "apple", Self.text)
        #expect(name.json == #""apple""#)
        #expect(
            try PgOutputFixture("insert-v1").assembled() == [
                .begin(xid: 918, commitLSN: LSN(lsn), commitTime: time),
                .change(
                    Change(
                        id: Self.id(lsn, 0),
                        operation: .insert,
                        schema: "fixtures",
                        table: "items",
                        xid: 918,
                        commitTime: time,
                        new: Row([id, name, Self.null("note")]),
                        key: Row([id])
                    )
                ),
                .commit(xid: 918, commitLSN: LSN(lsn), endLSN: LSN(0x2B9_4CD8), commitTime: time),
            ]
        )
    }

    @Test func insertInBinaryFormat() throws {
        let changes = Self.changes(try PgOutputFixture("insert-binary-v1").assembled())
        var one = ""
        try ValueRenderer().appendJSON(
            of: ByteBuffer(bytes: [0, 0, 0, 1]),
            format: .binary,
            typeOID: Self.int4,
            to: &one
        )
        let id = Row.Column(name: "id", json: one)
        let name = try Self.column("name", "apple", Self.text, format: .binary)
        #expect(changes.map(\.new) == [Row([id, name, Self.null("note")])])
        #expect(changes.map(\.key) == [Row([id])])
    }

    @Test func updatesAndDeleteWithDefaultReplicaIdentity() throws {
        let changes = Self.changes(try PgOutputFixture("update-delete-key-v1").assembled())
        let one = try Self.column("id", "1", Self.int4)
        let two = try Self.column("id", "2", Self.int4)
        let pear = try Self.column("name", "pear", Self.text)
        let fresh = try Self.column("note", "fresh", Self.text)
        #expect(changes.map(\.operation) == [.update, .update, .delete])
        #expect(changes.map(\.id) == [Self.id(0x2B9_C4D8, 0), Self.id(0x2B9_C5A8, 0), Self.id(0x2B9_C618, 0)])
        #expect(changes.map(\.xid) == [925, 926, 927])
        // Key unchanged: no old row; the key comes from the new row.
        #expect(changes[0].old == nil)
        #expect(changes[0].new == Row([one, pear, fresh]))
        #expect(changes[0].key == Row([one]))
        // Key changed: the old row is the old key only; pgoutput's nulls for the other columns are not values.
        #expect(changes[1].old == Row([one]))
        #expect(changes[1].new == Row([two, pear, fresh]))
        #expect(changes[1].key == Row([one]))
        #expect(changes[2].old == Row([two]))
        #expect(changes[2].new == nil)
        #expect(changes[2].key == Row([two]))
        #expect(changes.allSatisfy { $0.unchangedToast.isEmpty && $0.truncateOptions == nil && $0.origin == nil })
    }

    @Test func updateAndDeleteWithReplicaIdentityFull() throws {
        let changes = Self.changes(try PgOutputFixture("replica-identity-full-v1").assembled())
        let id = try Self.column("id", "1", Self.int4)
        let draft = try Self.column("body", "draft", Self.text)
        let final = try Self.column("body", "final", Self.text)
        #expect(changes.map(\.operation) == [.update, .delete])
        #expect(changes[0].old == Row([id, draft]))
        #expect(changes[0].new == Row([id, final]))
        // With FULL every column is flagged as part of the replica identity.
        #expect(changes[0].key == Row([id, draft]))
        #expect(changes[1].old == Row([id, final]))
        #expect(changes[1].key == Row([id, final]))
    }

    @Test func unchangedToastColumnIsLeftOutAndNamed() throws {
        let changes = Self.changes(try PgOutputFixture("toast-unchanged-v1").assembled())
        let id = try Self.column("id", "1", Self.int4)
        #expect(changes.count == 1)
        #expect(changes.first?.new == Row([id, try Self.column("title", "second", Self.text)]))
        #expect(changes.first?.new?["body"] == nil)
        #expect(changes.first?.unchangedToast == ["body"])
        #expect(changes.first?.key == Row([id]))
    }

    @Test func truncateMakesOneChangePerTable() throws {
        let changes = Self.changes(try PgOutputFixture("truncate-v1").assembled())
        #expect(changes.map(\.operation) == [.truncate, .truncate, .truncate])
        #expect(changes.map(\.table) == ["parents", "children", "children"])
        #expect(changes.map(\.id) == [Self.id(0x2BB_A7C8, 0), Self.id(0x2BB_A7C8, 1), Self.id(0x2BB_AF78, 0)])
        #expect(
            changes.map(\.truncateOptions) == [
                Change.TruncateOptions(cascade: true, restartIdentity: true),
                Change.TruncateOptions(cascade: true, restartIdentity: true),
                Change.TruncateOptions(cascade: false, restartIdentity: false),
            ]
        )
        #expect(changes.allSatisfy { $0.new == nil && $0.old == nil && $0.key == Row() })
    }

    @Test func originNamesTheChangesOfItsTransaction() throws {
        let changes = Self.changes(try PgOutputFixture("origin-v1").assembled())
        #expect(changes.map(\.origin) == ["fixture_origin"])
        #expect(changes.first?.commitTime.description == "2026-01-02T03:04:05.123456Z")
    }

    @Test func userDefinedTypeReachesTheRenderer() throws {
        var assembler = ChangeAssembler(source: Self.slot, renderer: ValueRenderer())
        var events: [AssembledEvent] = []
        for message in try PgOutputFixture("type-v1").decoded() {
            try assembler.consume(message, into: &events)
        }
        #expect(
            assembler.relations.type(oid: 16785)
                == PgOutputMessage.TypeDefinition(oid: 16785, namespace: "fixtures", name: "mood")
        )
        #expect(assembler.relations[16789]?.name == "people")
        #expect(Self.changes(events).first?.new?["mood"] == (try Self.column("mood", "happy", 16785).json))
    }

    @Test func messagesKeepTheirPlace() throws {
        let lsn: UInt64 = 0x2BD_2220
        let time = PostgresTimestamp(848_620_503_444_239)
        let events = try PgOutputFixture("message-v1").assembled()
        #expect(events.count == 6)
        #expect(
            Array(events.prefix(4)) == [
                .message(transactional: false, prefix: "siphon", content: .text("heartbeat"), lsn: LSN(0x2BD_20B8)),
                .begin(xid: 973, commitLSN: LSN(lsn), commitTime: time),
                .message(transactional: true, prefix: "siphon", content: .text("hello"), lsn: LSN(0x2BD_20F8)),
                .message(
                    transactional: true,
                    prefix: "siphon/binary",
                    content: ByteBuffer(bytes: [0, 0xFF]),
                    lsn: LSN(0x2BD_2140)
                ),
            ]
        )
        #expect(Self.changes(events).map(\.id) == [Self.id(lsn, 0)])
        #expect(events.last == .commit(xid: 973, commitLSN: LSN(lsn), endLSN: LSN(0x2BD_2250), commitTime: time))
    }

    @Test func streamedTransactionEqualsTheUnstreamedOne() throws {
        let streamed = try PgOutputFixture("stream-commit-v2").assembled()
        #expect(streamed == (try PgOutputFixture("stream-commit-v1").assembled()))

        let lsn: UInt64 = 0x2BF_9970
        let time = PostgresTimestamp(848_620_503_649_991)
        #expect(streamed.first == .begin(xid: 981, commitLSN: LSN(lsn), commitTime: time))
        #expect(streamed.last == .commit(xid: 981, commitLSN: LSN(lsn), endLSN: LSN(0x2BF_99E8), commitTime: time))
        let changes = Self.changes(streamed)
        #expect(changes.count == 1003)
        #expect(changes.map(\.id) == (0..<1003).map { Self.id(lsn, $0) })
        #expect(changes.allSatisfy { $0.xid == 981 && $0.commitTime == time && $0.schema == "fixtures" })
        #expect(changes[999].new?["id"] == (try Self.column("id", "1000", Self.int4).json))
        #expect(changes[1000].operation == .update)
        #expect(changes[1000].old == Row([try Self.column("id", "1", Self.int4)]))
        #expect(changes[1001].operation == .delete)
        #expect(changes[1002].operation == .truncate)
        #expect(changes[1002].table == "scratch")
        #expect(
            streamed[1003]
                == .message(
                    transactional: true,
                    prefix: "siphon",
                    content: .text("inside stream"),
                    lsn: LSN(0x2BF_96C8)
                )
        )
    }

    @Test func streamedChangesAreHeldAndMeasuredUntilCommit() throws {
        var assembler = ChangeAssembler(source: Self.slot, renderer: ValueRenderer())
        let messages = try PgOutputFixture("stream-commit-v2").decoded()
        for message in messages.dropLast() {
            #expect(try assembler.consume(message).isEmpty)
        }
        #expect(assembler.bufferedChangeCount == 1003)
        #expect(assembler.bufferedBytes > 1003 * 100)
        let events = try assembler.consume(messages.last!)
        #expect(events.count == 1006)
        #expect(assembler.bufferedChangeCount == 0)
        #expect(assembler.bufferedBytes == 0)
        #expect(assembler.lastCommitLSN == LSN(0x2BF_9970))
    }

    @Test func abortsDropTheTransactionOrOnlyTheSubtransaction() throws {
        let streamed = try PgOutputFixture("stream-abort-v2").assembled()
        #expect(streamed == (try PgOutputFixture("stream-abort-v1").assembled()))

        var assembler = ChangeAssembler(source: Self.slot, renderer: ValueRenderer())
        var held: [Int] = []
        for message in try PgOutputFixture("stream-abort-v2").decoded() {
            _ = try assembler.consume(message)
            if case .streamAbort = message { held.append(assembler.bufferedChangeCount) }
        }
        // Transaction 990 held nothing when it aborted; 991 held 600 of its own rows once subtransaction
        // 992's 364 streamed rows were dropped.
        #expect(held == [0, 600])

        let changes = Self.changes(streamed)
        #expect(changes.count == 602)
        let committed = changes.filter { $0.xid == 991 }
        #expect(committed.map(\.id) == (0..<601).map { Self.id(0x2C4_78F8, $0) })
        let ids =
            try (1...600).map { try Self.column("id", "\($0)", Self.int4) }
            + [try Self.column("id", "1201", Self.int4)]
        #expect(committed.map(\.key) == ids.map { Row([$0]) })
    }
}
