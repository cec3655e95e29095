// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Everything `setup` will do, decided from the catalog before anything is created. Pure: built from facts,
/// tested with plain values. Building it throws when anything would stop setup half-way.
struct SetupPlan: Sendable {
    enum PublicationStep: Sendable, Hashable {
        /// `CREATE PUBLICATION` with this SQL.
        case create(String)
        /// It exists; `differences` says how it differs from the configuration (setup does not change it).
        case exists(differences: [String], recorded: Bool)

        var creates: Bool {
            if case .create = self { return true }
            return false
        }
    }

    enum SlotStep: Sendable, Hashable {
        case create
        case exists(recorded: Bool)

        var creates: Bool {
            if case .create = self { return true }
            return false
        }
    }

    var options: SetupOptions
    var tables: ResolvedTables
    var createSchema = false
    var createObjectsTable = false
    var publication: PublicationStep
    /// Tables to set `REPLICA IDENTITY FULL` on, with what they had before.
    var identityChanges: [(table: TableName, previous: ReplicaIdentity)] = []
    /// Tables that already have `REPLICA IDENTITY FULL`.
    var identityAlreadyFull: [TableName] = []
    var slot: SlotStep

    var bookkeepingTable: TableName { TableName(schema: self.options.schema, SiphonAdmin.objectsTableName) }

    /// Whether anything needs a transaction (everything but the slot).
    var changesCatalog: Bool {
        self.publication.creates || self.createSchema || self.createObjectsTable || !self.identityChanges.isEmpty
    }

