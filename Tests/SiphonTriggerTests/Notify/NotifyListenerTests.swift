// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonEngine
import SiphonTestSupport
import SiphonTrigger
import Testing

@Suite struct NotifyListenerTests {
    /// Runs a listener on `channel` while `body` runs; `body` gets a stream that yields each time the listener has
    /// (re)subscribed, and the first subscription has happened when `body` starts.
    func withListener(
        _ db: TriggerFixture, channel: String, sinks: [any ChangeSink],
        _ body: (NotifyPipeline, AsyncStream<Void>.Iterator) async throws -> Void
    ) async throws {
        let (subscriptions, subscribed) = AsyncStream.makeStream(of: Void.self)
        let listener = NotifyPipeline(
            configuration: NotifyConfiguration(
                connection: try db.settings(applicationName: "siphon-listen-\(channel)"), channels: [channel],
                schema: db.siphonSchema, subscribed: { _ in subscribed.yield() }),
            sinks: sinks, logger: db.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.run() }
            var iterator = subscriptions.makeAsyncIterator()
            _ = await iterator.next(isolation: #isolation)
            do {
                try await body(listener, iterator)
            } catch {
                group.cancelAll()
                throw error
            }
            listener.stop()
            try await group.waitForAll()
        }
    }

    func channelName() -> String { TestEnvironment.uniqueName("ch") }

    /// Gives `table` of the fixture's schema Siphon's notify triggers for `channel`.
    func captureOnChannel(_ db: TriggerFixture, _ table: String, channel: String) async throws {
        _ = try await TriggerCapture.apply(
            db.notify([try db.capture("\(db.schema).\(table)")], channel: channel), settings: try db.settings(),
            logger: db.logger)
    }

    @Test func deliversTheSameChangesAsTheOutbox() async throws {
        try await TriggerFixture.with { db in
            let channel = self.channelName()
            try await db.execute(
                "CREATE TABLE \(db.s).users (id int PRIMARY KEY, email text, score numeric(5,2), at timestamptz)")
            try await self.captureOnChannel(db, "users", channel: channel)
            _ = try await TriggerCapture.apply(
                db.outbox([try db.capture("\(db.schema).users")]), settings: try db.settings(), logger: db.logger)
            let notified = CollectingSink()
            let outboxed = CollectingSink()
            try await self.withListener(db, channel: channel, sinks: [notified]) { _, _ in
                try await db.execute(
                    "SET TimeZone = 'America/New_York'",
                    "INSERT INTO \(db.s).users VALUES (1, 'ada@example.com', 1.5, '2026-01-02 03:04:05.5+02')",
                    "UPDATE \(db.s).users SET email = 'ada@lovelace.org' WHERE id = 1",
                    "UPDATE \(db.s).users SET id = 2 WHERE id = 1",
                    "DELETE FROM \(db.s).users WHERE id = 2",
                    "TRUNCATE \(db.s).users")
                try await notified.wait { $0.count == 5 }
            }
            try await db.withReader(try db.readerConfiguration(), sinks: [outboxed]) { _ in
                try await outboxed.wait { $0.count == 5 }
            }
            func content(_ change: Change) -> [String?] {
                [change.operation.rawValue, change.schema, change.table, change.key.jsonObject,
                 change.old?.jsonObject, change.new?.jsonObject]
            }
            #expect(notified.changes.map(content) == outboxed.changes.map(content))
            #expect(notified.changes.map(\.id) == notified.changes.map(\.id).sorted())
            #expect(notified.changes.allSatisfy { $0.id.source == channel })
            #expect(
                notified.changes[0].new?.jsonObject
                    == #"{"id":1,"email":"ada@example.com","score":1.50,"at":"2026-01-02T01:04:05.5+00:00"}"#)
        }
    }

