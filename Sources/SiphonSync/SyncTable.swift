// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonReplication

/// A table as sync and verify see it on one side: its columns in table order and its primary key.
///
/// Names come from the catalog and may be hostile: they reach SQL only through `SQLQuoting.identifier`; values only
/// as parameters.
public struct SyncTable: Sendable, Hashable {
    public struct Column: Sendable, Hashable {
        public var name: String
        /// The type as `format_type` writes it (`numeric(10,2)`, `text[]`, `public.mood`): what a cast to it says.
        public var type: String
        /// Whether the type sorts by a collation: then keys are compared and ordered `COLLATE "C"`, the same bytes
        /// order on both sides whatever their default collations are.
        public var collatable: Bool
        public var notNull: Bool

        public init(name: String, type: String, collatable: Bool, notNull: Bool) {
            self.name = name
            self.type = type
            self.collatable = collatable
            self.notNull = notNull
        }

        /// The quoted name, with `COLLATE "C"` when the type has a collation: for ordering and comparing keys.
        public var orderingExpression: String {
            SQLQuoting.identifier(self.name) + (self.collatable ? " COLLATE \"C\"" : "")
        }
    }

    public var name: TableName
    /// The stored columns in table order (generated columns left out: the target computes its own).
    public var columns: [Column]
    /// Positions in `columns` of the primary key columns, in key order.
    public var keyPositions: [Int]

    public init(name: TableName, columns: [Column], keyPositions: [Int]) {
        self.name = name
        self.columns = columns
        self.keyPositions = keyPositions
    }

    public var keyColumns: [Column] { self.keyPositions.map { self.columns[$0] } }

    /// `schema.table`, quoted.
    public var quotedName: String {
        SQLQuoting.identifier(self.name.schema) + "." + SQLQuoting.identifier(self.name.table)
    }

    /// `ORDER BY` list of the key, byte order for text keys.
    public var keyOrdering: String { self.keyColumns.map(\.orderingExpression).joined(separator: ", ") }

    /// Looks `name` up; `nil` when there is no such table. A table without a primary key is refused with the fix:
    /// rows are matched across the two sides by key. `side` names the database in messages ("source", "target").
    public static func resolve(_ name: TableName, side: String, on connection: ServerConnection) async throws
        -> SyncTable?
    {
        let columns = try await connection.query(
            """
            SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typcollation <> 0, a.attnotnull,
                (SELECT array_position(i.indkey::int2[], a.attnum) FROM pg_index i
                 WHERE i.indrelid = a.attrelid AND i.indisprimary)
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid
            JOIN pg_type t ON t.oid = a.atttypid
            WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
                AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
            ORDER BY a.attnum
            """, parameters: [name.schema, name.table]
        ).rows
        guard !columns.isEmpty else { return nil }
        var table = SyncTable(name: name, columns: [], keyPositions: [])
        var keyOrder: [(order: Int, position: Int)] = []
        for row in columns {
            guard let columnName = row[0], let type = row[1] else { continue }
            if let order = row[4].flatMap({ Int($0) }) { keyOrder.append((order, table.columns.count)) }
            table.columns.append(Column(name: columnName, type: type, collatable: row[2] == "t", notNull: row[3] == "t"))
        }
        guard !keyOrder.isEmpty else {
            throw SiphonError(
                .invalidConfiguration,
                "table \(name) on the \(side) has no primary key; rows are "
                    + "matched across the two databases by key: add one (ALTER TABLE \(name) ADD PRIMARY KEY (…);)")
        }
        table.keyPositions = keyOrder.sorted { $0.order < $1.order }.map(\.position)
        return table
    }
}
