// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonReplication

/// Reads what trigger capture needs from the catalog: which tables a specification selects, their columns in table
/// order, and their keys. The SQL generator itself never queries anything.
struct TriggerCatalog {
    let connection: ServerConnection

    /// A table as `pg_class` describes it.
    struct TableRow: Hashable {
        var oid: String
        var name: TableName
        var replicaIdentity: String
        var isPartition: Bool
        var mayCreateTriggers: Bool
    }

    /// Every ordinary and partitioned table outside the system schemas.
    func tables() async throws -> [TableRow] {
        let result = try await self.connection.simpleQuery(
            """
            SELECT c.oid, n.nspname, c.relname, c.relreplident, c.relispartition,
                   has_table_privilege(c.oid, 'TRIGGER')
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg\\_%'
            ORDER BY n.nspname, c.relname
            """)
        return result.rows.map { row in
            TableRow(
                oid: row[0] ?? "", name: TableName(schema: row[1] ?? "", row[2] ?? ""), replicaIdentity: row[3] ?? "d",
                isPartition: row[4] == "t", mayCreateTriggers: row[5] == "t")
        }
    }

    /// Column names in table order, per table oid.
    func columns(of oids: [String]) async throws -> [String: [String]] {
        guard !oids.isEmpty else { return [:] }
        let result = try await self.connection.simpleQuery(
            """
            SELECT a.attrelid, a.attname FROM pg_attribute a
            WHERE a.attrelid IN (\(oids.joined(separator: ", "))) AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attrelid, a.attnum
            """)
        var columns: [String: [String]] = [:]
        for row in result.rows { columns[row[0] ?? "", default: []].append(row[1] ?? "") }
        return columns
    }

    /// The key of each table: the replica identity index when one is named, otherwise the primary key.
    func keys(of tables: [TableRow]) async throws -> [String: (columns: [String], source: CapturedTable.KeySource)] {
        guard !tables.isEmpty else { return [:] }
        let result = try await self.connection.simpleQuery(
            """
            SELECT i.indrelid, i.indisprimary, i.indisreplident, ic.relname, a.attname
            FROM pg_index i
            JOIN pg_class ic ON ic.oid = i.indexrelid
            CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
            WHERE i.indrelid IN (\(tables.map(\.oid).joined(separator: ", "))) AND (i.indisprimary OR i.indisreplident)
            ORDER BY i.indrelid, i.indexrelid, k.position
            """)
        var primary: [String: [String]] = [:]
        var identity: [String: (index: String, columns: [String])] = [:]
        for row in result.rows {
            let oid = row[0] ?? ""
            if row[2] == "t" {
                identity[oid, default: (row[3] ?? "", [])].columns.append(row[4] ?? "")
            }
            if row[1] == "t" { primary[oid, default: []].append(row[4] ?? "") }
        }
        var keys: [String: (columns: [String], source: CapturedTable.KeySource)] = [:]
        for table in tables {
            if table.replicaIdentity == "i", let index = identity[table.oid] {
                keys[table.oid] = (index.columns, .replicaIdentityIndex(index.index))
            } else if let columns = primary[table.oid] {
                keys[table.oid] = (columns, .primaryKey)
            } else {
                keys[table.oid] = ([], .allColumns)
            }
        }
        return keys
    }

    /// The tables `specification` selects, resolved, with notes a person should read (key fallbacks).
    ///
    /// Fails with a message that names the problem for a table that does not exist, a pattern that matches nothing,
    /// a table selected twice, an unknown column, and tables the role may not create triggers on.
    func resolve(_ specification: CaptureSpecification) async throws -> (tables: [CapturedTable], notes: [String]) {
        let all = try await self.tables()
        var selected: [(row: TableRow, capture: TableCapture)] = []
        var selectedBy: [String: TablePattern] = [:]
        for capture in specification.tables {
            let matches: [TableRow]
            if let exact = capture.tables.exactName {
                guard let row = all.first(where: { $0.name == exact }) else {
                    throw SiphonError(
                        .invalidConfiguration,
                        "table \(exact) does not exist (or is not an ordinary or partitioned table)"
                            + Self.suggestion(for: exact, among: all.map(\.name)))
                }
                if exact.schema == specification.schema || exact.schema == ChangeFilter.ownSchema {
                    throw SiphonError(
                        .invalidConfiguration,
                        "table \(exact) is in Siphon's own schema \(SQLQuoting.identifier(exact.schema)) and "
                            + "cannot be captured")
                }
                matches = [row]
            } else {
                matches = all.filter {
                    capture.tables.matches($0.name) && !$0.isPartition && $0.name.schema != specification.schema
                        && $0.name.schema != ChangeFilter.ownSchema
                }
                if matches.isEmpty {
                    throw SiphonError(.invalidConfiguration, "the table pattern \(capture.tables) matches no table")
                }
            }
            for row in matches {
                if let earlier = selectedBy[row.oid] {
                    throw SiphonError(
                        .invalidConfiguration,
                        "table \(row.name) is selected twice (by \(earlier) and by \(capture.tables)); each table "
                            + "may have one set of choices")
                }
                selectedBy[row.oid] = capture.tables
                selected.append((row, capture))
            }
        }
        let forbidden = selected.filter { !$0.row.mayCreateTriggers }.map(\.row.name)
        if !forbidden.isEmpty {
            let role = self.connection.settings.user
            let list = forbidden.map(\.description).joined(separator: ", ")
            throw SiphonError(
                .invalidConfiguration,
                "role \(role) may not create triggers on \(list): it must own the table or hold the TRIGGER "
                    + "privilege. Fix: GRANT TRIGGER ON \(list) TO \(SQLQuoting.identifier(role)); or run this as the "
                    + "tables' owner")
        }
        let columns = try await self.columns(of: selected.map(\.row.oid))
        let keys = try await self.keys(of: selected.map(\.row))
        var tables: [CapturedTable] = []
        var notes: [String] = []
        for (row, capture) in selected {
            let tableColumns = columns[row.oid] ?? []
            for column in capture.columns where !tableColumns.contains(column) {
                throw SiphonError(
                    .invalidConfiguration,
                    "table \(row.name) has no column \(SQLQuoting.identifier(column)) (its columns: "
                        + tableColumns.map { SQLQuoting.identifier($0) }.joined(separator: ", ") + ")")
            }
            let key = keys[row.oid] ?? ([], .allColumns)
            if key.source == .allColumns {
                notes.append(
                    "table \(row.name) has no primary key: the key of its changes is every column (the whole row, "
                        + "as with REPLICA IDENTITY FULL), and order is kept per whole-row value; add a primary key "
                        + "for a narrower key")
            }
            tables.append(
                CapturedTable(
                    name: row.name, columns: tableColumns, key: key.columns, keySource: key.source,
                    replicaIdentityFull: row.replicaIdentity == "f", capture: capture))
        }
        return (tables, notes)
    }

    /// `; did you mean …?` when a table of the same name exists in another schema or with other case.
    static func suggestion(for name: TableName, among names: [TableName]) -> String {
        let similar = names.filter {
            $0 != name && ($0.table == name.table || $0.table.lowercased() == name.table.lowercased())
        }
        guard !similar.isEmpty else { return "" }
        return "; did you mean " + similar.prefix(3).map(\.description).joined(separator: " or ") + "?"
    }
}
