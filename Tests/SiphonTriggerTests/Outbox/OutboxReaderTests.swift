// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonEngine
import SiphonReplication
import SiphonTestSupport
import SiphonTrigger
import Testing

@Suite struct OutboxReaderTests {
    @Test func deliversEveryOperationAsLogicalModeWould() async throws {
        try await TriggerFixture.with { db in
            try await db.execute("CREATE TABLE \(db.s).users (id int PRIMARY KEY, email text, score numeric(5,2))")
            _ = try await TriggerCapture.apply(
                db.outbox([try db.capture("\(db.schema).users")]), settings: try db.settings(), logger: db.logger)
            let sink = CollectingSink()
            try await db.withReader(try db.readerConfiguration(), sinks: [sink]) { _ in
                try await db.execute(
                    "INSERT INTO \(db.s).users VALUES (1, 'ada@example.com', 1.5)",
                    "UPDATE \(db.s).users SET email = 'ada@lovelace.org' WHERE id = 1",
                    "UPDATE \(db.s).users SET id = 2 WHERE id = 1",
                    "DELETE FROM \(db.s).users WHERE id = 2",
                    "TRUNCATE \(db.s).users")
                try await sink.wait { $0.count == 5 }
            }
            let lines = sink.changes.map { change in
                var line = ""
                ChangeEnvelope.append(change, format: .siphon, to: &line)
                return line
            }
            let changes = sink.changes
            #expect(changes.map(\.operation) == [.insert, .update, .update, .delete, .truncate])
            #expect(changes.map(\.id) == changes.map(\.id).sorted())
            #expect(Set(changes.map(\.id)).count == 5)
            #expect(changes.allSatisfy { $0.id.source == "outbox" && $0.schema == db.schema && $0.table == "users" })
            #expect(changes[0].new?.jsonObject == #"{"id":1,"email":"ada@example.com","score":1.50}"#)
            #expect(changes[0].old == nil)
            #expect(changes[0].key.jsonObject == #"{"id":1}"#)
            #expect(changes[1].new?.jsonObject == #"{"id":1,"email":"ada@lovelace.org","score":1.50}"#)
            #expect(changes[1].old == nil)
            #expect(changes[2].new?.jsonObject == #"{"id":2,"email":"ada@lovelace.org","score":1.50}"#)
            #expect(changes[2].old?.jsonObject == #"{"id":1}"#)
            #expect(changes[2].key.jsonObject == #"{"id":1}"#)
            #expect(changes[3].new == nil)
            #expect(changes[3].old?.jsonObject == #"{"id":2}"#)
            #expect(changes[4].key.jsonObject == "{}")
            #expect(lines[4].contains(#""op":"truncate","schema":"\#(db.schema)","table":"users""#))
        }
    }
}

extension OutboxReaderTests {
    @Test func aTransactionThatCommitsLateIsDeliveredNotSkipped() async throws {
        try await TriggerFixture.with { db in
            try await db.execute("CREATE TABLE \(db.s).jobs (id int PRIMARY KEY)")
            _ = try await TriggerCapture.apply(
                db.outbox([try db.capture("\(db.schema).jobs")]), settings: try db.settings(), logger: db.logger)
            let sink = CollectingSink()
            try await db.withReader(try db.readerConfiguration(), sinks: [sink]) { _ in
                try await ServerConnection.withConnection(
                    settings: try db.settings(), replication: false, logger: db.logger
                ) { late in
                    // The late transaction writes first, so its change has the smaller outbox id…
                    try await late.simpleQuery("BEGIN; INSERT INTO \(db.s).jobs VALUES (1)")
                    // …but another commits first, and the reader delivers that one meanwhile.
                    try await db.execute("INSERT INTO \(db.s).jobs VALUES (2)")
                    try await sink.wait { $0.count == 1 }
                    try await late.simpleQuery("COMMIT")
                }
                try await sink.wait { $0.count == 2 }
            }
            #expect(sink.changes.map { $0.key.jsonObject } == [#"{"id":2}"#, #"{"id":1}"#])
            #expect(sink.changes[0].id < sink.changes[1].id)
            #expect(sink.changes[0].id.index > sink.changes[1].id.index)
        }
    }

    @Test func rolledBackWorkIsNeverDelivered() async throws {
        try await TriggerFixture.with { db in
            try await db.execute("CREATE TABLE \(db.s).jobs (id int PRIMARY KEY)")
            _ = try await TriggerCapture.apply(
                db.outbox([try db.capture("\(db.schema).jobs")]), settings: try db.settings(), logger: db.logger)
            let sink = CollectingSink()
            try await db.withReader(try db.readerConfiguration(), sinks: [sink]) { _ in
                try await db.execute(
                    "BEGIN; INSERT INTO \(db.s).jobs VALUES (1); ROLLBACK",
                    "BEGIN; INSERT INTO \(db.s).jobs VALUES (2); SAVEPOINT a; INSERT INTO \(db.s).jobs VALUES (3); "
                        + "ROLLBACK TO SAVEPOINT a; COMMIT",
                    "INSERT INTO \(db.s).jobs VALUES (4)")
                try await sink.wait { $0.contains { $0.key["id"] == "4" } }
            }
            #expect(sink.changes.map { $0.key.jsonObject } == [#"{"id":2}"#, #"{"id":4}"#])
        }
    }

