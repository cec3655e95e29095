// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import Logging
import SiphonCore
import SiphonReplication
import SiphonTestSupport
import Testing

@testable import SiphonTrigger

/// Any role that can connect may `pg_notify` any channel: the listener must deliver only genuine changes of the
/// channel's tables, and read nothing for a forged one.
extension NotifyListenerTests {
    /// Sends `payload` on `channel` from a session of `role`.
    func forge(_ db: TriggerFixture, as role: String, channel: String, _ payload: String) async throws {
        try await db.execute(as: role, "SELECT pg_notify('\(channel)', $forged$\(payload)$forged$)")
    }

    @Test func aForgedDeleteOfAConfiguredTableIsRejected() async throws {
        try await TriggerFixture.with { db in
            let channel = self.channelName()
            try await db.execute("CREATE TABLE \(db.s).orders (id int PRIMARY KEY, note text)")
            try await self.captureOnChannel(db, "orders", channel: channel)
            try await db.withRole("forger") { forger in
                let sink = CollectingSink()
                try await self.withListener(db, channel: channel, sinks: [sink]) { listener, _ in
                    let delete =
                        #"{"op": "delete", "key": {"id": 1}, "new": null, "old": {"id": 1}, "table": "orders", "#
                        + #""schema": "\#(db.schema)""#
                    try await self.forge(db, as: forger, channel: channel, delete + "}")
                    // The shape of a signed payload, with a code the forger cannot compute.
                    try await self.forge(
                        db, as: forger, channel: channel,
                        delete + #", "mac": ""# + String(repeating: "0", count: 64) + #""}"#)
                    try await db.execute("INSERT INTO \(db.s).orders VALUES (2, 'genuine')")
                    try await sink.wait { $0.count == 1 }
                    #expect(listener.source.statistics.rejected == 2)
                }
                #expect(sink.changes.map(\.operation) == [.insert])
                #expect(sink.changes.map { $0.key.jsonObject } == [#"{"id":2}"#])
            }
        }
    }

    @Test func aForgedTruncatedChangeOfAnUnreadableTableReadsNothing() async throws {
        try await TriggerFixture.with { db in
            let channel = self.channelName()
            try await db.execute(
                "CREATE TABLE \(db.s).orders (id int PRIMARY KEY)",
                "CREATE TABLE \(db.s).secrets (id int PRIMARY KEY, secret text)",
                "INSERT INTO \(db.s).secrets VALUES (1, 'the launch code')")
            try await self.captureOnChannel(db, "orders", channel: channel)
            try await db.withRole("forger") { forger in
                #expect(try await db.failure(as: forger, "SELECT * FROM \(db.s).secrets") == "42501")
                let sink = CollectingSink()
                try await self.withListener(db, channel: channel, sinks: [sink]) { listener, _ in
                    for table in ["secrets", "orders"] {
                        try await self.forge(
                            db, as: forger, channel: channel,
                            #"{"op": "insert", "key": {"id": 1}, "table": "\#(table)", "schema": "\#(db.schema)", "#
                                + #""truncated": true}"#)
                    }
                    try await db.execute("INSERT INTO \(db.s).orders VALUES (2)")
                    try await sink.wait { $0.count == 1 }
                    #expect(listener.source.statistics.rejected == 2)
                    #expect(listener.source.statistics.rowsFetched == 0)
                }
                #expect(sink.changes.map { "\($0.table) \($0.key.jsonObject)" } == [#"orders {"id":2}"#])
                #expect(!sink.changes.contains { $0.new?.jsonObject.contains("launch") ?? false })
            }
        }
    }

    @Test func aForgedTableNameIsNeverSQL() async throws {
        try await TriggerFixture.with { db in
            let channel = self.channelName()
            try await db.execute(
                "CREATE TABLE \(db.s).orders (id int PRIMARY KEY)", "CREATE TABLE \(db.s).victim (id int)")
            try await self.captureOnChannel(db, "orders", channel: channel)
            try await db.withRole("forger") { forger in
                let sink = CollectingSink()
                try await self.withListener(db, channel: channel, sinks: [sink]) { listener, _ in
                    let name = "\u{0600}')); DROP TABLE \(db.schema).victim; --"
                    let table = JSONText.string(name)
                    for op in ["insert", "delete"] {
                        try await self.forge(
                            db, as: forger, channel: channel,
                            #"{"op": "\#(op)", "key": {"id": 1}, "table": \#(table), "schema": "\#(db.schema)", "#
                                + #""truncated": true}"#)
                    }
                    try await db.execute("INSERT INTO \(db.s).orders VALUES (1)")
                    try await sink.wait { $0.count == 1 }
                    #expect(listener.source.statistics.rejected == 2)
                    #expect(listener.source.statistics.rowsFetched == 0)
                }
                #expect(try await db.query("SELECT to_regclass('\(db.schema).victim') IS NOT NULL") == [["t"]])
                #expect(sink.changes.map(\.table) == ["orders"])
            }
        }
    }

    @Test func aTamperedGenuinePayloadIsRejected() async throws {
        try await TriggerFixture.with { db in
            let channel = self.channelName()
            try await db.execute("CREATE TABLE \(db.s).orders (id int PRIMARY KEY, total int)")
            try await self.captureOnChannel(db, "orders", channel: channel)
            // LISTEN needs no privilege: a forger sees genuine payloads and may try to alter one.
            let genuine = try await ServerConnection.withConnection(
                settings: try db.settings(), replication: false, logger: db.logger
            ) { connection in
                _ = try await connection.listen([channel])
                try await db.execute("INSERT INTO \(db.s).orders VALUES (1, 10)")
                return try await connection.nextNotification().payload
            }
            #expect(genuine.contains(#""total": 10"#))
            try await db.withRole("forger") { forger in
                let sink = CollectingSink()
                try await self.withListener(db, channel: channel, sinks: [sink]) { listener, _ in
                    try await self.forge(
                        db, as: forger, channel: channel,
                        genuine.replacingOccurrences(of: #""total": 10"#, with: #""total": 99"#))
                    try await db.execute("UPDATE \(db.s).orders SET total = 11")
                    try await sink.wait { $0.count == 1 }
                    #expect(listener.source.statistics.rejected == 1)
                }
                #expect(sink.changes.map { $0.new?["total"] } == ["11"])
            }
        }
    }

    @Test func onlyTheOwnerReadsTheKeysAndAttachesTheTrigger() async throws {
        try await TriggerFixture.with { db in
            let channel = self.channelName()
            try await db.execute("CREATE TABLE \(db.s).orders (id int PRIMARY KEY)")
            try await self.captureOnChannel(db, "orders", channel: channel)
            let siphon = TableName.quoteIdentifier(db.siphonSchema)
            try await db.withRole("forger") { forger in
                let own = TestEnvironment.uniqueName("own")
                try await db.execute(
                    "GRANT USAGE ON SCHEMA \(siphon) TO \(forger)", "CREATE SCHEMA \(own) AUTHORIZATION \(forger)")
                #expect(try await db.failure(as: forger, "SELECT key FROM \(siphon).notify_keys") == "42501")
                try await db.execute(as: forger, "CREATE TABLE \(own).mine (id int PRIMARY KEY)")
                #expect(
                    try await db.failure(
                        as: forger,
                        "CREATE TRIGGER siphon_notify_\(channel)_insert AFTER INSERT ON \(own).mine FOR EACH ROW "
                            + "EXECUTE FUNCTION \(siphon).notify_change('\(channel)', 'key', 'skip', 'id')") == "42501")
            }
        }
    }

    @Test func theTriggersHMACIsSwiftCryptosHMAC() async throws {
        try await TriggerFixture.with { db in
            let channel = self.channelName()
            try await db.execute("CREATE TABLE \(db.s).orders (id int PRIMARY KEY)")
            try await self.captureOnChannel(db, "orders", channel: channel)
            let keys = NotifyNames(schema: db.siphonSchema, channel: channel).keysTable
            let rows = try await db.query(
                """
                SELECT encode(k.key, 'hex'), p.v_payload, \(TriggerSQL.signed("p.v_payload"))
                FROM (SELECT key, inner_pad AS v_inner, outer_pad AS v_outer FROM \(keys)
                      WHERE channel = '\(channel)') AS k,
                     (SELECT jsonb_build_object('a', 'x', 'b', e'\\u0600''"\\\\ é ' || repeat('z', 300))::text
                        AS v_payload) AS p
                """)
            let key = try #require(NotificationSignature.bytes(fromHex: Array((rows.first?[0] ?? "").utf8)))
            let payload = try #require(rows.first?[1] ?? nil)
            #expect(key.count == 64)
            #expect(rows.first?[2] == NotificationSignature.sign(payload, key: key))
            #expect(NotificationSignature.verify(rows.first?[2] ?? "", key: key) == .authentic(payload: payload))
        }
    }
}

extension NotifyListenerTests {
    @Test func aWriterThatClaimsToBeSiphonIsStillNotified() async throws {
        try await TriggerFixture.with { db in
            let channel = self.channelName()
            try await db.execute("CREATE TABLE \(db.s).accounts (id int PRIMARY KEY)")
            try await self.captureOnChannel(db, "accounts", channel: channel)
            try await db.withRole("writer") { writer in
                try await db.execute(
                    "GRANT USAGE ON SCHEMA \(db.s) TO \(writer)", "GRANT INSERT ON \(db.s).accounts TO \(writer)")
                let sink = CollectingSink()
                try await self.withListener(db, channel: channel, sinks: [sink]) { _, _ in
                    try await db.execute(
                        as: writer, TriggerCapture.markOwnWritesSQL, "INSERT INTO \(db.s).accounts VALUES (1)")
                    try await TriggerCapture.withOwnWritesSession(settings: try db.settings(), logger: db.logger) {
                        try await $0.simpleQuery("INSERT INTO \(db.s).accounts VALUES (2)")
                    }
                    try await db.execute("INSERT INTO \(db.s).accounts VALUES (3)")
                    try await sink.wait { $0.count == 2 }
                }
                #expect(sink.changes.map { $0.key.jsonObject } == [#"{"id":1}"#, #"{"id":3}"#])
            }
        }
    }
}
