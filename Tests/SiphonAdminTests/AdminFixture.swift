// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonAdmin
import SiphonCore
import SiphonReplication
import SiphonTestSupport

/// Per-test names (a schema for the test's tables, a bookkeeping schema, a slot, a publication) on the logical test
/// cluster, and a clean-up that removes whatever the test left, so tests run in parallel.
struct AdminFixture {
    let schema: String
    let bookkeeping: String
    let slot: String
    let publication: String
    let logger = Logger(label: "siphon-admin-test")

    init(schema: String? = nil, bookkeeping: String? = nil, publication: String? = nil) {
        self.schema = schema ?? TestEnvironment.uniqueName("adm")
        self.bookkeeping = bookkeeping ?? TestEnvironment.uniqueName("siphon")
        self.slot = TestEnvironment.uniqueName("slot")
        self.publication = publication ?? TestEnvironment.uniqueName("pub")
    }

    /// Runs `body` and always removes the slot, publication and schemas afterwards.
    static func with(
        schema: String? = nil,
        bookkeeping: String? = nil,
        publication: String? = nil,
        _ body: (AdminFixture) async throws -> Void
    ) async throws {
        let fixture = AdminFixture(schema: schema, bookkeeping: bookkeeping, publication: publication)
        try await fixture.execute("CREATE SCHEMA \(SQLQuoting.identifier(fixture.schema))")
        do {
            try await body(fixture)
        } catch {
            try await fixture.cleanUp()
            throw error
        }
        try await fixture.cleanUp()
    }

    func settings(user: String = "siphon", password: String? = nil) throws -> ConnectionSettings {
        let password = try password ?? TestEnvironment.password()
        return try ConnectionSettings(
            url: "postgres://\(user):\(password)@\(TestEnvironment.host()):\(TestEnvironment.port())/"
                + "\(TestEnvironment.database())?sslmode=disable",
            environment: [:]
        )
    }

    /// `schema.name` of a table in the test's schema, as SQL writes it.
    func table(_ name: String) -> TableName { TableName(schema: self.schema, name) }

    func setupOptions(
        _ tables: [String],
        replicaIdentity: ReplicaIdentityChoice = .default
    ) throws -> SetupOptions {
        SetupOptions(
            slot: self.slot,
            publication: self.publication,
            tables: try TableSelection(parsing: tables),
            replicaIdentity: replicaIdentity,
            schema: self.bookkeeping
        )
    }

    func setup(_ options: SetupOptions) async throws -> SetupReport {
        try await SiphonAdmin.setup(options, settings: try self.settings(), logger: self.logger)
    }

    func teardown(force: Bool = false) async throws -> TeardownReport {
        try await SiphonAdmin.teardown(
            TeardownOptions(force: force, schema: self.bookkeeping),
            settings: try self.settings(),
            logger: self.logger
        )
    }

    func doctor(tables: [String]? = nil) async throws -> DoctorReport {
        await SiphonAdmin.doctor(
            DoctorOptions(
                slot: self.slot,
                publication: self.publication,
                tables: try tables.map { try TableSelection(parsing: $0) },
                schema: self.bookkeeping
            ),
            settings: try self.settings(),
            logger: self.logger
        )
    }

    /// Runs statements one after another on one session.
    func execute(_ statements: String...) async throws {
        try await ServerConnection.withConnection(
            settings: try self.settings(),
            replication: false,
            logger: self.logger
        ) { connection in
            for statement in statements { try await connection.simpleQuery(statement) }
        }
    }

    func query(_ sql: String) async throws -> [[String?]] {
        try await ServerConnection.withConnection(
            settings: try self.settings(),
            replication: false,
            logger: self.logger
        ) { connection in
            try await connection.simpleQuery(sql).rows
        }
    }

    /// What of this test's objects exists: slot, publication, bookkeeping schema.
    func leftovers() async throws -> [String] {
        try await self.query(
            """
            SELECT 'slot ' || slot_name FROM pg_replication_slots WHERE slot_name = \(SQLQuoting.literal(self.slot))
            UNION ALL SELECT 'publication ' || pubname FROM pg_publication
                WHERE pubname = \(SQLQuoting.literal(self.publication))
            UNION ALL SELECT 'schema ' || nspname FROM pg_namespace
                WHERE nspname = \(SQLQuoting.literal(self.bookkeeping))
            """
        ).map { $0[0] ?? "" }
    }

    /// `relreplident` of a table in the test's schema.
    func replicaIdentity(_ table: String) async throws -> String? {
        try await self.query(
            """
            SELECT c.relreplident FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = \(SQLQuoting.literal(self.schema)) AND c.relname = \(SQLQuoting.literal(table))
            """
        ).first?.first ?? nil
    }

    func cleanUp() async throws {
        try await self.execute(
            """
            SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
            WHERE slot_name = \(SQLQuoting.literal(self.slot)) AND NOT active
            """,
            "DROP PUBLICATION IF EXISTS \(SQLQuoting.identifier(self.publication))",
            "DROP SCHEMA IF EXISTS \(SQLQuoting.identifier(self.bookkeeping)) CASCADE",
            "DROP SCHEMA IF EXISTS \(SQLQuoting.identifier(self.schema)) CASCADE"
        )
    }
}