    @Test func catchesUpOnWhatWasWrittenWhileNoReaderRan() async throws {
        try await TriggerFixture.with { db in
            try await db.execute("CREATE TABLE \(db.s).jobs (id int PRIMARY KEY)")
            _ = try await TriggerCapture.apply(
                db.outbox([try db.capture("\(db.schema).jobs")]), settings: try db.settings(), logger: db.logger)
            try await db.execute("INSERT INTO \(db.s).jobs SELECT generate_series(1, 2500)")
            let sink = CollectingSink()
            try await db.withReader(try db.readerConfiguration(maxBatchSize: 1000), sinks: [sink]) { reader in
                try await sink.wait { $0.count == 2500 }
                #expect(reader.pipeline.statistics.batches == 3)
            }
            #expect(sink.changes.map { $0.key["id"]! } == (1...2500).map(String.init))
            #expect(try await db.query("SELECT count(*) FROM \(db.siphonSchema).outbox") == [["0"]])
        }
    }

    @Test func deletesChangesOnlyAfterTheSinksAcknowledgedThem() async throws {
        try await TriggerFixture.with { db in
            try await db.execute("CREATE TABLE \(db.s).jobs (id int PRIMARY KEY)")
            _ = try await TriggerCapture.apply(
                db.outbox([try db.capture("\(db.schema).jobs")]), settings: try db.settings(), logger: db.logger)
            try await db.execute("INSERT INTO \(db.s).jobs VALUES (1), (2)")
            struct Refused: Error {}
            let failing = CollectingSink(beforeDelivery: { _ in throw Refused() })
            let reader = OutboxPipeline(
                configuration: try db.readerConfiguration(),
                delivery: DeliveryPolicy(maxAttempts: 2, backoff: Backoff(initial: .milliseconds(1))), sinks: [failing],
                logger: db.logger)
            await #expect(throws: SiphonError.self) { try await reader.run() }
            #expect(try await db.query("SELECT count(*) FROM \(db.siphonSchema).outbox") == [["2"]])

            let sink = CollectingSink()
            try await db.withReader(try db.readerConfiguration(), sinks: [sink]) { _ in
                try await sink.wait { $0.count == 2 }
            }
            #expect(try await db.query("SELECT count(*) FROM \(db.siphonSchema).outbox") == [["0"]])
        }
    }

    @Test func keepsDeliveredChangesForTheRetentionPeriodAsAnAuditLog() async throws {
        try await TriggerFixture.with { db in
            try await db.execute("CREATE TABLE \(db.s).jobs (id int PRIMARY KEY, state text)")
            _ = try await TriggerCapture.apply(
                db.outbox([try db.capture("\(db.schema).jobs")]), settings: try db.settings(), logger: db.logger)
            try await db.execute(
                "INSERT INTO \(db.s).jobs VALUES (1, 'new')", "UPDATE \(db.s).jobs SET state = 'done' WHERE id = 1")
            var configuration = try db.readerConfiguration()
            configuration.retention = .seconds(86_400)
            let sink = CollectingSink()
            try await db.withReader(configuration, sinks: [sink]) { _ in
                try await sink.wait { $0.count == 2 }
            }
            let audit = try await db.query(
                "SELECT op, changed_by, table_name, new->>'state', changed_at <= now() "
                    + "FROM \(db.siphonSchema).outbox ORDER BY id")
            #expect(audit == [["insert", "siphon", "jobs", "new", "t"], ["update", "siphon", "jobs", "done", "t"]])
            // Once past the retention period, delivered changes go.
            configuration.retention = .seconds(0)
            try await OutboxPipeline(configuration: configuration, sinks: [sink], logger: db.logger).catchUp()
            #expect(try await db.query("SELECT count(*) FROM \(db.siphonSchema).outbox") == [["0"]])
            #expect(sink.changes.count == 2)
        }
    }

