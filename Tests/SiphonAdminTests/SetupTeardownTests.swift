// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import Logging
import SiphonAdmin
import SiphonCore
import SiphonReplication
import SiphonTestSupport
import Testing

@Suite struct SetupTeardownTests {
    @Test func setupThenTeardownLeavesNothingBehind() async throws {
        try await AdminFixture.with { db in
            let s = SQLQuoting.identifier(db.schema)
            try await db.execute(
                "CREATE TABLE \(s).orders (id int PRIMARY KEY, qty int)",
                "CREATE TABLE \(s).events (id int, payload text)"
            )

            let report = try await db.setup(
                try db.setupOptions(["\(db.schema).orders", "\(db.schema).events"], replicaIdentity: .full)
            )
            #expect(
                report.outcomes.map { "\($0.action.rawValue) \($0.object)" } == [
                    "created schema \(db.bookkeeping)",
                    "created table \(db.bookkeeping).objects",
                    "created publication \(db.publication)",
                    "created replica identity of \(db.schema).events",
                    "created replica identity of \(db.schema).orders",
                    "created replication slot \(db.slot)",
                ]
            )
            #expect(report.tables == [db.table("events"), db.table("orders")])
            #expect(report.warnings.isEmpty)
            #expect(try await db.leftovers().count == 3)
            #expect(try await db.replicaIdentity("orders") == "f")
            #expect(try await db.replicaIdentity("events") == "f")
            let published = try await db.query(
                "SELECT tablename FROM pg_publication_tables WHERE pubname = '\(db.publication)' ORDER BY 1"
            )
            #expect(published == [["events"], ["orders"]])
            let slot = try await db.query(
                "SELECT plugin, slot_type FROM pg_replication_slots WHERE slot_name = '\(db.slot)'"
            )
            #expect(slot == [["pgoutput", "logical"]])
            let recorded = try await db.query(
                "SELECT kind, schema_name, name, previous_replica_identity, created_by "
                    + "FROM \(SQLQuoting.identifier(db.bookkeeping)).objects ORDER BY id"
            )
            #expect(
                recorded == [
                    ["schema", nil, db.bookkeeping, nil, "siphon setup"],
                    ["table", db.bookkeeping, "objects", nil, "siphon setup"],
                    ["publication", nil, db.publication, nil, "siphon setup"],
                    ["replica_identity", db.schema, "events", "d", "siphon setup"],
                    ["replica_identity", db.schema, "orders", "d", "siphon setup"],
                    ["slot", nil, db.slot, nil, "siphon setup"],
                ]
            )

