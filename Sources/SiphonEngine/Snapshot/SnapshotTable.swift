// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonReplication

/// A table as a snapshot reads it: the columns the publication sends (in table order, as the stream renders them)
/// and the primary key it walks in order.
///
/// Names come from the catalog and may be hostile: they reach SQL only through `SQLQuoting.identifier`, and values
/// (the last key read) only as parameters.
struct SnapshotTable: Sendable, Hashable {
    struct Column: Sendable, Hashable {
        var name: String
        var typeOID: UInt32
    }

    var name: TableName
    var columns: [Column]
    /// Positions in `columns` of the primary key columns, in key order.
    var keyPositions: [Int]
    /// `pg_class.reltuples`: what the planner believes the table holds (`nil` before the first ANALYZE).
    var estimatedRows: Int64?

    var key: SnapshotKey { SnapshotKey(columns: self.keyPositions.map { self.columns[$0].name }) }

    /// The query for one chunk: the next `limit` rows in key order, after the key bound to `$1…$n` when `afterKey`,
    /// among the rows `condition` (SQL the operator wrote, see `SnapshotRequests`) keeps.
    func chunkSQL(afterKey: Bool, limit: Int, condition: String? = nil) -> String {
        let quotedKey = self.keyPositions.map { SQLQuoting.identifier(self.columns[$0].name) }
        var sql = "SELECT " + self.columns.map { SQLQuoting.identifier($0.name) }.joined(separator: ", ")
        sql += " FROM " + SQLQuoting.identifier(self.name.schema) + "." + SQLQuoting.identifier(self.name.table)
        var filters: [String] = []
        if let condition { filters.append("(" + condition + ")") }
        if afterKey {
            filters.append(
                "(" + quotedKey.joined(separator: ", ") + ") > ("
                    + ServerConnection.placeholders(from: 1, count: quotedKey.count) + ")")
        }
        if !filters.isEmpty { sql += " WHERE " + filters.joined(separator: " AND ") }
        sql += " ORDER BY " + quotedKey.joined(separator: ", ") + " LIMIT \(limit)"
        return sql
    }

    /// Looks `name` up and checks that a snapshot can read it in key order and match it with the stream; the error
    /// says what to change.
    static func resolve(_ name: TableName, publications: [String], on connection: ServerConnection) async throws
        -> SnapshotTable
    {
        let relation = try await connection.query(
            """
            SELECT c.oid, c.relreplident, CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::bigint END
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
            """, parameters: [name.schema, name.table]
        ).rows
        guard let row = relation.first, let oid = row[0] else {
            throw SiphonError(.invalidConfiguration, "table \(name) does not exist (names are case-sensitive when quoted)")
        }
        let published = try await connection.query(
            """
            SELECT pubname FROM pg_publication_tables
            WHERE schemaname = $1 AND tablename = $2 AND pubname IN (\(ServerConnection.placeholders(from: 3, count: publications.count)))
            """, parameters: [name.schema, name.table] + publications
        ).rows
        guard !published.isEmpty else {
            let list = publications.map(SQLQuoting.identifier).joined(separator: ", ")
            throw SiphonError(
                .invalidConfiguration,
                "table \(name) is not in the publication (\(list)), so its changes are not streamed and a snapshot "
                    + "of it could not be kept up to date; add it: ALTER PUBLICATION "
                    + "\(SQLQuoting.identifier(publications.first ?? "siphon")) ADD TABLE \(name);")
        }
        // PostgreSQL 15 publications may send only some columns; the snapshot reads the same ones.
        var publishedColumns: Set<String>?
        if connection.serverVersionNumber >= 150000 {
            let names = try await connection.query(
                """
                SELECT DISTINCT unnest(attnames) FROM pg_publication_tables
                WHERE schemaname = $1 AND tablename = $2 AND pubname IN (\(ServerConnection.placeholders(from: 3, count: publications.count)))
                """, parameters: [name.schema, name.table] + publications
            ).rows
            publishedColumns = Set(names.compactMap { $0[0] })
        }
        let columns = try await connection.query(
            """
            SELECT a.attname, a.atttypid,
                (SELECT array_position(i.indkey::int2[], a.attnum) FROM pg_index i
                 WHERE i.indrelid = a.attrelid AND i.indisprimary),
                (SELECT array_position(i.indkey::int2[], a.attnum) FROM pg_index i
                 WHERE i.indrelid = a.attrelid AND i.indisreplident)
            FROM pg_attribute a
            WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
            ORDER BY a.attnum
            """, parameters: [oid]
        ).rows
        var table = SnapshotTable(
            name: name, columns: [], keyPositions: [], estimatedRows: row[2].flatMap { Int64($0) })
        var keyOrder: [(order: Int, position: Int)] = []
        var identityColumns: Set<String> = []
        for column in columns {
            guard let columnName = column[0], let type = column[1].flatMap({ UInt32($0) }) else { continue }
            if column[3] != nil { identityColumns.insert(columnName) }
            guard publishedColumns?.contains(columnName) ?? true else {
                if column[2] != nil {
                    throw SiphonError(
                        .invalidConfiguration,
                        "the publication leaves out primary key column \(SQLQuoting.identifier(columnName)) of "
                            + "\(name), so streamed changes cannot be matched with the rows a snapshot reads; "
                            + "publish the whole key")
                }
                continue
            }
            if let order = column[2].flatMap({ Int($0) }) { keyOrder.append((order, table.columns.count)) }
            table.columns.append(Column(name: columnName, typeOID: type))
        }
        guard !keyOrder.isEmpty else {
            throw SiphonError(
                .invalidConfiguration,
                "table \(name) has no primary key; a snapshot reads a table in key order and matches streamed "
                    + "changes by key: add one (ALTER TABLE \(name) ADD PRIMARY KEY (…);)")
        }
        table.keyPositions = keyOrder.sorted { $0.order < $1.order }.map(\.position)
        let keyNames = Set(table.key.columns)
        switch row[1] {
        case "n":
            throw SiphonError(
                .invalidConfiguration,
                "table \(name) has REPLICA IDENTITY NOTHING: its deletes carry no key, so a snapshot cannot be kept "
                    + "consistent with them; run ALTER TABLE \(name) REPLICA IDENTITY DEFAULT;")
        case "i" where !keyNames.isSubset(of: identityColumns):
            throw SiphonError(
                .invalidConfiguration,
                "the replica identity index of \(name) does not hold its whole primary key, so deletes cannot be "
                    + "matched with the rows a snapshot reads; run ALTER TABLE \(name) REPLICA IDENTITY DEFAULT;")
        default:
            break
        }
        return table
    }
}
