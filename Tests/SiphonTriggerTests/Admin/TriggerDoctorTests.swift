// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonTestSupport
import SiphonTrigger
import SiphonAdmin
import Testing

@Suite struct TriggerDoctorTests {
    func summary(_ checks: [TriggerCheck]) -> [String] {
        checks.filter { $0.status != .ok }.map { "\($0.status) \($0.name) \($0.subject ?? "-")" }
    }

    @Test func reportsMissingStaleAndUnconfiguredTriggers() async throws {
        try await TriggerFixture.with { db in
            try await db.execute(
                "CREATE TABLE \(db.s).a (id int PRIMARY KEY, name text)", "CREATE TABLE \(db.s).b (v int)",
                "CREATE TABLE \(db.s).c (id int PRIMARY KEY)", "CREATE TABLE \(db.s).d (id int PRIMARY KEY)")
            let settings = try db.settings()
            let configured = db.outbox([try db.capture("\(db.schema).a"), try db.capture("\(db.schema).b")])
            _ = try await TriggerCapture.apply(
                db.outbox([try db.capture("\(db.schema).a"), try db.capture("\(db.schema).b"),
                           try db.capture("\(db.schema).c")]),
                settings: settings, logger: db.logger)

            var checks = try await TriggerCapture.doctor(configured, settings: settings, logger: db.logger)
            #expect(
                self.summary(checks) == [
                    "warning primary_key \(db.schema).b", "warning trigger_unconfigured \(db.schema).c",
                ])
            #expect(checks.first { $0.name == "trigger_unconfigured" }?.fix
                == ["insert", "update", "rekey", "delete", "truncate"].map {
                    "DROP TRIGGER siphon_outbox_\($0) ON \(db.schema).c;"
                }.joined(separator: " "))

            try await db.execute(
                "ALTER TABLE \(db.s).a ADD COLUMN note text", "ALTER TABLE \(db.s).b DROP COLUMN v",
                "ALTER TABLE \(db.s).b ADD COLUMN w int", "DROP TRIGGER siphon_outbox_update ON \(db.s).c")
            let withD = db.outbox([
                try db.capture("\(db.schema).a"), try db.capture("\(db.schema).b"), try db.capture("\(db.schema).c"),
                try db.capture("\(db.schema).d"),
            ])
            checks = try await TriggerCapture.doctor(withD, settings: settings, logger: db.logger)
            #expect(
                self.summary(checks) == [
                    "warning trigger_stale \(db.schema).a", "warning trigger_stale \(db.schema).b",
                    "warning primary_key \(db.schema).b", "error trigger_missing \(db.schema).c",
                    "error trigger_missing \(db.schema).d",
                ])
            let stale = checks.first { $0.name == "trigger_stale" && $0.subject == "\(db.schema).b" }
            #expect(
                stale?.message == "columns changed since trigger siphon_outbox_insert was generated (added w; dropped "
                    + "v); rows still carry every column, but regenerate it so its choices are reviewed")
            let missing = try #require(checks.first { $0.name == "trigger_missing" && $0.subject == "\(db.schema).c" })
            #expect(missing.message == "no trigger for update: those changes are not captured")

            // The fix is the SQL that puts the triggers back.
            try await db.execute(try #require(missing.fix))
            try await db.execute("ALTER TABLE \(db.s).c DROP CONSTRAINT c_pkey, ADD COLUMN k int PRIMARY KEY")
            checks = try await TriggerCapture.doctor(withD, settings: settings, logger: db.logger)
            #expect(checks.contains { $0.name == "trigger_stale" && $0.subject == "\(db.schema).c" && $0.status == .error })
            #expect(
                checks.first { $0.name == "trigger_stale" && $0.subject == "\(db.schema).c" }?.message
                    == "trigger siphon_outbox_insert was generated for the key (id) but the key is now (k): changes "
                    + "carry the wrong key")
        }
    }

    @Test func reportsAnOutboxThatNobodyReads() async throws {
        try await TriggerFixture.with { db in
            try await db.execute("CREATE TABLE \(db.s).a (id int PRIMARY KEY)")
            let specification = db.outbox([try db.capture("\(db.schema).a")])
            let settings = try db.settings()
            var checks = try await TriggerCapture.doctor(specification, settings: settings, logger: db.logger)
            #expect(self.summary(checks) == ["error trigger_objects -", "error trigger_missing \(db.schema).a"])
            _ = try await TriggerCapture.apply(specification, settings: settings, logger: db.logger)
            try await db.execute("INSERT INTO \(db.s).a VALUES (1), (2)")
            checks = try await TriggerCapture.doctor(specification, settings: settings, logger: db.logger)
            #expect(self.summary(checks) == ["warning outbox_backlog default"])
            #expect(
                checks.first { $0.name == "outbox_backlog" }?.message.hasPrefix("2 change(s) waiting, the oldest for ")
                    == true)
        }
    }
}
