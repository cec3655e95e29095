// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonEngine
import SiphonReplication
import SiphonTestSupport
import SiphonTrigger

/// A schema for the test's tables and a schema for Siphon's objects, both uniquely named and dropped afterwards, so
/// tests run in parallel and a failed test leaves nothing behind.
struct TriggerFixture {
    let schema: String
    let siphonSchema: String
    let logger = Logger(label: "siphon-trigger-test")

    init(schema: String? = nil) {
        self.schema = schema ?? TestEnvironment.uniqueName("trg")
        self.siphonSchema = TestEnvironment.uniqueName("siphon")
    }

    /// Runs `body` and always drops both schemas afterwards.
    static func with(schema: String? = nil, _ body: (TriggerFixture) async throws -> Void) async throws {
        let fixture = TriggerFixture(schema: schema)
        try await fixture.execute("CREATE SCHEMA \(TableName.quoteIdentifier(fixture.schema))")
        do {
            try await body(fixture)
        } catch {
            try? await fixture.cleanUp()
            throw error
        }
        try await fixture.cleanUp()
    }

    func cleanUp() async throws {
        try await self.execute(
            "DROP SCHEMA IF EXISTS \(TableName.quoteIdentifier(self.siphonSchema)) CASCADE",
            "DROP SCHEMA IF EXISTS \(TableName.quoteIdentifier(self.schema)) CASCADE")
    }

    /// Connection settings for the logical test cluster as `user`.
    func settings(user: String = "siphon", applicationName: String = "siphon-trigger-test") throws -> ConnectionSettings {
        var settings = try ConnectionSettings(
            url: "postgres://\(user):\(TestEnvironment.password())@\(TestEnvironment.host()):\(TestEnvironment.port())/"
                + "\(TestEnvironment.database())?sslmode=disable",
            environment: [:])
        settings.applicationName = applicationName
        return settings
    }

    /// `schema.name` of a table in the test's schema.
    func table(_ name: String) -> TableName { TableName(schema: self.schema, name) }

    /// The quoted test schema, for SQL.
    var s: String { TableName.quoteIdentifier(self.schema) }

    func outbox(
        _ tables: [TableCapture], name: String = "outbox", groups: [ConsumerGroup] = [ConsumerGroup()],
        captureOwnWrites: Bool = false
    ) -> CaptureSpecification {
        CaptureSpecification(
            schema: self.siphonSchema, target: .outbox(name: name), tables: tables, captureOwnWrites: captureOwnWrites,
            groups: groups)
    }

    func notify(_ tables: [TableCapture], channel: String) -> CaptureSpecification {
        CaptureSpecification(schema: self.siphonSchema, target: .notify(channel: channel), tables: tables)
    }

    func capture(_ table: String, _ configure: (inout TableCapture) -> Void = { _ in }) throws -> TableCapture {
        var capture = TableCapture(try TablePattern(parsing: table))
        configure(&capture)
        return capture
    }

    /// Runs statements one after another in one session (UTC, ISO dates, like Siphon's own sessions).
    func execute(_ statements: String...) async throws {
        try await ServerConnection.withConnection(settings: try self.settings(), replication: false, logger: self.logger) {
            connection in
            for statement in statements { try await connection.simpleQuery(statement) }
        }
    }

    /// Runs statements one after another in one session of `user`.
    func execute(as user: String, _ statements: String...) async throws {
        try await ServerConnection.withConnection(
            settings: try self.settings(user: user), replication: false, logger: self.logger
        ) { connection in
            for statement in statements { try await connection.simpleQuery(statement) }
        }
    }

    /// The SQLSTATE `statement` fails with in a session of `user`, or `nil` when it succeeds.
    func failure(as user: String, _ statement: String) async throws -> String? {
        do {
            try await self.execute(as: user, statement)
            return nil
        } catch let error as SiphonError where error.serverError != nil {
            return error.serverError?.sqlState
        }
    }

    /// Creates a login role that holds no privileges (password: the test password), runs `body` with its name, and
    /// always drops the role and whatever it was granted or owns.
    func withRole(_ prefix: String, _ body: (String) async throws -> Void) async throws {
        let role = TestEnvironment.uniqueName(prefix)
        try await self.execute(
            "CREATE ROLE \(role) LOGIN PASSWORD \(SQLQuoting.literal(try TestEnvironment.password()))")
        let drop = { try await self.execute("DROP OWNED BY \(role)", "DROP ROLE \(role)") }
        do {
            try await body(role)
        } catch {
            try? await drop()
            throw error
        }
        try await drop()
    }

    /// The rows of `sql`, as text.
    func query(_ sql: String) async throws -> [[String?]] {
        try await ServerConnection.withConnection(settings: try self.settings(), replication: false, logger: self.logger) {
            connection in
            try await connection.simpleQuery(sql).rows
        }
    }

    /// Every object in Siphon's schema, and every trigger in the test schema, as `kind name` lines.
    func leftovers() async throws -> [String] {
        let siphon = TableName.quoteIdentifier(self.siphonSchema)
        let rows = try await self.query(
            """
            SELECT 'schema ' || nspname FROM pg_namespace WHERE nspname = '\(self.siphonSchema)'
            UNION ALL SELECT 'relation ' || c.relname FROM pg_class c WHERE c.relnamespace = to_regnamespace('\(siphon)')
            UNION ALL SELECT 'function ' || p.proname FROM pg_proc p WHERE p.pronamespace = to_regnamespace('\(siphon)')
            UNION ALL SELECT 'trigger ' || t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                WHERE c.relnamespace = to_regnamespace('\(self.s)') AND NOT t.tgisinternal
            ORDER BY 1
            """)
        return rows.map { $0[0] ?? "" }
    }
}

extension TriggerFixture {
    /// A reader configuration for this fixture's outbox, polling fast so tests do not wait for the poll interval
    /// when they kill the wake-up connection.
    func readerConfiguration(
        outbox: String = "outbox", group: ConsumerGroup = ConsumerGroup(), maxBatchSize: Int = 1000
    ) throws -> OutboxConfiguration {
        OutboxConfiguration(
            connection: try self.settings(applicationName: "siphon-trigger-reader"), schema: self.siphonSchema,
            outbox: outbox, group: group, batchSize: maxBatchSize, pollInterval: .milliseconds(500))
    }

    /// Runs a reader while `body` runs, then stops it cleanly and waits for it.
    func withReader(
        _ configuration: OutboxConfiguration, sinks: [any ChangeSink],
        _ body: (OutboxPipeline) async throws -> Void
    ) async throws {
        let reader = OutboxPipeline(configuration: configuration, sinks: sinks, logger: self.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await reader.run() }
            do {
                try await body(reader)
            } catch {
                group.cancelAll()
                throw error
            }
            reader.stop()
            try await group.waitForAll()
        }
    }
}