    @Test func oversizedRowsArriveIntact() async throws {
        try await TriggerFixture.with { db in
            try await db.execute("CREATE TABLE \(db.s).docs (id int PRIMARY KEY, body text, data jsonb)")
            _ = try await TriggerCapture.apply(
                db.outbox([try db.capture("\(db.schema).docs")]), settings: try db.settings(), logger: db.logger)
            try await db.execute(
                "INSERT INTO \(db.s).docs SELECT 1, string_agg(md5(i::text), '') || E'\\n\"end\"', "
                    + "jsonb_build_object('items', jsonb_agg(i)) FROM generate_series(1, 100000) AS i")
            let sink = CollectingSink()
            try await db.withReader(try db.readerConfiguration(), sinks: [sink]) { _ in
                try await sink.wait { $0.count == 1 }
            }
            let expected = try await db.query("SELECT to_jsonb(body)::text, to_jsonb(data)::text FROM \(db.s).docs")
            #expect(sink.changes[0].new?["body"] == expected[0][0])
            #expect(sink.changes[0].new?["data"] == expected[0][1])
            #expect((sink.changes[0].new?["body"]?.utf8.count ?? 0) > 3_200_000)
        }
    }

    @Test func aHandlerThatUpdatesItsOwnRowIsNotCalledForItsOwnWrite() async throws {
        for captureOwnWrites in [false, true] {
            try await TriggerFixture.with { db in
                try await db.execute(
                    "CREATE TABLE \(db.s).accounts (id int PRIMARY KEY, balance int, synced_at timestamptz)")
                _ = try await TriggerCapture.apply(
                    db.outbox([try db.capture("\(db.schema).accounts")], captureOwnWrites: captureOwnWrites),
                    settings: try db.settings(), logger: db.logger)
                let settings = try db.settings()
                let logger = db.logger
                let table = "\(db.s).accounts"
                // The handler stamps synced_at on the row it was called for, through Siphon's marked session.
                let sink = CollectingSink(beforeDelivery: { changes in
                    for change in changes where change.new?["synced_at"] == "null" {
                        try await TriggerCapture.withOwnWritesSession(settings: settings, logger: logger) {
                            try await $0.simpleQuery(
                                "UPDATE \(table) SET synced_at = now() WHERE id = \(change.key["id"]!)")
                        }
                    }
                })
                try await db.withReader(try db.readerConfiguration(), sinks: [sink]) { _ in
                    try await db.execute("INSERT INTO \(table) VALUES (1, 10, NULL)")
                    try await sink.wait { $0.count == 1 }
                    try await db.execute("UPDATE \(table) SET balance = 20 WHERE id = 1")
                    try await sink.wait { $0.contains { $0.new?["balance"] == "20" } }
                }
                let seen = sink.changes.map { "\($0.operation) balance=\($0.new?["balance"] ?? "")" }
                if captureOwnWrites {
                    #expect(seen == ["insert balance=10", "update balance=10", "update balance=20"])
                } else {
                    #expect(seen == ["insert balance=10", "update balance=20"])
                }
                #expect(sink.changes.last?.new?["synced_at"] != "null")
            }
        }
    }
}

extension OutboxReaderTests {
    @Test func columnsKeepTableOrderWhenTheTableChangesWhileReading() async throws {
        try await TriggerFixture.with { db in
            try await db.execute("CREATE TABLE \(db.s).t (id int PRIMARY KEY, name text)")
            _ = try await TriggerCapture.apply(
                db.outbox([try db.capture("\(db.schema).t")]), settings: try db.settings(), logger: db.logger)
            let sink = CollectingSink()
            try await db.withReader(try db.readerConfiguration(), sinks: [sink]) { _ in
                try await db.execute("INSERT INTO \(db.s).t VALUES (1, 'a')")
                try await sink.wait { $0.count == 1 }
                try await db.execute(
                    "ALTER TABLE \(db.s).t DROP COLUMN name, ADD COLUMN b int, ADD COLUMN name text",
                    "INSERT INTO \(db.s).t VALUES (2, 20, 'b')")
                try await sink.wait { $0.count == 2 }
            }
            #expect(sink.changes.map { $0.new?.names ?? [] } == [["id", "name"], ["id", "b", "name"]])
        }
    }
}

extension OutboxReaderTests {
    @Test func anIdleReaderIsWokenByTheFirstChange() async throws {
        try await TriggerFixture.with { db in
            try await db.execute("CREATE TABLE \(db.s).t (id int PRIMARY KEY)")
            _ = try await TriggerCapture.apply(
                db.outbox([try db.capture("\(db.schema).t")]), settings: try db.settings(), logger: db.logger)
            let (caughtUp, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            var configuration = try db.readerConfiguration()
            // Only a wake-up can bring these changes in time.
            configuration.pollInterval = .seconds(120)
            configuration.caughtUp = { signal.yield() }
            let sink = CollectingSink()
            try await db.withReader(configuration, sinks: [sink]) { _ in
                var waits = caughtUp.makeAsyncIterator()
                for id in 1...3 {
                    _ = await waits.next(isolation: #isolation)
                    try await db.execute("INSERT INTO \(db.s).t VALUES (\(id))")
                    try await sink.wait(timeout: .seconds(20)) { $0.count == id }
                }
            }
            #expect(sink.changes.map { $0.key["id"] } == ["1", "2", "3"])
        }
    }
}
