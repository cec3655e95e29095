// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// How two sides' tables compare, and the target table made from the source's: pure, tested without a database.
enum SyncSchema {
    /// Every way `target` cannot take `source`'s rows, each with its fix: a column missing on the target, another
    /// type, another primary key. Extra target columns are fine for a sync (they keep their defaults); verify, which
    /// compares whole rows, passes `exact` to count them too. Names and types compare as bytes, as PostgreSQL does
    /// (Swift's `==` would call canonically equivalent names equal).
    static func differences(source: SyncTable, target: SyncTable, exact: Bool = false) -> [String] {
        var problems: [String] = []
        let targetColumns = Dictionary(target.columns.map { (Array($0.name.utf8), $0) }, uniquingKeysWith: { first, _ in first })
        for column in source.columns {
            let quoted = SQLQuoting.identifier(column.name)
            guard let other = targetColumns[Array(column.name.utf8)] else {
                problems.append(
                    "\(source.name): column \(quoted) is missing on the target; add it: ALTER TABLE \(target.name) "
                        + "ADD COLUMN \(quoted) \(column.type);")
                continue
            }
            if !other.type.utf8.elementsEqual(column.type.utf8) {
                problems.append(
                    "\(source.name): column \(quoted) is \(column.type) on the source but \(other.type) on the target; "
                        + "make them the same: ALTER TABLE \(target.name) ALTER COLUMN \(quoted) TYPE \(column.type);")
            }
        }
        if exact {
            let sourceNames = Set(source.columns.map { Array($0.name.utf8) })
            for column in target.columns where !sourceNames.contains(Array(column.name.utf8)) {
                let quoted = SQLQuoting.identifier(column.name)
                problems.append(
                    "\(source.name): column \(quoted) is missing on the source; rows are compared whole, so drop it on "
                        + "the target (ALTER TABLE \(target.name) DROP COLUMN \(quoted);) or add it on the source")
            }
        }
        let sourceKey = source.keyColumns.map { Array($0.name.utf8) }
        let targetKey = target.keyColumns.map { Array($0.name.utf8) }
        if sourceKey != targetKey {
            let list = { (table: SyncTable) in table.keyColumns.map { SQLQuoting.identifier($0.name) }.joined(separator: ", ") }
            problems.append(
                "\(source.name): the primary key is (\(list(source))) on the source but (\(list(target))) on the target; "
                    + "rows are matched by key, so both need the same one")
        }
        return problems
    }

    /// `CREATE TABLE` for the target with the source's columns, types, NOT NULLs and primary key. Types are
    /// `format_type`'s text, which quotes every name that needs it, so it reads back as the same type; a type the
    /// target lacks (an enum, a domain) fails here, with PostgreSQL's message naming it.
    static func createTableSQL(like source: SyncTable) -> String {
        let columns = source.columns.map {
            SQLQuoting.identifier($0.name) + " " + $0.type + ($0.notNull ? " NOT NULL" : "")
        }
        let key = source.keyColumns.map { SQLQuoting.identifier($0.name) }.joined(separator: ", ")
        return "CREATE SCHEMA IF NOT EXISTS \(SQLQuoting.identifier(source.name.schema)); "
            + "CREATE TABLE \(source.quotedName) (\(columns.joined(separator: ", ")), PRIMARY KEY (\(key)))"
    }
}
