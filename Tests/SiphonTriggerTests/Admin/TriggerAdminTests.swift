// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonTestSupport
import SiphonTrigger
import Testing

@Suite struct TriggerAdminTests {
    @Test func applyThenRemoveLeavesNothingBehind() async throws {
        try await TriggerFixture.with { db in
            try await db.execute(
                "CREATE TABLE \(db.s).orders (id int PRIMARY KEY, qty int)",
                "CREATE TABLE \(db.s).events (id int, payload text)")
            let specification = db.outbox([try db.capture("\(db.schema).*")])
            let report = try await TriggerCapture.apply(specification, settings: try db.settings(), logger: db.logger)
            #expect(report.tables.map(\.name) == [db.table("events"), db.table("orders")])
            #expect(report.notes == [
                "table \(db.table("events")) has no primary key: the key of its changes is every column (the whole "
                    + "row, as with REPLICA IDENTITY FULL), and order is kept per whole-row value; add a primary key "
                    + "for a narrower key"
            ])
            #expect(
                try await db.leftovers() == [
                    "function outbox_capture", "function outbox_json", "relation outbox", "relation outbox_cursors", "relation outbox_cursors_pkey",
                    "relation outbox_id_seq", "relation outbox_pkey", "relation outbox_xid",
                    "schema \(db.siphonSchema)",
                    "trigger siphon_outbox_delete", "trigger siphon_outbox_delete",
                    "trigger siphon_outbox_insert", "trigger siphon_outbox_insert", "trigger siphon_outbox_rekey",
                    "trigger siphon_outbox_truncate", "trigger siphon_outbox_truncate",
                    "trigger siphon_outbox_update", "trigger siphon_outbox_update",
                ])
            // Applying again changes nothing and fails on nothing.
            _ = try await TriggerCapture.apply(specification, settings: try db.settings(), logger: db.logger)

            let removed = try await TriggerCapture.remove(specification, settings: try db.settings(), logger: db.logger)
            let siphon = db.siphonSchema
            var expected = [
                "function \(siphon).outbox_capture()", "function \(siphon).outbox_json(anyelement)", "schema \(siphon)",
                "table \(siphon).outbox",
                "table \(siphon).outbox_cursors",
            ]
            for event in ["delete", "insert", "rekey", "truncate", "update"] {
                // A table without a primary key has whole rows as old rows: no separate trigger for key changes.
                for table in ["events", "orders"] where event != "rekey" || table == "orders" {
                    expected.append("trigger siphon_outbox_\(event) ON \(db.schema).\(table)")
                }
            }
            #expect(removed.objects.map(\.description).sorted() == expected)
            #expect(try await db.leftovers() == [])
        }
    }

    @Test func removeAlsoDropsTriggersOfTablesNoLongerConfigured() async throws {
        try await TriggerFixture.with { db in
            try await db.execute(
                "CREATE TABLE \(db.s).a (id int PRIMARY KEY)", "CREATE TABLE \(db.s).b (id int PRIMARY KEY)")
            _ = try await TriggerCapture.apply(
                db.outbox([try db.capture("\(db.schema).a"), try db.capture("\(db.schema).b")]),
                settings: try db.settings(), logger: db.logger)
            _ = try await TriggerCapture.remove(
                db.outbox([try db.capture("\(db.schema).a")]), settings: try db.settings(), logger: db.logger)
            #expect(try await db.leftovers() == [])
        }
    }
}
