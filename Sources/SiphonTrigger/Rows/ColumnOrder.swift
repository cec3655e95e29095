// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonReplication

/// Column order per table, from the catalog, for turning `to_jsonb()` objects back into `Row`s in table order.
///
/// `jsonb` sorts object keys by length, then bytes; logical mode delivers columns in table order (`attnum`), and
/// trigger mode must deliver the same `Row`, so the order comes from `pg_attribute`.
struct ColumnOrder: Sendable {
    private var positions: [TableName: [String: Int]] = [:]

    init() {}

    /// Whether the order of `table` is known.
    func knows(_ table: TableName) -> Bool { self.positions[table] != nil }

    /// Records the columns of `table`, in table order.
    mutating func set(_ table: TableName, columns: [String]) {
        var positions: [String: Int] = [:]
        for (position, column) in columns.enumerated() { positions[column] = position }
        self.positions[table] = positions
    }

    /// The row in `json` (an object from `to_jsonb()`), its columns in table order. Names the catalog does not know
    /// (a column dropped since the change was written, or a table that is gone) follow in their JSON order, and
    /// `complete` tells whether there were any (then the order may be worth loading again).
    func row(fromJSON json: String, of table: TableName) throws(JSONObjectTextError) -> (row: Row, complete: Bool) {
        let members = try JSONObjectText.members(of: json)
        let positions = self.positions[table] ?? [:]
        var complete = true
        let ordered = members.enumerated().map { member -> (position: Int, offset: Int, column: Row.Column) in
            let position = positions[member.element.name]
            if position == nil { complete = false }
            return (position ?? Int.max, member.offset, Row.Column(name: member.element.name, json: member.element.value))
        }.sorted { ($0.position, $0.offset) < ($1.position, $1.offset) }
        return (Row(ordered.map(\.column)), complete)
    }

    /// Loads the column order of `tables` from the catalog, replacing what was known about them.
    mutating func load(_ tables: Set<TableName>, connection: ServerConnection) async throws {
        guard !tables.isEmpty else { return }
        // The names come from outbox rows and notifications, so they are parameters: `($1, $2), ($3, $4), …`.
        let sorted = tables.sorted()
        let list = sorted.indices.map { "($\(2 * $0 + 1), $\(2 * $0 + 2))" }
        let result = try await connection.query(
            """
            SELECT n.nspname, c.relname, a.attname
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE (n.nspname, c.relname) IN (\(list.joined(separator: ", ")))
            ORDER BY n.nspname, c.relname, a.attnum
            """, parameters: sorted.flatMap { [$0.schema, $0.table] })
        var columns: [TableName: [String]] = [:]
        for table in tables { columns[table] = [] }
        for row in result.rows {
            columns[TableName(schema: row[0] ?? "", row[1] ?? ""), default: []].append(row[2] ?? "")
        }
        for (table, names) in columns { self.set(table, columns: names) }
    }
}
