// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import NIOCore
import PostgresNIO
import SiphonCore
import SiphonPgOutput
import SiphonTestSupport
import Testing

/// Decoder and assembler on pgoutput bytes read from the test cluster's own slot, made fresh for each test.
@Suite struct ChangeAssemblerLiveTests {
    struct Scratch {
        var schema: String
        var slot: String
        var publication: String
    }

    /// Runs `body` with a new schema holding `tables`, a publication of them and a pgoutput slot; drops all three
    /// afterwards, whether `body` succeeded or not.
    private func withScratch(
        tables: [String],
        _ body: (PostgresClient, Scratch) async throws -> Void
    ) async throws {
        let scratch = Scratch(
            schema: TestEnvironment.uniqueName("pgoutput"),
            slot: TestEnvironment.uniqueName("pgoutput_slot"),
            publication: TestEnvironment.uniqueName("pgoutput_pub")
        )
        try await TestEnvironment.withClient { client in
            try await client.query("CREATE SCHEMA \(unescaped: scratch.schema)")
            do {
                for table in tables {
                    try await client.query("CREATE TABLE \(unescaped: scratch.schema).\(unescaped: table)")
                }
                let publication = scratch.publication
                try await client.query(
                    "CREATE PUBLICATION \(unescaped: publication) FOR TABLES IN SCHEMA \(unescaped: scratch.schema)"
                )
                try await client.query("SELECT pg_create_logical_replication_slot(\(scratch.slot), 'pgoutput')")
                try await body(client, scratch)
            } catch {
                try? await self.drop(scratch, client: client)
                throw error
            }
            try await self.drop(scratch, client: client)
        }
    }

    private func drop(_ scratch: Scratch, client: PostgresClient) async throws {
        try await client.query(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = \(scratch.slot)"
        )
        try await client.query("DROP PUBLICATION IF EXISTS \(unescaped: scratch.publication)")
        try await client.query("DROP SCHEMA \(unescaped: scratch.schema) CASCADE")
    }

    /// The slot's pending messages, decoded with protocol `version` (2 with streaming), without consuming them.
    private func peek(
        _ scratch: Scratch,
        version: Int,
        client: PostgresClient
    ) async throws -> [PgOutputMessage] {
        let rows =
            version == 2
            ? try await client.query(
                """
                SELECT data FROM pg_logical_slot_peek_binary_changes(\(scratch.slot), NULL, NULL,
                    'proto_version', '2', 'publication_names', \(scratch.publication), 'streaming', 'on')
                """
            )
            : try await client.query(
                """
                SELECT data FROM pg_logical_slot_peek_binary_changes(\(scratch.slot), NULL, NULL,
                    'proto_version', '1', 'publication_names', \(scratch.publication))
                """
            )
        var decoder = PgOutputDecoder(protocolVersion: version)
        var messages: [PgOutputMessage] = []
        for try await var data in rows.decode(ByteBuffer.self) {
            messages.append(try decoder.decode(&data))
        }
        return messages
    }

    /// The changes to `scratch`'s tables; other tests' transactions share the cluster and may show up empty.
    private func changes(_ messages: [PgOutputMessage], in scratch: Scratch) throws -> [Change] {
        var assembler = ChangeAssembler(source: scratch.slot, renderer: ValueRenderer())
        var events: [AssembledEvent] = []
        for message in messages {
            try assembler.consume(message, into: &events)
        }
        return ChangeAssemblerFixtureTests.changes(events).filter { $0.schema == scratch.schema }
    }

    @Test func rowChangesFromARealSlot() async throws {
        try await self.withScratch(tables: ["accounts (id int PRIMARY KEY, owner text, note text)"]) {
            client,
            scratch in
            let table = "\(scratch.schema).accounts"
            try await client.query("INSERT INTO \(unescaped: table) VALUES (1, 'ada', 'first')")
            try await client.query("UPDATE \(unescaped: table) SET owner = 'grace' WHERE id = 1")
            try await client.query("UPDATE \(unescaped: table) SET id = 2 WHERE id = 1")
            try await client.query("DELETE FROM \(unescaped: table) WHERE id = 2")
            try await client.query("TRUNCATE \(unescaped: table)")

            let changes = try self.changes(try await self.peek(scratch, version: 1, client: client), in: scratch)
            #expect(changes.map(\.operation) == [.insert, .update, .update, .delete, .truncate])
            #expect(changes.allSatisfy { $0.table == "accounts" && $0.id.source == scratch.slot && $0.id.index == 0 })
            #expect(changes.map(\.id.commitLSN) == changes.map(\.id.commitLSN).sorted())
            #expect(
                changes.map { $0.new?.names } == [
                    ["id", "owner", "note"], ["id", "owner", "note"], ["id", "owner", "note"], nil, nil,
                ]
            )
            #expect(changes.map { $0.new?["owner"] } == [#""ada""#, #""grace""#, #""grace""#, nil, nil])
            #expect(changes.map { $0.new?["note"] } == [#""first""#, #""first""#, #""first""#, nil, nil])
            #expect(changes.map { $0.old?.names } == [nil, nil, ["id"], ["id"], nil])
            #expect(changes.map(\.key.names) == [["id"], ["id"], ["id"], ["id"], []])
            #expect(changes.last?.truncateOptions == Change.TruncateOptions(cascade: false, restartIdentity: false))
        }
    }

    @Test func streamedTransactionWithRolledBackSavepointMatchesProtocolVersion1() async throws {
        try await self.withScratch(tables: ["items (id int PRIMARY KEY, label text)"]) { client, scratch in
            let table = "\(scratch.schema).items"
            let logger = Logger(label: "test")
            let xid = try await client.withConnection { connection in
                try await connection.query("BEGIN", logger: logger)
                let xid =
                    try await connection.query("SELECT txid_current() % 4294967296", logger: logger)
                    .collect().first?.decode(Int64.self) ?? 0
                try await connection.query(
                    "INSERT INTO \(unescaped: table) SELECT g, 'kept' FROM generate_series(1, 800) g",
                    logger: logger
                )
                try await connection.query("SAVEPOINT doomed", logger: logger)
                try await connection.query(
                    "INSERT INTO \(unescaped: table) SELECT g, 'dropped' FROM generate_series(801, 1600) g",
                    logger: logger
                )
                try await connection.query("ROLLBACK TO SAVEPOINT doomed", logger: logger)
                try await connection.query("INSERT INTO \(unescaped: table) VALUES (1601, 'kept')", logger: logger)
                try await connection.query("COMMIT", logger: logger)
                return UInt32(xid)
            }

            let streamed = try await self.peek(scratch, version: 2, client: client)
            #expect(streamed.contains(.streamStart(PgOutputMessage.StreamStart(xid: xid, isFirstSegment: true))))
            #expect(
                streamed.contains {
                    if case .streamAbort(let abort) = $0 {
                        abort.xid == xid && !abort.abortsWholeTransaction
                    } else {
                        false
                    }
                }
            )
            let changes = try self.changes(streamed, in: scratch)
            #expect(
                changes == (try self.changes(try await self.peek(scratch, version: 1, client: client), in: scratch))
            )
            #expect(changes.count == 801)
            #expect(changes.allSatisfy { $0.new?["label"] == #""kept""# && $0.xid == xid })
            #expect(changes.map(\.id.index) == Array(0..<801))
        }
    }
}
