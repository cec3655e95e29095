// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// What the server says about itself and the connected role: everything setup and doctor decide on.
struct ServerFacts: Sendable, Hashable {
    /// `server_version_num`, e.g. 150018.
    var versionNumber: Int
    /// `server_version`, e.g. `15.18 (Debian 15.18-0+deb12u1)`.
    var version: String
    var walLevel: String
    var database: String
    var role: String
    var isSuperuser: Bool
    var hasReplication: Bool
    /// `CREATE` on the current database (needed for `CREATE SCHEMA` and `CREATE PUBLICATION`).
    var canCreateInDatabase: Bool
    var maxReplicationSlots: Int
    var usedReplicationSlots: Int
    var maxWALSenders: Int
    var usedWALSenders: Int
    /// `max_slot_wal_keep_size` in bytes; `nil` when unlimited (-1) or unknown (before PostgreSQL 13).
    var maxSlotWALKeepSize: Int64?
    var maxWALSize: Int64
    var isInRecovery: Bool
}

/// A table-like relation outside the system schemas.
struct CatalogRelation: Sendable, Hashable {
    enum Kind: String, Sendable, Hashable {
        case table = "r"
        case partitionedTable = "p"
        case view = "v"
        case materializedView = "m"
        case foreignTable = "f"

        var noun: String {
            switch self {
            case .table: return "table"
            case .partitionedTable: return "partitioned table"
            case .view: return "view"
            case .materializedView: return "materialized view"
            case .foreignTable: return "foreign table"
            }
        }
    }

    var oid: Int64
    var name: TableName
    var kind: Kind
    /// `relpersistence = 'u'`: never in the WAL, so never replicated.
    var isUnlogged: Bool
    var replicaIdentity: ReplicaIdentity
    var hasPrimaryKey: Bool
    var isPartition: Bool
    /// For a partition, the top-most partitioned table above it.
    var partitionRoot: Int64?
    var canSelect: Bool
    /// The connected role has the owner's rights (owner, member of the owner role, or superuser).
    var isOwned: Bool
    /// Columns whose storage is not `plain`, so unchanged large values may be left out of the WAL (quoted names).
    var toastableColumns: [String]
}

/// `relreplident` and, for `USING INDEX`, the index: what old-row values a table writes to the WAL.
enum ReplicaIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The primary key's columns (nothing when there is no primary key).
    case `default`
    case nothing
    case full
    /// `USING INDEX`; `nil` when the index was dropped, which leaves the table as if `NOTHING`.
    case index(String?)

    init(code: String, index: String?) throws(SiphonError) {
        switch code {
        case "d": self = .default
        case "n": self = .nothing
        case "f": self = .full
        case "i": self = .index(index)
        default: throw SiphonError(.protocolViolation, "unknown relreplident '\(code)'")
        }
    }

    /// The clause after `ALTER TABLE … REPLICA IDENTITY`.
    var sql: String {
        switch self {
        case .default: return "DEFAULT"
        case .nothing: return "NOTHING"
        case .full: return "FULL"
        case .index(let name): return "USING INDEX " + SQLQuoting.identifier(name ?? "")
        }
    }

    var description: String {
        switch self {
        case .index(nil): return "USING INDEX (dropped index)"
        default: return self.sql
        }
    }
}

/// One row of `pg_replication_slots`, plus who holds it.
struct SlotFacts: Sendable, Hashable {
    var name: String
    var plugin: String?
    var isLogical: Bool
    var database: String?
    var isTemporary: Bool
    var isActive: Bool
    var activePID: Int64?
    var holderApplication: String?
    /// `reserved`, `extended`, `unreserved`, `lost` (PostgreSQL 13+); `nil` before.
    var walStatus: String?
    /// WAL between the slot's `restart_lsn` and the current position.
    var retainedBytes: Int64?

    func mismatch(expectedDatabase: String) -> SlotMismatch? {
        SlotMismatch(
            slotType: self.isLogical ? "logical" : "physical", plugin: self.plugin, database: self.database,
            expectedDatabase: expectedDatabase)
    }
}

/// A publication and the tables it effectively publishes.
struct PublicationFacts: Sendable, Hashable {
    var name: String
    var allTables: Bool
    /// Tables listed with `FOR TABLE` or, on PostgreSQL 15+, in a schema listed with `FOR TABLES IN SCHEMA`.
    var tables: Set<TableName>
    var operations: [String: Bool]

    static let operationNames = ["insert", "update", "delete", "truncate"]

    var missingOperations: [String] {
        Self.operationNames.filter { self.operations[$0] != true }
    }
}

/// What the bookkeeping schema holds.
struct BookkeepingFacts: Sendable, Hashable {
    var schema: String
    var schemaExists: Bool
    var canCreateInSchema: Bool
    var tableExists: Bool
    var records: [ObjectRecord]

