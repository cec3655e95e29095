// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// How two sides' tables compare, and the target table made from the source's: pure, tested without a database.
enum SyncSchema {
    /// Every way `target` cannot take `source`'s rows, each with its fix. Extra target columns are fine (they keep
    /// their defaults); missing ones, other types and another primary key are not.
    static func differences(source: SyncTable, target: SyncTable) -> [String] {
        var problems: [String] = []
        let targetColumns = Dictionary(target.columns.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for column in source.columns {
            let quoted = SQLQuoting.identifier(column.name)
            guard let other = targetColumns[column.name] else {
                problems.append(
                    "\(source.name): column \(quoted) is missing on the target; add it: ALTER TABLE \(target.name) "
                        + "ADD COLUMN \(quoted) \(column.type);")
                continue
            }
            if other.type != column.type {
                problems.append(
                    "\(source.name): column \(quoted) is \(column.type) on the source but \(other.type) on the target; "
                        + "make them the same: ALTER TABLE \(target.name) ALTER COLUMN \(quoted) TYPE \(column.type);")
            }
        }
        let sourceKey = source.keyColumns.map(\.name)
        let targetKey = target.keyColumns.map(\.name)
        if sourceKey != targetKey {
            problems.append(
                "\(source.name): the primary key is (\(sourceKey.map(SQLQuoting.identifier).joined(separator: ", "))) "
                    + "on the source but (\(targetKey.map(SQLQuoting.identifier).joined(separator: ", "))) on the "
                    + "target; rows are matched by key, so both need the same one")
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
