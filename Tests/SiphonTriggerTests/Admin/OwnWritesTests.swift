// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonReplication
import SiphonTestSupport
import SiphonTrigger
import Testing

/// `siphon.origin = 'siphon'` hides a session's writes from capture only for roles that could disable capture
/// anyway (members of the trigger function's owner), never for an ordinary writer.
@Suite struct OwnWritesTests {
    @Test func aWriterThatClaimsToBeSiphonIsStillCaptured() async throws {
        try await TriggerFixture.with { db in
            try await db.execute("CREATE TABLE \(db.s).accounts (id int PRIMARY KEY)")
            _ = try await TriggerCapture.apply(
                db.outbox([try db.capture("\(db.schema).accounts")]), settings: try db.settings(), logger: db.logger)
            try await db.withRole("writer") { writer in
                try await db.execute(
                    "GRANT USAGE ON SCHEMA \(db.s) TO \(writer)", "GRANT INSERT ON \(db.s).accounts TO \(writer)")
                try await db.execute(
                    as: writer, TriggerCapture.markOwnWritesSQL, "INSERT INTO \(db.s).accounts VALUES (1)")
                try await db.execute(
                    as: writer, "BEGIN", "SET LOCAL siphon.origin = 'siphon'", "INSERT INTO \(db.s).accounts VALUES (2)",
                    "COMMIT")
                // Siphon's own sessions (the role that set capture up) are still skipped.
                try await TriggerCapture.withOwnWritesSession(settings: try db.settings(), logger: db.logger) {
                    try await $0.simpleQuery("INSERT INTO \(db.s).accounts VALUES (3)")
                }
                // So are members of that role: they could replace the trigger function anyway.
                try await db.execute("GRANT \(db.settings().user) TO \(writer)")
                try await db.execute(
                    as: writer, TriggerCapture.markOwnWritesSQL, "INSERT INTO \(db.s).accounts VALUES (4)")
            }
            #expect(
                try await db.query(
                    "SELECT key::text, origin FROM \(TableName.quoteIdentifier(db.siphonSchema)).outbox ORDER BY id")
                    == [[#"{"id": 1}"#, "siphon"], [#"{"id": 2}"#, "siphon"]])
        }
    }
}