    init(
        options: SetupOptions,
        server: ServerFacts,
        relations: [CatalogRelation],
        slot: SlotFacts?,
        publication: PublicationFacts?,
        bookkeeping: BookkeepingFacts
    ) throws(SiphonError) {
        self.options = options
        var problems = Problems()
        let role = SQLQuoting.identifier(server.role)

        if server.versionNumber < 120000 {
            problems.add(.serverError, "PostgreSQL \(server.version) is too old; Siphon needs 12 or later")
        }
        if server.walLevel != "logical" {
            problems.add(
                .serverError,
                "wal_level is '\(server.walLevel)', but logical replication needs 'logical'; run "
                    + "ALTER SYSTEM SET wal_level = logical; and restart PostgreSQL"
            )
        }
        if server.isInRecovery {
            problems.add(.serverError, "the server is a standby (in recovery); run setup against the primary")
        }

        self.tables = ResolvedTables(
            options.tables,
            relations: relations,
            serverVersion: server.versionNumber,
            bookkeepingSchema: options.schema
        )
        for problem in self.tables.problems { problems.add(.invalidConfiguration, problem) }

        // Publication.
        if let publication {
            let comparison = PublicationComparison(
                publication,
                wanted: options.tables,
                resolved: self.tables,
                relations: relations,
                serverVersion: server.versionNumber
            )
            let recorded = bookkeeping.records.contains {
                $0.kind == .publication && $0.name == options.publication
            }
            self.publication = .exists(differences: comparison.differences, recorded: recorded)
        } else {
            let target: String
            switch options.tables {
            case .allTables:
                target = "FOR ALL TABLES"
                if !server.isSuperuser {
                    problems.add(
                        .authenticationFailed,
                        "publishing all tables (FOR ALL TABLES) needs a superuser, and role \(role) is not one; "
                            + "name the tables instead (e.g. 'public.*')"
                    )
                }
            case .matching:
                target = "FOR TABLE " + self.tables.published.map(\.name.description).joined(separator: ", ")
                let notOwned = self.tables.published.filter { !$0.isOwned }
                if !notOwned.isEmpty {
                    problems.add(
                        .authenticationFailed,
                        "role \(role) does not own " + notOwned.map(\.name.description).joined(separator: ", ")
                            + ", and only a table's owner can add it to a publication; run setup as the owner "
                            + "or a superuser, or transfer ownership (ALTER TABLE … OWNER TO \(role);)"
                    )
                }
            }
            self.publication = .create(
                "CREATE PUBLICATION \(SQLQuoting.identifier(options.publication)) \(target)"
            )
        }

        // Replica identity.
        switch options.replicaIdentity {
        case .default:
            for table in self.tables.identityTargets {
                guard let problem = table.identityProblem else { continue }
                let fix =
                    table.hasPrimaryKey && table.replicaIdentity == .nothing
                    ? "restore it (ALTER TABLE \(table.name) REPLICA IDENTITY DEFAULT;)"
                    : "add a primary key (ALTER TABLE \(table.name) ADD PRIMARY KEY (…);)"
                problems.add(
                    .invalidConfiguration,
                    "table \(table.name) \(problem), so UPDATE and DELETE on it cannot be replicated (and once it "
                        + "is published, PostgreSQL rejects them); \(fix) or run setup with --replica-identity "
                        + "full"
                )
            }
        case .full:
            for table in self.tables.identityTargets {
                if table.replicaIdentity == .full {
                    self.identityAlreadyFull.append(table.name)
                } else {
                    self.identityChanges.append((table.name, table.replicaIdentity))
                }
            }
            let notOwned = self.tables.identityTargets.filter { !$0.isOwned && $0.replicaIdentity != .full }
            if !notOwned.isEmpty {
                problems.add(
                    .authenticationFailed,
                    "role \(role) does not own " + notOwned.map(\.name.description).joined(separator: ", ")
                        + ", so it cannot change their replica identity; run setup as the owner or a superuser"
                )
            }
        }

        // Slot.
        if let slot {
            switch slot.mismatch(expectedDatabase: server.database) {
            case .physical:
                problems.add(
                    .slotUnavailable,
                    "replication slot \(slot.name) exists but is a physical slot; choose another slot name, or "
                        + "drop it: SELECT pg_drop_replication_slot(\(SQLQuoting.literal(slot.name)));"
                )
            case .plugin(let plugin):
                problems.add(
                    .slotUnavailable,
                    "replication slot \(slot.name) exists but uses the plugin '\(plugin ?? "")' instead of "
                        + "pgoutput; choose another slot name, or drop it: "
                        + "SELECT pg_drop_replication_slot(\(SQLQuoting.literal(slot.name)));"
                )
            case .database(let database):
                problems.add(
                    .slotUnavailable,
                    "replication slot \(slot.name) belongs to database \(database ?? "?"), not "
                        + "\(server.database); choose another slot name or connect to that database"
                )
            case nil:
                break
            }
            let recorded = bookkeeping.records.contains { $0.kind == .slot && $0.name == slot.name }
            self.slot = .exists(recorded: recorded)
        } else {
            self.slot = .create
            if !server.isSuperuser && !server.hasReplication {
                problems.add(
                    .authenticationFailed,
                    "role \(role) has neither REPLICATION nor superuser, which creating a replication slot "
                        + "needs; as a superuser run: ALTER ROLE \(role) REPLICATION;"
                )
            }
            if server.usedReplicationSlots >= server.maxReplicationSlots {
                problems.add(
                    .serverError,
                    "all \(server.maxReplicationSlots) replication slots are in use (max_replication_slots); "
                        + "drop unused ones (SELECT pg_drop_replication_slot('<name>');) or raise it: "
                        + "ALTER SYSTEM SET max_replication_slots = \(server.maxReplicationSlots + 4); and restart"
                )
            }
        }

        // Bookkeeping: needed as soon as anything gets created.
        if self.publication.creates || self.slot.creates || !self.identityChanges.isEmpty {
            self.createSchema = !bookkeeping.schemaExists
            self.createObjectsTable = !bookkeeping.tableExists
        }
        if (self.createSchema || self.publication.creates) && !server.canCreateInDatabase {
            problems.add(
                .authenticationFailed,
                "role \(role) cannot create schemas or publications in database "
                    + "\(SQLQuoting.identifier(server.database)); as its owner or a superuser run: "
                    + "GRANT CREATE ON DATABASE \(SQLQuoting.identifier(server.database)) TO \(role);"
            )
        }
        if bookkeeping.schemaExists && self.createObjectsTable && !bookkeeping.canCreateInSchema {
            problems.add(
                .authenticationFailed,
                "role \(role) cannot create Siphon's bookkeeping table in schema "
                    + "\(SQLQuoting.identifier(options.schema)); run: GRANT CREATE ON SCHEMA "
                    + "\(SQLQuoting.identifier(options.schema)) TO \(role);"
            )
        }

        try problems.throwIfAny()
    }
}

/// The reasons setup refuses to start, collected so that one error lists them all.
private struct Problems {
    private var found: [(code: SiphonError.Code, message: String)] = []

    mutating func add(_ code: SiphonError.Code, _ message: String) {
        self.found.append((code, message))
    }

    /// Throws one error naming every problem; its code is the first problem's.
    func throwIfAny() throws(SiphonError) {
        guard let first = self.found.first else { return }
        if self.found.count == 1 {
            throw SiphonError(first.code, "siphon setup created nothing: \(first.message)")
        }
        throw SiphonError(
            first.code,
            "siphon setup created nothing because of \(self.found.count) problems:\n"
                + self.found.map { "- " + $0.message }.joined(separator: "\n")
        )
    }
}