    var objectsTable: TableName { TableName(schema: self.schema, SiphonAdmin.objectsTableName) }
}

extension AdminSession {
    func serverFacts() async throws -> ServerFacts {
        let rows = try await self.rows(
            """
            SELECT current_setting('server_version_num') AS version_number,
                   current_setting('server_version') AS version,
                   current_setting('wal_level') AS wal_level,
                   current_database() AS database,
                   current_user AS role,
                   r.rolsuper AS superuser,
                   r.rolreplication AS replication,
                   has_database_privilege(current_database(), 'CREATE') AS can_create,
                   current_setting('max_replication_slots') AS max_slots,
                   (SELECT count(*) FROM pg_replication_slots) AS used_slots,
                   current_setting('max_wal_senders') AS max_senders,
                   (SELECT count(*) FROM pg_stat_replication) AS used_senders,
                   (SELECT setting FROM pg_settings WHERE name = 'max_slot_wal_keep_size') AS keep_size,
                   (SELECT unit FROM pg_settings WHERE name = 'max_slot_wal_keep_size') AS keep_size_unit,
                   (SELECT setting FROM pg_settings WHERE name = 'max_wal_size') AS max_wal_size,
                   (SELECT unit FROM pg_settings WHERE name = 'max_wal_size') AS max_wal_size_unit,
                   pg_is_in_recovery() AS in_recovery
            FROM pg_roles r WHERE r.rolname = current_user
            """
        )
        guard let row = rows.first else {
            throw SiphonError(.protocolViolation, "the connected role is missing from pg_roles")
        }
        let keepSize = try row.optionalInt("keep_size")
        return ServerFacts(
            versionNumber: Int(try row.int("version_number")),
            version: try row.string("version"),
            walLevel: try row.string("wal_level"),
            database: try row.string("database"),
            role: try row.string("role"),
            isSuperuser: try row.bool("superuser"),
            hasReplication: try row.bool("replication"),
            canCreateInDatabase: try row.bool("can_create"),
            maxReplicationSlots: Int(try row.int("max_slots")),
            usedReplicationSlots: Int(try row.int("used_slots")),
            maxWALSenders: Int(try row.int("max_senders")),
            usedWALSenders: Int(try row.int("used_senders")),
            maxSlotWALKeepSize: try keepSize.flatMap { size in
                size < 0 ? nil : size * Self.unitBytes(try row.optionalString("keep_size_unit"))
            },
            maxWALSize: try row.int("max_wal_size") * Self.unitBytes(try row.optionalString("max_wal_size_unit")),
            isInRecovery: try row.bool("in_recovery")
        )
    }

    /// `pg_settings.unit` as a byte multiplier (`8kB`, `MB`, …).
    static func unitBytes(_ unit: String?) -> Int64 {
        guard let unit, !unit.isEmpty else { return 1 }
        let digits = unit.prefix(while: \.isNumber)
        let factor = Int64(digits) ?? 1
        switch unit.dropFirst(digits.count) {
        case "kB": return factor * 1024
        case "MB": return factor * 1024 * 1024
        case "GB": return factor * 1024 * 1024 * 1024
        case "TB": return factor * 1024 * 1024 * 1024 * 1024
        default: return factor
        }
    }

    /// Every table, partitioned table, view, materialized view and foreign table outside the system schemas.
    func relations() async throws -> [CatalogRelation] {
        let rows = try await self.rows(
            """
            SELECT c.oid, n.nspname, c.relname, c.relkind, c.relpersistence, c.relreplident, c.relispartition,
                   EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_primary_key,
                   (SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                     WHERE i.indrelid = c.oid AND i.indisreplident) AS identity_index,
                   has_table_privilege(c.oid, 'SELECT') AS can_select,
                   pg_has_role(c.relowner, 'USAGE') AS is_owned,
                   CASE WHEN c.relispartition THEN pg_partition_root(c.oid)::oid END AS partition_root,
                   (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
                     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attstorage <> 'p'
                   ) AS toastable_columns
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
              AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'
            ORDER BY n.nspname, c.relname
            """
        )
        return try rows.map { row in
            let kindCode = try row.string("relkind")
            guard let kind = CatalogRelation.Kind(rawValue: kindCode) else {
                throw SiphonError(.protocolViolation, "unexpected relkind '\(kindCode)'")
            }
            return CatalogRelation(
                oid: try row.int("oid"),
                name: TableName(schema: try row.string("nspname"), try row.string("relname")),
                kind: kind,
                isUnlogged: try row.string("relpersistence") == "u",
                replicaIdentity: try ReplicaIdentity(
                    code: try row.string("relreplident"),
                    index: try row.optionalString("identity_index")
                ),
                hasPrimaryKey: try row.bool("has_primary_key"),
                isPartition: try row.bool("relispartition"),
                partitionRoot: try row.optionalInt("partition_root"),
                canSelect: try row.bool("can_select"),
                isOwned: try row.bool("is_owned"),
                toastableColumns: try row.optionalString("toastable_columns")?
                    .split(separator: ", ").map(String.init) ?? []
            )
        }
    }