            let teardown = try await db.teardown()
            #expect(
                teardown.outcomes.map { "\($0.action.rawValue) \($0.object)" } == [
                    "removed replication slot \(db.slot)",
                    "removed publication \(db.publication)",
                    "restored replica identity of \(db.schema).events",
                    "restored replica identity of \(db.schema).orders",
                    "removed table \(db.bookkeeping).objects",
                    "removed schema \(db.bookkeeping)",
                ]
            )
            #expect(try await db.leftovers() == [])
            #expect(try await db.replicaIdentity("orders") == "d")
            #expect(try await db.replicaIdentity("events") == "d")

            let again = try await db.teardown()
            #expect(again.outcomes.isEmpty)
            #expect(
                again.description == "nothing to remove: Siphon's bookkeeping table records no objects in this database"
            )
        }
    }

    @Test func setupIsIdempotent() async throws {
        try await AdminFixture.with { db in
            try await db.execute("CREATE TABLE \(SQLQuoting.identifier(db.schema)).orders (id int PRIMARY KEY)")
            let options = try db.setupOptions(["\(db.schema).*"])
            let first = try await db.setup(options)
            #expect(first.createdAnything)
            let second = try await db.setup(options)
            #expect(!second.createdAnything)
            #expect(
                second.outcomes.map { "\($0.action.rawValue) \($0.object)" } == [
                    "already_existed publication \(db.publication)",
                    "already_existed replication slot \(db.slot)",
                ]
            )
            #expect(second.outcomes.allSatisfy { $0.detail == "created by an earlier siphon setup" })
            #expect(second.warnings.isEmpty)
            let records = try await db.query("SELECT count(*) FROM \(SQLQuoting.identifier(db.bookkeeping)).objects")
            #expect(records == [["4"]])

            // A table added later is reported, not silently published.
            try await db.execute("CREATE TABLE \(SQLQuoting.identifier(db.schema)).later (id int PRIMARY KEY)")
            let third = try await db.setup(options)
            #expect(!third.createdAnything)
            #expect(
                third.warnings == [
                    "publication \(db.publication) was left unchanged, but it does not publish \(db.schema).later"
                ]
            )
            _ = try await db.teardown()
            #expect(try await db.leftovers() == [])
        }
    }

    @Test func missingTableCreatesNothingAndSuggestsCloseMatches() async throws {
        try await AdminFixture.with { db in
            // A random table name, so that tables of tests running in parallel are no close match.
            let table = TestEnvironment.uniqueName("orders")
            let typo = table.replacingOccurrences(of: "orders", with: "ordrs")
            try await db.execute("CREATE TABLE \(SQLQuoting.identifier(db.schema)).\(table) (id int PRIMARY KEY)")
            let error = await #expect(throws: SiphonError.self) {
                try await db.setup(try db.setupOptions(["\(db.schema).\(typo)"]))
            }
            #expect(error?.code == .invalidConfiguration)
            #expect(
                error?.message
                    == "siphon setup created nothing: table \(db.schema).\(typo) does not exist; close matches: "
                    + "\(db.schema).\(table)"
            )
            #expect(try await db.leftovers() == [])
        }
    }

    @Test func mixedCaseNameWrittenWithoutQuotesSuggestsTheQuotedName() async throws {
        try await AdminFixture.with { db in
            let table = TestEnvironment.uniqueName("Orders")
            try await db.execute("CREATE TABLE \(SQLQuoting.identifier(db.schema)).\"\(table)\" (id int PRIMARY KEY)")
            let error = await #expect(throws: SiphonError.self) {
                try await db.setup(try db.setupOptions(["\(db.schema).\(table)"]))
            }
            #expect(
                error?.message
                    == "siphon setup created nothing: table \(db.schema).\(table.lowercased()) does not exist; close "
                    + "matches: \(db.schema).\"\(table)\""
            )
        }
    }

    @Test func tableWithoutPrimaryKeyIsRefusedAndNothingIsCreated() async throws {
        try await AdminFixture.with { db in
            let s = SQLQuoting.identifier(db.schema)
            try await db.execute(
                "CREATE TABLE \(s).orders (id int PRIMARY KEY)",
                "CREATE TABLE \(s).events (id int, payload text)"
            )
            let error = await #expect(throws: SiphonError.self) {
                try await db.setup(try db.setupOptions(["\(db.schema).*"]))
            }
            #expect(error?.code == .invalidConfiguration)
            #expect(
                error?.message
                    == "siphon setup created nothing: table \(db.schema).events has no primary key (and REPLICA "
                    + "IDENTITY DEFAULT), so UPDATE and DELETE on it cannot be replicated (and once it is published, "
                    + "PostgreSQL rejects them); add a primary key (ALTER TABLE \(db.schema).events ADD PRIMARY KEY "
                    + "(…);) or run setup with --replica-identity full"
            )
            #expect(try await db.leftovers() == [])
            #expect(try await db.replicaIdentity("events") == "d")
        }
    }

    @Test func everyProblemIsListedAtOnce() async throws {
        try await AdminFixture.with { db in
            let s = SQLQuoting.identifier(db.schema)
            try await db.execute(
                "CREATE TABLE \(s).events (id int)",
                "CREATE VIEW \(s).totals AS SELECT 1 AS n",
                "CREATE UNLOGGED TABLE \(s).scratch (id int PRIMARY KEY)"
            )
            let error = await #expect(throws: SiphonError.self) {
                try await db.setup(
                    try db.setupOptions([
                        "\(db.schema).events", "\(db.schema).totals", "\(db.schema).scratch", "\(db.schema).nope_*",
                    ])
                )
            }
            #expect(
                error?.message
                    == """
                    siphon setup created nothing because of 4 problems:
                    - \(db.schema).totals is a view, not a table; only tables can be published
                    - table \(db.schema).scratch is UNLOGGED, so its changes never reach the WAL and cannot be \
                    replicated; make it logged: ALTER TABLE \(db.schema).scratch SET LOGGED;
                    - \(db.schema).nope_* matches no table
                    - table \(db.schema).events has no primary key (and REPLICA IDENTITY DEFAULT), so UPDATE and \
                    DELETE on it cannot be replicated (and once it is published, PostgreSQL rejects them); add a \
                    primary key (ALTER TABLE \(db.schema).events ADD PRIMARY KEY (…);) or run setup with \
                    --replica-identity full
                    """
            )
            #expect(try await db.leftovers() == [])
        }
    }

    @Test func roleWithoutPrivilegesIsToldWhatToGrant() async throws {
        try await AdminFixture.with { db in
            try await db.execute("CREATE TABLE \(SQLQuoting.identifier(db.schema)).orders (id int PRIMARY KEY)")
            let error = await #expect(throws: SiphonError.self) {
                try await SiphonAdmin.setup(
                    try db.setupOptions(["\(db.schema).orders"]),
                    settings: try db.settings(user: "siphon_norepl"),
                    logger: db.logger
                )
            }
            let database = try TestEnvironment.database()
            #expect(
                error?.message
                    == """
                    siphon setup created nothing because of 3 problems:
                    - role siphon_norepl does not own \(db.schema).orders, and only a table's owner can add it to a \
                    publication; run setup as the owner or a superuser, or transfer ownership (ALTER TABLE … OWNER \
                    TO siphon_norepl;)
                    - role siphon_norepl has neither REPLICATION nor superuser, which creating a replication slot \
                    needs; as a superuser run: ALTER ROLE siphon_norepl REPLICATION;
                    - role siphon_norepl cannot create schemas or publications in database \(database); as its owner \
                    or a superuser run: GRANT CREATE ON DATABASE \(database) TO siphon_norepl;
                    """
            )
            #expect(try await db.leftovers() == [])
        }
    }

    @Test func oddIdentifiersWorkEndToEnd() async throws {
        try await AdminFixture.with(
            schema: TestEnvironment.uniqueName("My \"Odd\" Schema"),
            bookkeeping: TestEnvironment.uniqueName("Siphon Böök"),
            publication: TestEnvironment.uniqueName("Pub \"X\" ü")
        ) { db in
            let s = SQLQuoting.identifier(db.schema)
            try await db.execute(
                "CREATE TABLE \(s).\"Order Items\" (\"Id\" int PRIMARY KEY, \"select\" int)",
                "CREATE TABLE \(s).\"select\" (id int)",
                "CREATE TABLE \(s).\"it's\" (id int PRIMARY KEY)"
            )
            let patterns = [
                db.table("Order Items").description, db.table("select").description, db.table("it's").description,
            ]
            #expect(patterns[0] == "\(s).\"Order Items\"")
            let report = try await db.setup(try db.setupOptions(patterns, replicaIdentity: .full))
            #expect(report.tables == [db.table("Order Items"), db.table("it's"), db.table("select")])
            #expect(try await db.leftovers().count == 3)
            #expect(try await db.replicaIdentity("select") == "f")

            // The slot decodes changes through the publication, so its name made it into the catalog intact.
            try await db.execute("INSERT INTO \(s).\"Order Items\" VALUES (1, 2)")
            let changes = try await db.query(
                """
                SELECT count(*) FROM pg_logical_slot_peek_binary_changes('\(db.slot)', NULL, NULL,
                    'proto_version', '1',
                    'publication_names', \(SQLQuoting.literal(SQLQuoting.identifier(db.publication))))
                """
            )
            #expect(changes == [["4"]])

            let doctor = try await db.doctor(tables: patterns)
            #expect(doctor.checks.filter { $0.status != .ok } == [])

            _ = try await db.teardown()
            #expect(try await db.leftovers() == [])
            #expect(try await db.replicaIdentity("select") == "d")
            #expect(try await db.replicaIdentity("Order Items") == "d")
        }
    }

    @Test func teardownRestoresThePreviousIdentityIndex() async throws {
        try await AdminFixture.with { db in
            let s = SQLQuoting.identifier(db.schema)
            try await db.execute(
                "CREATE TABLE \(s).accounts (email text NOT NULL, name text)",
                "CREATE UNIQUE INDEX accounts_email ON \(s).accounts (email)",
                "ALTER TABLE \(s).accounts REPLICA IDENTITY USING INDEX accounts_email",
                "CREATE TABLE \(s).plain (id int PRIMARY KEY)",
                "ALTER TABLE \(s).plain REPLICA IDENTITY FULL"
            )
            let report = try await db.setup(
                try db.setupOptions(["\(db.schema).*"], replicaIdentity: .full)
            )
            #expect(
                report.outcomes.filter { $0.object.kind == .replicaIdentity }.map(\.description) == [
                    "created: replica identity of \(db.schema).accounts (FULL, was USING INDEX accounts_email)",
                    "already existed: replica identity of \(db.schema).plain (already FULL)",
                ]
            )
            let teardown = try await db.teardown()
            #expect(
                teardown.outcomes.filter { $0.object.kind == .replicaIdentity }.map(\.description) == [
                    "restored: replica identity of \(db.schema).accounts (back to USING INDEX accounts_email)"
                ]
            )
            #expect(try await db.replicaIdentity("accounts") == "i")
            #expect(try await db.replicaIdentity("plain") == "f")
        }
    }

    @Test func existingPublicationAndSlotAreLeftAloneByTeardown() async throws {
        try await AdminFixture.with { db in
            let s = SQLQuoting.identifier(db.schema)
            try await db.execute(
                "CREATE TABLE \(s).orders (id int PRIMARY KEY)",
                "CREATE TABLE \(s).other (id int PRIMARY KEY)",
                "CREATE PUBLICATION \(db.publication) FOR TABLE \(s).other WITH (publish = 'insert')"
            )
            let report = try await db.setup(try db.setupOptions(["\(db.schema).orders"]))
            let position: String =
                try await db.query(
                    "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '\(db.slot)'"
                ).first?.first.flatMap { $0 } ?? "?"
            let expected: [String] = [
                "created: schema \(db.bookkeeping)",
                "created: table \(db.bookkeeping).objects",
                "already existed: publication \(db.publication) (not created by Siphon; teardown leaves it)",
                "created: replication slot \(db.slot) (pgoutput, changes from \(position))",
            ]
            #expect(report.outcomes.map(\.description) == expected)
            #expect(
                report.warnings == [
                    "publication \(db.publication) was left unchanged, but it does not publish \(db.schema).orders",
                    "publication \(db.publication) was left unchanged, but it also publishes \(db.schema).other",
                    "publication \(db.publication) was left unchanged, but it does not publish update, delete, "
                        + "truncate",
                ]
            )
            _ = try await db.teardown()
            #expect(try await db.leftovers() == ["publication \(db.publication)"])
        }
    }

    @Test func schemaHoldingUnrecordedObjectsIsKept() async throws {
        try await AdminFixture.with { db in
            try await db.execute("CREATE TABLE \(SQLQuoting.identifier(db.schema)).orders (id int PRIMARY KEY)")
            _ = try await db.setup(try db.setupOptions(["\(db.schema).orders"]))
            try await db.execute("CREATE TABLE \(SQLQuoting.identifier(db.bookkeeping)).dead_letters (id int)")
            let teardown = try await db.teardown()
            #expect(
                teardown.outcomes.map(\.description).suffix(2) == [
                    "removed: table \(db.bookkeeping).objects",
                    "kept: schema \(db.bookkeeping) (it holds objects siphon setup did not record: table "
                        + "\(db.bookkeeping).dead_letters depends on schema \(db.bookkeeping))",
                ]
            )
            #expect(try await db.leftovers() == ["schema \(db.bookkeeping)"])
            let tables = try await db.query(
                "SELECT relname FROM pg_class WHERE relnamespace = '\(db.bookkeeping)'::regnamespace AND relkind = 'r'"
            )
            #expect(tables == [["dead_letters"]])
        }
    }

    @Test func activeSlotIsOnlyRemovedWithForce() async throws {
        try await AdminFixture.with { db in
            try await db.execute("CREATE TABLE \(SQLQuoting.identifier(db.schema)).orders (id int PRIMARY KEY)")
            _ = try await db.setup(try db.setupOptions(["\(db.schema).orders"]))
            let settings = try db.settings()
            let reader = try await ServerConnection.withConnection(settings: settings, logger: db.logger) {
                connection in
                do {
                    try await connection.streamChanges(
                        slot: db.slot,
                        options: PgOutputOptions(publications: [db.publication])
                    ) { _ in
                        let refusal = await #expect(throws: SiphonError.self) { try await db.teardown() }
                        #expect(refusal?.code == .slotUnavailable)
                        #expect(
                            refusal?.message
                                == "replication slot \(db.slot) is in use by PID \(connection.processID) (application "
                                + "'siphon'); nothing was removed. Stop that process and run teardown again, or use "
                                + "--force to terminate it"
                        )
                        #expect(try await db.leftovers().count == 3)

                        let forced = try await db.teardown(force: true)
                        #expect(
                            forced.outcomes.first?.description
                                == "removed: replication slot \(db.slot) (terminated PID "
                                + "\(connection.processID), which was reading it)"
                        )
                        #expect(try await db.leftovers() == [])
                    }
                    return "stream ended normally"
                } catch {
                    return "stream ended by the terminated connection"
                }
            }
            #expect(reader == "stream ended by the terminated connection")
        }
    }

    @Test func failedSlotCreationRemovesEverythingSetupCreated() async throws {
        let role = TestEnvironment.uniqueName("siphon_timeout")
        let password = try TestEnvironment.password()
        try await AdminFixture.with { db in
            try await db.execute(
                "CREATE TABLE \(SQLQuoting.identifier(db.schema)).orders (id int PRIMARY KEY, note text)",
                "CREATE ROLE \(role) LOGIN SUPERUSER PASSWORD \(SQLQuoting.literal(password))",
                "ALTER ROLE \(role) SET statement_timeout = '500ms'"
            )
            do {
                // Creating a slot waits for every transaction that has an xid; this one never ends in time.
                let error = try await ServerConnection.withConnection(
                    settings: try db.settings(),
                    replication: false,
                    logger: db.logger
                ) { blocker in
                    try await blocker.simpleQuery("BEGIN")
                    try await blocker.simpleQuery("SELECT txid_current()")
                    let error = await #expect(throws: SiphonError.self) {
                        try await SiphonAdmin.setup(
                            try db.setupOptions(["\(db.schema).orders"], replicaIdentity: .full),
                            settings: try db.settings(user: role),
                            logger: db.logger
                        )
                    }
                    try await blocker.simpleQuery("ROLLBACK")
                    return error
                }
                #expect(error?.serverError?.sqlState == "57014")
                #expect(
                    error?.message.hasPrefix(
                        "siphon setup failed creating replication slot \(db.slot) and removed everything it had "
                            + "created: server error 57014: canceling statement due to statement timeout"
                    ) == true
                )
                #expect(try await db.leftovers() == [])
                #expect(try await db.replicaIdentity("orders") == "d")
            } catch {
                try await db.execute("DROP OWNED BY \(role)", "DROP ROLE \(role)")
                throw error
            }
            try await db.execute("DROP OWNED BY \(role)", "DROP ROLE \(role)")
        }
    }
}