    @Test func aRowTooLargeForANotificationIsFetched() async throws {
        try await TriggerFixture.with { db in
            let channel = self.channelName()
            try await db.execute("CREATE TABLE \(db.s).docs (id int PRIMARY KEY, body text)")
            try await self.captureOnChannel(db, "docs", channel: channel)
            let sink = CollectingSink()
            try await self.withListener(db, channel: channel, sinks: [sink]) { listener, _ in
                // The user's statements succeed although the rows are far over pg_notify's 8000-byte limit.
                try await db.execute("INSERT INTO \(db.s).docs VALUES (1, repeat('x', 9000))")
                try await sink.wait { $0.count == 1 }
                try await db.execute("DELETE FROM \(db.s).docs WHERE id = 1")
                try await sink.wait { $0.count == 2 }
                #expect(listener.source.statistics.rowsFetched == 1)
            }
            let expectedBody = "\"" + String(repeating: "x", count: 9000) + "\""
            #expect(sink.changes[0].operation == .insert)
            #expect(sink.changes[0].new == Row([.init(name: "id", json: "1"), .init(name: "body", json: expectedBody)]))
            #expect(sink.changes[1].operation == .delete)
            #expect(sink.changes[1].old?.jsonObject == #"{"id":1}"#)
            #expect(sink.changes[1].new == nil)
        }
    }

    @Test func aKeyTooLargeForANotificationNeverFailsTheStatement() async throws {
        try await TriggerFixture.with { db in
            let channel = self.channelName()
            try await db.execute("CREATE TABLE \(db.s).tags (name text PRIMARY KEY)")
            try await self.captureOnChannel(db, "tags", channel: channel)
            let sink = CollectingSink()
            try await self.withListener(db, channel: channel, sinks: [sink]) { _, _ in
                try await db.execute(
                    "INSERT INTO \(db.s).tags VALUES (repeat('k', 9000))", "INSERT INTO \(db.s).tags VALUES ('small')")
                try await sink.wait { $0.count == 1 }
            }
            // Notifications arrive in commit order: the first insert sent none (the server logged a warning).
            #expect(sink.changes.map { $0.key.jsonObject } == [#"{"name":"small"}"#])
        }
    }

    @Test func listensAgainAfterTheConnectionIsLost() async throws {
        try await TriggerFixture.with { db in
            let channel = self.channelName()
            try await db.execute("CREATE TABLE \(db.s).pings (id int PRIMARY KEY)")
            try await self.captureOnChannel(db, "pings", channel: channel)
            let sink = CollectingSink()
            try await self.withListener(db, channel: channel, sinks: [sink]) { listener, subscriptions in
                var subscriptions = subscriptions
                try await db.execute("INSERT INTO \(db.s).pings VALUES (1)")
                try await sink.wait { $0.count == 1 }
                let terminated = try await db.query(
                    "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        + "WHERE application_name = 'siphon-listen-\(channel)' AND pid <> pg_backend_pid()) AS t")
                #expect(terminated == [["2"]])
                _ = await subscriptions.next(isolation: #isolation)
                try await db.execute("INSERT INTO \(db.s).pings VALUES (2)")
                try await sink.wait { $0.count == 2 }
                #expect(listener.pipeline.statistics.reconnects >= 1)
            }
            #expect(sink.changes.map { $0.key.jsonObject } == [#"{"id":1}"#, #"{"id":2}"#])
        }
    }

    @Test func skipsNotificationsThatAreNotChanges() async throws {
        try await TriggerFixture.with { db in
            let channel = self.channelName()
            try await db.execute("CREATE TABLE \(db.s).pings (id int PRIMARY KEY)")
            try await self.captureOnChannel(db, "pings", channel: channel)
            let sink = CollectingSink()
            try await self.withListener(db, channel: channel, sinks: [sink]) { listener, _ in
                try await db.execute(
                    "NOTIFY \(channel), 'hello'", "NOTIFY \(channel), '{\"op\":\"insert\"}'",
                    "NOTIFY \(channel), '{\"op\":\"explode\",\"schema\":\"s\",\"table\":\"t\",\"key\":{}}'",
                    "INSERT INTO \(db.s).pings VALUES (1)")
                try await sink.wait { $0.count == 1 }
                // The channel has a key: what it did not sign is refused before it is even parsed.
                #expect(listener.source.statistics.rejected == 3)
            }
            #expect(sink.changes.map { $0.key.jsonObject } == [#"{"id":1}"#])
        }
    }
}
