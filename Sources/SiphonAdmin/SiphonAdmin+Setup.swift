// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonReplication

/// What `siphon setup` creates.
public struct SetupOptions: Sendable, Hashable {
    /// The logical replication slot (pgoutput) to create.
    public var slot: String
    /// The publication to create.
    public var publication: String
    /// The tables to publish.
    public var tables: TableSelection
    /// Whether to set `REPLICA IDENTITY FULL` on the tables.
    public var replicaIdentity: ReplicaIdentityChoice
    /// The schema for Siphon's bookkeeping table (`<schema>.objects`). One schema holds one installation:
    /// teardown removes everything recorded there.
    public var schema: String
    /// Recorded with every object as the command that made it.
    public var command: String

    public init(
        slot: String,
        publication: String,
        tables: TableSelection,
        replicaIdentity: ReplicaIdentityChoice = .default,
        schema: String = SiphonAdmin.defaultSchema,
        command: String = "siphon setup"
    ) {
        self.slot = slot
        self.publication = publication
        self.tables = tables
        self.replicaIdentity = replicaIdentity
        self.schema = schema
        self.command = command
    }
}

/// What `setup` did: every object it needs, and whether it created it or found it in place.
public struct SetupReport: Sendable, Hashable, CustomStringConvertible {
    /// One entry per object, in the order setup handled them.
    public var outcomes: [ObjectOutcome]
    /// The tables the publication covers, as SQL writes them (for all tables: those that exist today).
    public var tables: [TableName]
    /// Things a person should know that did not stop setup (tables a wildcard skipped, an existing publication
    /// that differs from the configuration, …).
    public var warnings: [String]

    /// Whether this run created anything (a second run with the same options creates nothing).
    public var createdAnything: Bool { self.outcomes.contains { $0.action == .created } }

    public var description: String {
        var lines = self.outcomes.map(\.description)
        lines.append(
            "tables: " + (self.tables.isEmpty ? "none" : self.tables.map(\.description).joined(separator: ", "))
        )
        lines += self.warnings.map { "warning: " + $0 }
        return lines.joined(separator: "\n")
    }

    /// `{"objects":[{"kind","name","action","detail"}…],"tables":[…],"warnings":[…]}` for scripts.
    public var json: String {
        "{\"objects\":[" + self.outcomes.map(\.json).joined(separator: ",") + "],\"tables\":["
            + self.tables.map { JSONText.string($0.description) }.joined(separator: ",") + "],\"warnings\":["
            + self.warnings.map { JSONText.string($0) }.joined(separator: ",") + "]}"
    }
}

extension SiphonAdmin {
    /// Creates what Siphon needs, each object only if it is missing, and records what it created in
    /// `<schema>.objects` so that `teardown` can remove exactly that.
    ///
    /// Everything is validated before anything is created (tables exist, have a usable replica identity, are
    /// owned by the role; `wal_level`; privileges; slot capacity), and an error lists every problem. The schema,
    /// bookkeeping table, publication and replica identities are created in one transaction; the slot is created
    /// after it commits (PostgreSQL cannot create it in a transaction that wrote), and if that fails the
    /// transaction's objects are removed again, so a failed setup leaves nothing behind.
    ///
    /// An existing publication is never changed; how it differs from `options` is reported in `warnings`.
    public static func setup(
        _ options: SetupOptions,
        settings: ConnectionSettings,
        logger: Logger
    ) async throws -> SetupReport {
        try Self.validateSlotName(options.slot)
        try TableName.validateIdentifier(options.publication, as: "publication")
        try TableName.validateIdentifier(options.schema, as: "schema")
        return try await ServerConnection.withConnection(settings: settings, replication: false, logger: logger) {
            connection in
            let session = AdminSession(connection: connection, logger: logger)
            let server = try await session.serverFacts()
            let plan = try SetupPlan(
                options: options,
                server: server,
                relations: try await session.relations(),
                slot: try await session.slot(named: options.slot, serverVersion: server.versionNumber),
                publication: try await session.publication(
                    named: options.publication,
                    serverVersion: server.versionNumber
                ),
                bookkeeping: try await session.bookkeeping(schema: options.schema)
            )
            return try await Self.execute(plan, session: session, server: server)
        }
    }

