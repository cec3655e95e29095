// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonEngine
import SiphonTestSupport
import SiphonTrigger
import Testing

/// Bad input gets a clear message and creates nothing; odd names work everywhere.
@Suite struct TriggerInputTests {
    @Test func anUnknownTableIsNamedWithASuggestion() async throws {
        try await TriggerFixture.with { db in
            try await db.execute("CREATE TABLE \(db.s).\"Invoices\" (id int PRIMARY KEY)")
            let error = await #expect(throws: SiphonError.self) {
                try await TriggerCapture.apply(
                    db.outbox([try db.capture("\(db.schema).invoices")]), settings: try db.settings(), logger: db.logger)
            }
            #expect(error?.code == .invalidConfiguration)
            #expect(
                error?.message == "table \(db.schema).invoices does not exist (or is not an ordinary or partitioned "
                    + "table); did you mean \(db.schema).\"Invoices\"?")
            let pattern = await #expect(throws: SiphonError.self) {
                try await TriggerCapture.plan(
                    db.outbox([try db.capture("\(db.schema).nothing_*")]), settings: try db.settings(),
                    logger: db.logger)
            }
            #expect(pattern?.message == "the table pattern \(db.schema).nothing_* matches no table")
            #expect(try await db.leftovers() == [])
        }
    }

    @Test func choicesThatCannotWorkAreRefused() async throws {
        try await TriggerFixture.with { db in
            try await db.execute("CREATE TABLE \(db.s).t (id int PRIMARY KEY, state text)")
            let settings = try db.settings()
            func message(_ specification: CaptureSpecification) async -> String? {
                do {
                    _ = try await TriggerCapture.plan(specification, settings: settings, logger: db.logger)
                    return nil
                } catch let error as SiphonError {
                    return error.message
                } catch {
                    return "\(error)"
                }
            }
            let table = "\(db.schema).t"
            #expect(
                await message(db.outbox([try db.capture(table) { $0.columns = ["stat"] }]))
                    == "table \(db.schema).t has no column stat (its columns: id, state)")
            #expect(
                await message(db.outbox([try db.capture(table) { $0.operations = [.insert]; $0.columns = ["state"] }]))
                    == "columns [\"state\"] for \(db.schema).t only filter updates, but update is not among the chosen "
                    + "operations")
            #expect(
                await message(db.outbox([try db.capture(table), try db.capture("\(db.schema).*")]))
                    == "table \(db.schema).t is selected twice (by \(db.schema).t and by \(db.schema).*); each table "
                    + "may have one set of choices")
            #expect(
                await message(db.outbox([try db.capture(table)], name: "Bad-Name"))
                    == "invalid outbox name 'Bad-Name': use 1 to 40 lower-case letters, digits and underscores, not "
                    + "starting with a digit")
            #expect(
                await message(db.outbox([try db.capture(table)], groups: [ConsumerGroup(name: "g", partitions: 0)]))
                    == "consumer group 'g' has 0 partitions; use 1 to 1024")
            #expect(await message(db.outbox([])) == "no tables to capture: name at least one table")
        }
    }

    @Test func aRoleWithoutPrivilegesGetsTheFixAndNothingIsCreated() async throws {
        try await TriggerFixture.with { db in
            try await db.execute("CREATE TABLE \(db.s).t (id int PRIMARY KEY)", "GRANT USAGE ON SCHEMA \(db.s) TO PUBLIC")
            let error = await #expect(throws: SiphonError.self) {
                try await TriggerCapture.apply(
                    db.outbox([try db.capture("\(db.schema).t")]), settings: try db.settings(user: "siphon_norepl"),
                    logger: db.logger)
            }
            #expect(
                error?.message == "role siphon_norepl may not create triggers on \(db.schema).t: it must own the table "
                    + "or hold the TRIGGER privilege. Fix: GRANT TRIGGER ON \(db.schema).t TO siphon_norepl; or run "
                    + "this as the tables' owner")
            try await db.execute("GRANT TRIGGER ON \(db.s).t TO siphon_norepl")
            let schemaError = await #expect(throws: SiphonError.self) {
                try await TriggerCapture.apply(
                    db.outbox([try db.capture("\(db.schema).t")]), settings: try db.settings(user: "siphon_norepl"),
                    logger: db.logger)
            }
            #expect(
                schemaError?.message == "role siphon_norepl may not create the schema \(db.siphonSchema). Fix: GRANT "
                    + "CREATE ON DATABASE siphon_test TO siphon_norepl; or create the schema first: CREATE SCHEMA "
                    + "\(db.siphonSchema) AUTHORIZATION siphon_norepl;")
            #expect(try await db.leftovers() == [])
        }
    }

    @Test func aReaderWithoutAnOutboxSaysHowToCreateIt() async throws {
        try await TriggerFixture.with { db in
            let reader = OutboxPipeline(configuration: try db.readerConfiguration(), sinks: [], logger: db.logger)
            let error = await #expect(throws: SiphonError.self) { try await reader.run() }
            #expect(
                error?.message == "the outbox \(db.siphonSchema).outbox does not exist: create it with `siphon setup "
                    + "--mode trigger` or apply the migration from `siphon sql`")
        }
    }

    @Test func oddNamesAreQuotedEverywhere() async throws {
        let schema = TestEnvironment.uniqueName("Odd \"Schema\"")
        try await TriggerFixture.with(schema: schema) { db in
            let table = TableName.quoteIdentifier(db.schema) + "." + TableName.quoteIdentifier("Order's \"Items\"")
            try await db.execute(
                "CREATE TABLE \(table) (\"select\" int PRIMARY KEY, \"Mixed Case\" text, \"quote\"\"d\" text, "
                    + "\"back\\slash\" text, \"it's\" int)")
            let capture = try db.capture(table) {
                $0.columns = ["Mixed Case", "it's"]
                $0.condition = #"NEW."quote""d" IS DISTINCT FROM 'skip'"#
                $0.operations = [.insert, .update]
            }
            let channel = TestEnvironment.uniqueName("odd")
            _ = try await TriggerCapture.apply(db.outbox([capture]), settings: try db.settings(), logger: db.logger)
            _ = try await TriggerCapture.apply(
                db.notify([capture], channel: channel), settings: try db.settings(), logger: db.logger)
            let outboxed = CollectingSink()
            let notified = CollectingSink()
            let listener = NotifyPipeline(
                configuration: NotifyConfiguration(
                    connection: try db.settings(), channels: [channel], schema: db.siphonSchema),
                sinks: [notified], logger: db.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await listener.run() }
                try await db.withReader(try db.readerConfiguration(), sinks: [outboxed]) { _ in
                    // Wait until both see a first row, so the listener is surely listening.
                    var attempt = 0
                    repeat {
                        attempt += 1
                        try await db.execute(
                            #"INSERT INTO \#(table) VALUES (\#(attempt), 'a', 'x', 'b\c', 1)"#)
                        let inserted = attempt
                        try await outboxed.wait { $0.count == inserted }
                    } while notified.changes.isEmpty && attempt < 50
                    let inserted = attempt
                    try await db.execute(
                        #"UPDATE \#(table) SET "back\slash" = 'ignored' WHERE "select" = 1"#,
                        #"UPDATE \#(table) SET "Mixed Case" = 'b', "quote""d" = 'skip' WHERE "select" = 1"#,
                        #"UPDATE \#(table) SET "it's" = 2, "quote""d" = 'x' WHERE "select" = 1"#)
                    try await outboxed.wait { $0.count == inserted + 1 }
                    try await notified.wait { $0.contains { $0.operation == .update } }
                }
                listener.stop()
                try await group.waitForAll()
            }
            let update = try #require(outboxed.changes.last)
            #expect(update.operation == .update)
            #expect(update.schema == db.schema && update.table == #"Order's "Items""#)
            #expect(
                update.new?.jsonObject
                    == #"{"select":1,"Mixed Case":"b","quote\"d":"x","back\\slash":"ignored","it's":2}"#)
            #expect(update.key.jsonObject == #"{"select":1}"#)
            #expect(notified.changes.last?.new == update.new)
            _ = try await TriggerCapture.remove(db.outbox([capture]), settings: try db.settings(), logger: db.logger)
            _ = try await TriggerCapture.remove(
                db.notify([capture], channel: channel), settings: try db.settings(), logger: db.logger)
            #expect(try await db.leftovers() == [])
        }
    }
}
