// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonReplication
import SiphonTestSupport
import Testing

@testable import SiphonEngine

/// A dead letter keeps the change and the error exactly as they were, whatever text they hold.
@Suite struct DeadLetterStoreTests {
    let logger = Logger(label: "test")

    @Test func aDeadLetterWithHostileTextIsStoredByteForByte() async throws {
        let settings = try ConnectionSettings(url: try TestEnvironment.url(), environment: [:])
        let source = TestEnvironment.uniqueName("hostile")
        // A quote, a backslash, a quote glued to U+0600 into one Character, a dollar quote and a control character.
        let hostile = "it's \\ \u{600}' $$ end$$ \u{7}"
        let hostileJSON = #""it's \\ \#u{600}' $$ end$$ \u0007""#
        let change = Change(
            id: .init(source: source, commitLSN: LSN(rawValue: 100), index: 0), operation: .insert,
            schema: "s\(hostile)", table: "t\(hostile)", xid: 1, commitTime: PostgresTimestamp(rawValue: 0),
            new: Row([.init(name: "note", json: hostileJSON)]))
        let error = SiphonError(.sinkRejected, "refused: \(hostile)")
        let store = DeadLetterStore(settings: settings, logger: self.logger)
        try await store.park(change, sink: "sink\(hostile)", error: error, attempts: 3)

        let rows = try await ServerConnection.withConnection(
            settings: settings, replication: false, logger: self.logger
        ) {
            try await $0.query(
                """
                SELECT sink, schema_name, table_name, change->'new'->>'note', error, attempts::text
                FROM siphon.dead_letters WHERE change_id = $1
                """, parameters: [change.id.description]
            ).rows
        }
        try #require(rows.count == 1)
        let expected: [String] = ["sink\(hostile)", "s\(hostile)", "t\(hostile)", hostile, "\(error)", "3"]
        #expect(rows[0].map { Array(($0 ?? "<NULL>").utf8) } == expected.map { Array($0.utf8) })
        try await TestEnvironment.execute(
            "DELETE FROM siphon.dead_letters WHERE change_id LIKE \(SQLQuoting.literal("\(source)/%"))")
    }
}