    private static func execute(
        _ plan: SetupPlan,
        session: AdminSession,
        server: ServerFacts
    ) async throws -> SetupReport {
        let options = plan.options
        let bookkeepingTable = plan.bookkeepingTable
        var outcomes: [ObjectOutcome] = []
        var warnings = plan.tables.notes
        var created: [ObjectRecord] = []

        func record(_ record: ObjectRecord) async throws -> ObjectRecord {
            let insert = record.insert(into: bookkeepingTable, command: options.command)
            try await session.execute(insert.sql, parameters: insert.parameters)
            return record
        }

        if plan.changesCatalog {
            created = try await session.transaction {
                var records: [ObjectRecord] = []
                if plan.createSchema {
                    try await session.execute("CREATE SCHEMA \(SQLQuoting.identifier(options.schema))")
                }
                if plan.createObjectsTable {
                    for statement in ObjectRecord.createTableSQL(bookkeepingTable) {
                        try await session.execute(statement)
                    }
                }
                if plan.createSchema {
                    records.append(try await record(ObjectRecord(kind: .schema, name: options.schema)))
                }
                if plan.createObjectsTable {
                    records.append(
                        try await record(
                            ObjectRecord(
                                kind: .table,
                                schemaName: bookkeepingTable.schema,
                                name: bookkeepingTable.table
                            )
                        )
                    )
                }
                if case .create(let sql) = plan.publication {
                    try await session.execute(sql)
                    records.append(try await record(ObjectRecord(kind: .publication, name: options.publication)))
                }
                for change in plan.identityChanges {
                    try await session.execute("ALTER TABLE \(change.table) REPLICA IDENTITY FULL")
                    records.append(
                        try await record(
                            ObjectRecord(
                                kind: .replicaIdentity,
                                schemaName: change.table.schema,
                                name: change.table.table,
                                previousIdentity: change.previous
                            )
                        )
                    )
                }
                return records
            }
        }
        for record in created {
            let detail: String?
            switch record.kind {
            case .publication:
                detail =
                    options.tables == .allTables
                    ? "FOR ALL TABLES"
                    : "FOR TABLE " + plan.tables.published.map(\.name.description).joined(separator: ", ")
            case .replicaIdentity: detail = "FULL, was \(record.previousIdentity?.description ?? "?")"
            case .schema, .table, .slot: detail = nil
            }
            outcomes.append(ObjectOutcome(object: record.object, action: .created, detail: detail))
        }
        if case .exists(let differences, let recorded) = plan.publication {
            let origin = recorded ? "created by an earlier siphon setup" : "not created by Siphon; teardown leaves it"
            outcomes.append(
                ObjectOutcome(
                    object: SiphonObject(kind: .publication, name: SQLQuoting.identifier(options.publication)),
                    action: .alreadyExisted,
                    detail: origin
                )
            )
            warnings += differences.map {
                "publication \(SQLQuoting.identifier(options.publication)) was left unchanged, but \($0)"
            }
        }
        for table in plan.identityAlreadyFull {
            outcomes.append(
                ObjectOutcome(
                    object: SiphonObject(kind: .replicaIdentity, name: table.description),
                    action: .alreadyExisted,
                    detail: "already FULL"
                )
            )
        }

        switch plan.slot {
        case .exists(let recorded):
            outcomes.append(
                ObjectOutcome(
                    object: SiphonObject(kind: .slot, name: options.slot),
                    action: .alreadyExisted,
                    detail: recorded
                        ? "created by an earlier siphon setup" : "not created by Siphon; teardown leaves it"
                )
            )
        case .create:
            var slotCreated = false
            do {
                let rows = try await session.rows(
                    "SELECT lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')", parameters: [options.slot]
                )
                slotCreated = true
                let record = try await record(ObjectRecord(kind: .slot, name: options.slot))
                created.append(record)
                let position = try rows.first?.optionalString("lsn")
                outcomes.append(
                    ObjectOutcome(
                        object: record.object,
                        action: .created,
                        detail: "pgoutput" + (position.map { ", changes from \($0)" } ?? "")
                    )
                )
            } catch {
                let failure = error
                var undo = created
                if slotCreated { undo.append(ObjectRecord(kind: .slot, name: options.slot)) }
                do {
                    _ = try await ObjectRemover(session: session, bookkeepingTable: bookkeepingTable, server: server)
                        .remove(undo, force: false)
                } catch {
                    throw SiphonError(
                        (failure as? SiphonError)?.code ?? .serverError,
                        "siphon setup failed creating replication slot \(options.slot): \(failure); removing what "
                            + "it had created also failed (\(error)); run siphon teardown to remove the objects "
                            + "recorded in \(bookkeepingTable)",
                        serverError: (failure as? SiphonError)?.serverError,
                        underlying: failure
                    )
                }
                throw SiphonError(
                    (failure as? SiphonError)?.code ?? .serverError,
                    "siphon setup failed creating replication slot \(options.slot) and removed everything it had "
                        + "created: \(failure)",
                    serverError: (failure as? SiphonError)?.serverError,
                    underlying: failure
                )
            }
        }
        return SetupReport(
            outcomes: outcomes,
            tables: plan.tables.published.map(\.name),
            warnings: warnings
        )
    }
}
