// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonAdmin
import SiphonCore
import SiphonReplication
import SiphonTestSupport
import Testing

@Suite struct DoctorTests {
    @Test func healthySetupIsAllOK() async throws {
        try await AdminFixture.with { db in
            let s = SQLQuoting.identifier(db.schema)
            try await db.execute(
                "CREATE TABLE \(s).orders (id int PRIMARY KEY, qty int, placed_at timestamptz)",
                "CREATE TABLE \(s).notes (id int PRIMARY KEY, body text)"
            )
            _ = try await db.setup(
                try db.setupOptions(["\(db.schema).orders", "\(db.schema).notes"], replicaIdentity: .full)
            )
            let report = try await db.doctor(tables: ["\(db.schema).*"])
            #expect(report.checks.filter { $0.status != .ok } == [])
            #expect(!report.blocksRunning)
            #expect(
                report.checks.map(\.name) == [
                    "connection", "server_version", "wal_level", "replication_slots", "wal_senders",
                    "role_replication", "table_select", "slot", "slot_wal_status", "slot_retained_wal",
                    "publication", "publication_tables", "publication_operations", "primary_key", "toast_identity",
                ]
            )
            #expect(
                report.checks(named: "slot").first?.message
                    == "replication slot \(db.slot) (pgoutput) exists and is not in use"
            )
            #expect(report.json.hasPrefix("{\"blocks_running\":false,\"status\":\"ok\",\"summary\":{\"ok\":15,"))
            _ = try await db.teardown()
        }
    }

    @Test func reportsTheMissingSlotAndPublicationWithTheirFix() async throws {
        try await AdminFixture.with { db in
            try await db.execute("CREATE TABLE \(SQLQuoting.identifier(db.schema)).orders (id int PRIMARY KEY)")
            let report = try await db.doctor(tables: ["\(db.schema).orders"])
            #expect(report.blocksRunning)
            #expect(
                report.checks(named: "slot") == [
                    DoctorReport.Check(
                        name: "slot",
                        subject: db.slot,
                        status: .error,
                        message: "replication slot \(db.slot) does not exist",
                        fix: "siphon setup, or: SELECT pg_create_logical_replication_slot('\(db.slot)', 'pgoutput');"
                    )
                ]
            )
            #expect(
                report.checks(named: "publication") == [
                    DoctorReport.Check(
                        name: "publication",
                        subject: db.publication,
                        status: .error,
                        message: "publication \(db.publication) does not exist",
                        fix: "siphon setup, or: CREATE PUBLICATION \(db.publication) FOR TABLE \(db.schema).orders;"
                    )
                ]
            )
            #expect(report.checks.filter { $0.status == .error }.count == 2)
        }
    }

    @Test func reportsTablesWithoutPrimaryKeyAndTOASTableColumnsWithoutFull() async throws {
        try await AdminFixture.with { db in
            let s = SQLQuoting.identifier(db.schema)
            try await db.execute(
                "CREATE TABLE \(s).events (id int, kind int)",
                "CREATE TABLE \(s).\"Docs\" (id int PRIMARY KEY, body text, \"Meta Data\" jsonb, n int)",
                "CREATE TABLE \(s).wide (id int PRIMARY KEY, body text)",
                "ALTER TABLE \(s).wide REPLICA IDENTITY FULL"
            )
            let report = try await db.doctor(tables: ["\(db.schema).*"])
            let events = db.table("events").description
            #expect(
                report.checks(named: "primary_key") == [
                    DoctorReport.Check(
                        name: "primary_key",
                        subject: events,
                        status: .error,
                        message: "table \(events) has no primary key (and REPLICA IDENTITY DEFAULT), so UPDATE and "
                            + "DELETE on it cannot be replicated (and once it is published, PostgreSQL rejects them)",
                        fix: "ALTER TABLE \(events) ADD PRIMARY KEY (<key columns>);\n"
                            + "or: ALTER TABLE \(events) REPLICA IDENTITY FULL;"
                    )
                ]
            )
            let docs = db.table("Docs").description
            #expect(
                report.checks(named: "toast_identity") == [
                    DoctorReport.Check(
                        name: "toast_identity",
                        subject: docs,
                        status: .warning,
                        message: "table \(docs) has TOAST-able columns body, \"Meta Data\" without REPLICA IDENTITY "
                            + "FULL: old values of unchanged large columns will not be in UPDATE/DELETE",
                        fix: "ALTER TABLE \(docs) REPLICA IDENTITY FULL;"
                    )
                ]
            )
            #expect(report.blocksRunning)
        }
    }

    @Test func reportsMissingAndExtraPublishedTables() async throws {
        try await AdminFixture.with { db in
            let s = SQLQuoting.identifier(db.schema)
            try await db.execute(
                "CREATE TABLE \(s).orders (id int PRIMARY KEY)",
                "CREATE TABLE \(s).items (id int PRIMARY KEY)",
                "CREATE TABLE \(s).audit (id int PRIMARY KEY)",
                "CREATE PUBLICATION \(db.publication) FOR TABLE \(s).orders, \(s).audit"
            )
            let report = try await db.doctor(tables: ["\(db.schema).orders", "\(db.schema).items"])
            #expect(
                report.checks(named: "publication_tables").map { "\($0.status): \($0.message) | \($0.fix ?? "")" } == [
                    "error: publication \(db.publication) does not publish the configured tables \(db.schema).items, "
                        + "so their changes never arrive | ALTER PUBLICATION \(db.publication) ADD TABLE "
                        + "\(db.schema).items;",
                    "warning: publication \(db.publication) also publishes \(db.schema).audit, which are not "
                        + "configured | ALTER PUBLICATION \(db.publication) DROP TABLE \(db.schema).audit;",
                ]
            )
        }
    }

    @Test func activeSlotNamesTheReadingProcess() async throws {
        try await AdminFixture.with { db in
            try await db.execute("CREATE TABLE \(SQLQuoting.identifier(db.schema)).orders (id int PRIMARY KEY)")
            _ = try await db.setup(try db.setupOptions(["\(db.schema).orders"]))
            try await ServerConnection.withConnection(settings: try db.settings(), logger: db.logger) {
                connection in
                try await connection.streamChanges(
                    slot: db.slot,
                    options: PgOutputOptions(publications: [db.publication])
                ) { _ in
                    let report = try await db.doctor()
                    #expect(
                        report.checks(named: "slot").first?.message
                            == "replication slot \(db.slot) (pgoutput) is active, read by PID "
                            + "\(connection.processID) (application 'siphon')"
                    )
                }
            }
            _ = try await db.teardown()
            #expect(try await db.leftovers() == [])
        }
    }

    @Test func replicaOnlyClusterReportsWALLevelWithTheFix() async throws {
        let settings = try ConnectionSettings(
            url: try TestEnvironment.value("SIPHON_TEST_REPLICA_URL"),
            environment: [:]
        )
        let report = await SiphonAdmin.doctor(DoctorOptions(), settings: settings, logger: Logger(label: "test"))
        #expect(
            report.checks(named: "wal_level") == [
                DoctorReport.Check(
                    name: "wal_level",
                    status: .error,
                    message: "wal_level is 'replica', but logical replication needs 'logical'",
                    fix: "ALTER SYSTEM SET wal_level = logical; -- then restart PostgreSQL"
                )
            ]
        )
        #expect(report.checks(named: "connection").first?.status == .ok)
        #expect(report.blocksRunning)
    }

    @Test func wrongPasswordIsAFailedConnectionCheck() async throws {
        let db = AdminFixture()
        let report = await SiphonAdmin.doctor(
            DoctorOptions(slot: db.slot),
            settings: try db.settings(password: "wrong"),
            logger: db.logger
        )
        #expect(report.checks.count == 1)
        let check = try #require(report.checks.first)
        #expect(check.name == "connection")
        #expect(check.status == .error)
        #expect(
            check.message
                == "cannot connect: server error 28P01: password authentication failed for user \"siphon\"; check the "
                + "user name and password (URL or PGPASSWORD) and the server's pg_hba.conf"
        )
        #expect(
            check.fix
                == "use the right password in the connection URL or PGPASSWORD; a superuser can set a new one: "
                + "ALTER ROLE siphon PASSWORD '<new password>';"
        )
        #expect(report.blocksRunning)
    }
}