    /// What `siphon.snapshots` (made by `siphon run` on the first snapshot request) records for `slot`; none when
    /// the table does not exist.
    func snapshots(ofSlot slot: String) async throws -> [SnapshotFacts] {
        guard try await self.rows("SELECT to_regclass('siphon.snapshots') IS NOT NULL AS present").first?.bool("present")
            ?? false
        else { return [] }
        return try await self.rows(
            """
            SELECT schema_name, table_name, state, rows_done, rows_estimated, error
            FROM siphon.snapshots WHERE slot = $1 ORDER BY id
            """, parameters: [slot]
        ).map { row in
            SnapshotFacts(
                table: TableName(schema: try row.string("schema_name"), try row.string("table_name")),
                state: try row.string("state"), rowsDone: try row.int("rows_done"),
                rowsEstimated: try row.optionalString("rows_estimated").flatMap { Int64($0) },
                error: try row.optionalString("error"))
        }
    }

    func slot(named name: String, serverVersion: Int) async throws -> SlotFacts? {
        let walStatus = serverVersion >= 130000 ? "s.wal_status" : "NULL::text"
        let rows = try await self.rows(
            """
            SELECT s.slot_name, s.plugin, s.slot_type, s.database, s.temporary, s.active, s.active_pid,
                   \(walStatus) AS wal_status,
                   pg_wal_lsn_diff(
                       CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
                       s.restart_lsn)::bigint AS retained_bytes,
                   (SELECT a.application_name FROM pg_stat_activity a WHERE a.pid = s.active_pid) AS holder
            FROM pg_replication_slots s WHERE s.slot_name = $1
            """, parameters: [name]
        )
        guard let row = rows.first else { return nil }
        return SlotFacts(
            name: try row.string("slot_name"),
            plugin: try row.optionalString("plugin"),
            isLogical: try row.string("slot_type") == "logical",
            database: try row.optionalString("database"),
            isTemporary: try row.bool("temporary"),
            isActive: try row.bool("active"),
            activePID: try row.optionalInt("active_pid"),
            holderApplication: try row.optionalString("holder"),
            walStatus: try row.optionalString("wal_status"),
            retainedBytes: try row.optionalInt("retained_bytes")
        )
    }

    func publication(named name: String, serverVersion: Int) async throws -> PublicationFacts? {
        let rows = try await self.rows(
            """
            SELECT puballtables, pubinsert, pubupdate, pubdelete, pubtruncate
            FROM pg_publication WHERE pubname = $1
            """, parameters: [name]
        )
        guard let row = rows.first else { return nil }
        let schemaTables =
            serverVersion >= 150000
            ? """
            UNION
            SELECT n.nspname, c.relname
            FROM pg_publication_namespace pn JOIN pg_publication p ON p.oid = pn.pnpubid
            JOIN pg_class c ON c.relnamespace = pn.pnnspid AND c.relkind IN ('r', 'p') AND NOT c.relispartition
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE p.pubname = $1
            """
            : ""
        let tables = try await self.rows(
            """
            SELECT n.nspname, c.relname
            FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
            JOIN pg_class c ON c.oid = pr.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE p.pubname = $1
            \(schemaTables)
            """, parameters: [name]
        )
        return PublicationFacts(
            name: name,
            allTables: try row.bool("puballtables"),
            tables: Set(try tables.map { TableName(schema: try $0.string("nspname"), try $0.string("relname")) }),
            operations: [
                "insert": try row.bool("pubinsert"), "update": try row.bool("pubupdate"),
                "delete": try row.bool("pubdelete"), "truncate": try row.bool("pubtruncate"),
            ]
        )
    }

    func bookkeeping(schema: String) async throws -> BookkeepingFacts {
        let rows = try await self.rows(
            """
            SELECT has_schema_privilege(n.oid, 'CREATE') AS can_create,
                   EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid
                           AND c.relname = $1) AS has_table
            FROM pg_namespace n WHERE n.nspname = $2
            """, parameters: [SiphonAdmin.objectsTableName, schema]
        )
        guard let row = rows.first else {
            return BookkeepingFacts(
                schema: schema,
                schemaExists: false,
                canCreateInSchema: false,
                tableExists: false,
                records: []
            )
        }
        var facts = BookkeepingFacts(
            schema: schema,
            schemaExists: true,
            canCreateInSchema: try row.bool("can_create"),
            tableExists: try row.bool("has_table"),
            records: []
        )
        if facts.tableExists {
            facts.records = try await self.rows(
                """
                SELECT kind, schema_name, name, previous_replica_identity, previous_identity_index
                FROM \(facts.objectsTable) ORDER BY id
                """
            ).map { try ObjectRecord(row: $0) }
        }
        return facts
    }
}
