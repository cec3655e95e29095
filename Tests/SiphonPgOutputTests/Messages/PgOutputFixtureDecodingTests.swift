// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore
import SiphonPgOutput
import Testing

/// Every message kind, decoded from bytes PostgreSQL 15 sent (see each fixture's first line for the SQL).
///
/// LSNs, xids, OIDs and timestamps are those of the capture; `scripts/capture-pgoutput-fixtures` explains how to
/// update them after regenerating the fixtures.
@Suite struct PgOutputFixtureDecodingTests {
    typealias Message = PgOutputMessage
    typealias Column = PgOutputMessage.Relation.Column

    private static func items(oid: UInt32) -> Message.Relation {
        Message.Relation(
            oid: oid,
            namespace: "fixtures",
            name: "items",
            replicaIdentity: .default,
            columns: [
                Column(flags: 1, name: "id", typeOID: 23, typeModifier: -1),
                Column(flags: 0, name: "name", typeOID: 25, typeModifier: -1),
                Column(flags: 0, name: "note", typeOID: 25, typeModifier: -1),
            ]
        )
    }

    private static func mood(xid: UInt32? = nil, oid: UInt32) -> Message {
        .type(Message.TypeDefinition(xid: xid, oid: oid, namespace: "fixtures", name: "mood"))
    }

    private static func events(xid: UInt32? = nil, oid: UInt32, moodOID: UInt32) -> Message {
        .relation(
            Message.Relation(
                xid: xid,
                oid: oid,
                namespace: "fixtures",
                name: "events",
                replicaIdentity: .default,
                columns: [
                    Column(flags: 1, name: "id", typeOID: 23, typeModifier: -1),
                    Column(flags: 0, name: "mood", typeOID: moodOID, typeModifier: -1),
                ]
            )
        )
    }

    private static func insertEvent(xid: UInt32? = nil, oid: UInt32, id: Int, mood: String) -> Message {
        .insert(
            Message.Insert(
                xid: xid,
                relationOID: oid,
                new: Message.TupleData([.text(.text("\(id)")), .text(.text(mood))])
            )
        )
    }

    private static func begin(_ lsn: UInt64, _ time: Int64, xid: UInt32) -> Message {
        .begin(Message.Begin(finalLSN: LSN(lsn), commitTime: PostgresTimestamp(time), xid: xid))
    }

    private static func commit(_ lsn: UInt64, end: UInt64, _ time: Int64) -> Message {
        .commit(Message.Commit(commitLSN: LSN(lsn), endLSN: LSN(end), commitTime: PostgresTimestamp(time)))
    }

    /// Compares long message lists one by one, so a failure names the first differing position.
    private static func expectMessages(
        _ actual: [Message],
        _ expected: [Message],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(actual.count == expected.count, sourceLocation: sourceLocation)
        if let index = actual.indices.first(where: { $0 < expected.count && actual[$0] != expected[$0] }) {
            Issue.record(
                "message \(index): \(actual[index]) is not \(expected[index])",
                sourceLocation: sourceLocation
            )
        }
    }

    @Test func fixturesNameTheServerAndTheSQL() throws {
        let fixtures = try PgOutputFixture.all()
        #expect(fixtures.count == 13)
        for fixture in fixtures {
            #expect(fixture.header.hasPrefix("# PostgreSQL 15."), "\(fixture.name)")
            #expect(fixture.header.contains("pg_logical_slot_peek_binary_changes"), "\(fixture.name)")
        }
    }

    @Test func decodesInsertInTextFormat() throws {
        let time: Int64 = 848_620_501_891_007
        #expect(
            try PgOutputFixture("insert-v1").decoded() == [
                Self.begin(0x2B9_4CA8, time, xid: 918),
                .relation(Self.items(oid: 16705)),
                .insert(
                    Message.Insert(
                        relationOID: 16705,
                        new: Message.TupleData([.text(.text("1")), .text(.text("apple")), .null])
                    )
                ),
                Self.commit(0x2B9_4CA8, end: 0x2B9_4CD8, time),
            ]
        )
    }

    @Test func decodesInsertInBinaryFormat() throws {
        let messages = try PgOutputFixture("insert-binary-v1").decoded()
        #expect(messages.count == 4)
        #expect(
            messages[2]
                == .insert(
                    Message.Insert(
                        relationOID: Self.relationOID(messages[1]),
                        new: Message.TupleData([
                            .binary(ByteBuffer(bytes: [0, 0, 0, 1])), .binary(.text("apple")), .null,
                        ])
                    )
                )
        )
    }

    private static func relationOID(_ message: Message) -> UInt32 {
        guard case .relation(let relation) = message else { return 0 }
        return relation.oid
    }

    @Test func decodesUpdatesWithoutAndWithOldKeyAndDeleteWithOldKey() throws {
        #expect(
            try PgOutputFixture("update-delete-key-v1").decoded() == [
                Self.begin(0x2B9_C4D8, 848_620_502_165_586, xid: 925),
                .relation(Self.items(oid: 16715)),
                .update(
                    Message.Update(
                        relationOID: 16715,
                        new: Message.TupleData([.text(.text("1")), .text(.text("pear")), .text(.text("fresh"))])
                    )
                ),
                Self.commit(0x2B9_C4D8, end: 0x2B9_C508, 848_620_502_165_586),
                Self.begin(0x2B9_C5A8, 848_620_502_165_878, xid: 926),
                .update(
                    Message.Update(
                        relationOID: 16715,
                        old: .key(Message.TupleData([.text(.text("1")), .null, .null])),
                        new: Message.TupleData([.text(.text("2")), .text(.text("pear")), .text(.text("fresh"))])
                    )
                ),
                Self.commit(0x2B9_C5A8, end: 0x2B9_C5D8, 848_620_502_165_878),
                Self.begin(0x2B9_C618, 848_620_502_166_000, xid: 927),
                .delete(
                    Message.Delete(relationOID: 16715, old: .key(Message.TupleData([.text(.text("2")), .null, .null])))
                ),
                Self.commit(0x2B9_C618, end: 0x2B9_C648, 848_620_502_166_000),
            ]
        )
    }

    @Test func decodesUpdateAndDeleteWithReplicaIdentityFull() throws {
        let notes = Message.Relation(
            oid: 16725,
            namespace: "fixtures",
            name: "notes",
            replicaIdentity: .full,
            columns: [
                Column(flags: 1, name: "id", typeOID: 23, typeModifier: -1),
                Column(flags: 1, name: "body", typeOID: 25, typeModifier: -1),
            ]
        )
        #expect(
            try PgOutputFixture("replica-identity-full-v1").decoded() == [
                Self.begin(0x2BA_2FD0, 848_620_502_396_138, xid: 935),
                .relation(notes),
                .update(
                    Message.Update(
                        relationOID: 16725,
                        old: .full(Message.TupleData([.text(.text("1")), .text(.text("draft"))])),
                        new: Message.TupleData([.text(.text("1")), .text(.text("final"))])
                    )
                ),
                Self.commit(0x2BA_2FD0, end: 0x2BA_3000, 848_620_502_396_138),
                Self.begin(0x2BA_3048, 848_620_502_396_611, xid: 936),
                .delete(
                    Message.Delete(
                        relationOID: 16725,
                        old: .full(Message.TupleData([.text(.text("1")), .text(.text("final"))]))
                    )
                ),
                Self.commit(0x2BA_3048, end: 0x2BA_3078, 848_620_502_396_611),
            ]
        )
    }

    @Test func decodesUnchangedToastValueAsItsOwnKind() throws {
        let messages = try PgOutputFixture("toast-unchanged-v1").decoded()
        #expect(messages.count == 4)
        #expect(
            messages[2]
                == .update(
                    Message.Update(
                        relationOID: 16733,
                        new: Message.TupleData([.text(.text("1")), .text(.text("second")), .unchangedToast])
                    )
                )
        )
    }

    @Test func decodesTruncateWithCascadeAndRestartIdentity() throws {
        let parents = Message.Relation(
            oid: 16745,
            namespace: "fixtures",
            name: "parents",
            replicaIdentity: .default,
            columns: [Column(flags: 1, name: "id", typeOID: 23, typeModifier: -1)]
        )
        let children = Message.Relation(
            oid: 16752,
            namespace: "fixtures",
            name: "children",
            replicaIdentity: .default,
            columns: [
                Column(flags: 1, name: "id", typeOID: 23, typeModifier: -1),
                Column(flags: 0, name: "parent_id", typeOID: 23, typeModifier: -1),
            ]
        )
        #expect(
            try PgOutputFixture("truncate-v1").decoded() == [
                Self.begin(0x2BB_A7C8, 848_620_502_797_678, xid: 951),
                .relation(parents),
                .relation(children),
                .truncate(Message.Truncate(options: [.cascade, .restartIdentity], relationOIDs: [16745, 16752])),
                Self.commit(0x2BB_A7C8, end: 0x2BB_A9B0, 848_620_502_797_678),
                Self.begin(0x2BB_AF78, 848_620_502_799_613, xid: 952),
                .relation(children),
                .truncate(Message.Truncate(options: [], relationOIDs: [16752])),
                Self.commit(0x2BB_AF78, end: 0x2BB_B048, 848_620_502_799_613),
            ]
        )
    }

    @Test func decodesOrigin() throws {
        // pg_replication_origin_xact_setup('0/1234ABCD', '2026-01-02 03:04:05.123456+00') sets both.
        let time: Int64 = 820_638_245_123_456
        #expect(PostgresTimestamp(time).description == "2026-01-02T03:04:05.123456Z")
        #expect(
            try PgOutputFixture("origin-v1").decoded() == [
                Self.begin(0x2BC_4DF0, time, xid: 959),
                .origin(Message.Origin(commitLSN: LSN("0/1234ABCD")!, name: "fixture_origin")),
                .relation(Self.items(oid: 16774)),
                .insert(
                    Message.Insert(
                        relationOID: 16774,
                        new: Message.TupleData([.text(.text("7")), .text(.text("from elsewhere")), .null])
                    )
                ),
                Self.commit(0x2BC_4DF0, end: 0x2BC_4E38, time),
            ]
        )
    }

    @Test func decodesTypeBeforeTheRelationUsingIt() throws {
        let people = Message.Relation(
            oid: 16789,
            namespace: "fixtures",
            name: "people",
            replicaIdentity: .default,
            columns: [
                Column(flags: 1, name: "id", typeOID: 23, typeModifier: -1),
                Column(flags: 0, name: "mood", typeOID: 16785, typeModifier: -1),
            ]
        )
        #expect(
            try PgOutputFixture("type-v1").decoded() == [
                Self.begin(0x2BC_B220, 848_620_503_232_017, xid: 967),
                Self.mood(oid: 16785),
                .relation(people),
                .insert(
                    Message.Insert(
                        relationOID: 16789,
                        new: Message.TupleData([.text(.text("1")), .text(.text("happy"))])
                    )
                ),
                Self.commit(0x2BC_B220, end: 0x2BC_B250, 848_620_503_232_017),
            ]
        )
    }

    @Test func decodesTransactionalAndNonTransactionalMessages() throws {
        #expect(
            try PgOutputFixture("message-v1").decoded() == [
                .message(
                    Message.LogicalMessage(
                        isTransactional: false,
                        lsn: LSN(0x2BD_20B8),
                        prefix: "siphon",
                        content: .text("heartbeat")
                    )
                ),
                Self.begin(0x2BD_2220, 848_620_503_444_239, xid: 973),
                .message(
                    Message.LogicalMessage(
                        isTransactional: true,
                        lsn: LSN(0x2BD_20F8),
                        prefix: "siphon",
                        content: .text("hello")
                    )
                ),
                .message(
                    Message.LogicalMessage(
                        isTransactional: true,
                        lsn: LSN(0x2BD_2140),
                        prefix: "siphon/binary",
                        content: ByteBuffer(bytes: [0x00, 0xFF])
                    )
                ),
                .relation(Self.items(oid: 16797)),
                .insert(
                    Message.Insert(
                        relationOID: 16797,
                        new: Message.TupleData([.text(.text("3")), .text(.text("fig")), .null])
                    )
                ),
                Self.commit(0x2BD_2220, end: 0x2BD_2250, 848_620_503_444_239),
            ]
        )
    }

    @Test func decodesStreamedTransactionWithXIDsInsideStreamBlocks() throws {
        let xid: UInt32 = 981
        var expected: [Message] = [
            .streamStart(Message.StreamStart(xid: xid, isFirstSegment: true)),
            Self.mood(xid: xid, oid: 16808),
            Self.events(xid: xid, oid: 16813, moodOID: 16808),
        ]
        expected += (1...482).map { Self.insertEvent(xid: xid, oid: 16813, id: $0, mood: "happy") }
        expected += [.streamStop, .streamStart(Message.StreamStart(xid: xid, isFirstSegment: false))]
        expected += (483...964).map { Self.insertEvent(xid: xid, oid: 16813, id: $0, mood: "happy") }
        expected += [.streamStop, .streamStart(Message.StreamStart(xid: xid, isFirstSegment: false))]
        expected += (965...1000).map { Self.insertEvent(xid: xid, oid: 16813, id: $0, mood: "happy") }
        expected += [
            .update(
                Message.Update(
                    xid: xid,
                    relationOID: 16813,
                    old: .key(Message.TupleData([.text(.text("1")), .null])),
                    new: Message.TupleData([.text(.text("0")), .text(.text("happy"))])
                )
            ),
            .delete(
                Message.Delete(xid: xid, relationOID: 16813, old: .key(Message.TupleData([.text(.text("2")), .null])))
            ),
            .message(
                Message.LogicalMessage(
                    xid: xid,
                    isTransactional: true,
                    lsn: LSN(0x2BF_96C8),
                    prefix: "siphon",
                    content: .text("inside stream")
                )
            ),
            .relation(
                Message.Relation(
                    xid: xid,
                    oid: 16818,
                    namespace: "fixtures",
                    name: "scratch",
                    replicaIdentity: .default,
                    columns: [Column(flags: 0, name: "id", typeOID: 23, typeModifier: -1)]
                )
            ),
            .truncate(Message.Truncate(xid: xid, options: [], relationOIDs: [16818])),
            .streamStop,
            .streamCommit(
                Message.StreamCommit(
                    xid: xid,
                    commitLSN: LSN(0x2BF_9970),
                    endLSN: LSN(0x2BF_99E8),
                    commitTime: PostgresTimestamp(848_620_503_649_991)
                )
            ),
        ]
        Self.expectMessages(try PgOutputFixture("stream-commit-v2").decoded(), expected)
    }

    @Test func decodesTheSameTransactionUnstreamedWithProtocolVersion1() throws {
        let messages = try PgOutputFixture("stream-commit-v1").decoded()
        #expect(messages.count == 1009)
        #expect(messages.first == Self.begin(0x2BF_9970, 848_620_503_649_991, xid: 981))
        #expect(messages[1] == Self.mood(oid: 16808))
        #expect(messages[2] == Self.events(oid: 16813, moodOID: 16808))
        #expect(
            messages[3...1002] == ArraySlice((1...1000).map { Self.insertEvent(oid: 16813, id: $0, mood: "happy") })
        )
        #expect(messages.last == Self.commit(0x2BF_9970, end: 0x2BF_99E8, 848_620_503_649_991))
    }

    @Test func decodesStreamAbortsOfTransactionAndSubtransaction() throws {
        var expected: [Message] = [
            Self.begin(0x2C0_1620, 848_620_503_978_285, xid: 989),
            Self.mood(oid: 16826),
            Self.events(oid: 16831, moodOID: 16826),
            Self.insertEvent(oid: 16831, id: 0, mood: "sad"),
            Self.commit(0x2C0_1620, end: 0x2C0_1650, 848_620_503_978_285),
            // The whole transaction 990 rolled back; the server noticed before streaming its rows.
            .streamStart(Message.StreamStart(xid: 990, isFirstSegment: true)),
            Self.mood(xid: 990, oid: 16826),
            Self.events(xid: 990, oid: 16831, moodOID: 16826),
            .streamStop,
            .streamAbort(Message.StreamAbort(xid: 990, subtransactionXID: 990)),
            // Transaction 991 commits; its subtransaction 992 rolled back after 364 of its rows were streamed.
            .streamStart(Message.StreamStart(xid: 991, isFirstSegment: true)),
            Self.mood(xid: 991, oid: 16826),
            Self.events(xid: 991, oid: 16831, moodOID: 16826),
        ]
        expected += (1...482).map { Self.insertEvent(xid: 991, oid: 16831, id: $0, mood: "happy") }
        expected += [.streamStop, .streamStart(Message.StreamStart(xid: 991, isFirstSegment: false))]
        expected += (483...600).map { Self.insertEvent(xid: 991, oid: 16831, id: $0, mood: "happy") }
        expected += (601...964).map { Self.insertEvent(xid: 992, oid: 16831, id: $0, mood: "sad") }
        expected += [
            .streamStop,
            .streamAbort(Message.StreamAbort(xid: 991, subtransactionXID: 992)),
            .streamStart(Message.StreamStart(xid: 991, isFirstSegment: false)),
            // After ROLLBACK TO SAVEPOINT the savepoint lives on as subtransaction 993.
            Self.mood(xid: 993, oid: 16826),
            Self.events(xid: 993, oid: 16831, moodOID: 16826),
            Self.insertEvent(xid: 993, oid: 16831, id: 1201, mood: "sad"),
            .streamStop,
            .streamCommit(
                Message.StreamCommit(
                    xid: 991,
                    commitLSN: LSN(0x2C4_78F8),
                    endLSN: LSN(0x2C4_7930),
                    commitTime: PostgresTimestamp(848_620_503_984_243)
                )
            ),
        ]
        Self.expectMessages(try PgOutputFixture("stream-abort-v2").decoded(), expected)
    }

    @Test func decoderTracksStreamBlocks() throws {
        let fixture = try PgOutputFixture("stream-commit-v2")
        var decoder = PgOutputDecoder(protocolVersion: 2)
        var insideAfterEach: [Bool] = []
        for message in fixture.messages {
            var buffer = message
            _ = try decoder.decode(&buffer)
            insideAfterEach.append(decoder.isInsideStreamBlock)
        }
        #expect(insideAfterEach.first == true)
        #expect(insideAfterEach.last == false)
        #expect(insideAfterEach.count { !$0 } == 4)  // after each of the three Stream Stops and the Stream Commit
    }
}
