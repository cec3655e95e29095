// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Turns changes into a few set-based statements for the target, in the order of the changes: consecutive changes
/// of one table and one kind become one statement whose rows travel as one JSON parameter, read back into the
/// target's row type by `jsonb_populate_recordset` (the JSON is `to_jsonb()`'s, so every type converts back through
/// its own input function).
///
/// Pure: SQL text comes only from catalog names through `SQLQuoting`; values only ever go into the parameter.
struct ApplyPlan {
    struct Statement: Equatable {
        enum Kind: Equatable {
            /// Insert, or overwrite the row with that key (inserts, updates that carry the whole row).
            case upsert
            /// Insert, or overwrite the row with that key only where it differs (reads: a snapshot finds rows the
            /// stream has applied already, and a row that is the same is not written again).
            case refresh
            /// Update the columns the change carries of the row with the old key (updates with unchanged TOAST
            /// columns, which must be left as they are).
            case update
            case delete
            case truncate
        }

        var kind: Kind
        var table: TableName
        var sql: String
        /// The rows, as one JSON array; `nil` for truncate.
        var parameter: String?
        /// How many rows the statement must touch; fewer means the target lacks rows the source had (or, under a
        /// conflict rule, kept newer ones).
        var rows: Int
        /// The table's conflict rule, when the statement writes rows that carry its column.
        var rule: ConflictRule?
        /// Under `rule`: a query with the same parameter whose rows (source row, target row, as JSON text) are the
        /// conflicts, run before the statement, which then leaves those target rows alone.
        var conflictSQL: String?
    }

    private(set) var statements: [Statement] = []
    private var run: Run?
    private let rules: [TableName: ConflictRule]
    /// Columns the changes carry that the target's table (as the plan knows it) does not have.
    private var unknownColumns: [UnknownColumns.Column] = []

    /// Changes carry columns the target's tables do not have (added on the source, or on the target after its
    /// tables were looked up).
    struct UnknownColumns: Error {
        struct Column: Equatable {
            var table: TableName
            var name: String
        }

        var columns: [Column]
    }

    /// Consecutive changes that become one statement.
    private struct Run {
        var kind: Statement.Kind
        var table: SyncTable
        var columns: [String]
        var json = "["
        var rows = 0
        /// Keys in this run: a key seen twice starts a new run, since one statement cannot change a row twice.
        var keys: Set<String> = []
    }

    /// Plans `changes` against the target's tables, under each table's conflict rule; a change of a table the
    /// target does not have is an error.
    init(_ changes: [Change], tables: [TableName: SyncTable], rules: [TableName: ConflictRule] = [:]) throws {
        self.rules = rules
        for change in changes {
            let name = TableName(schema: change.schema, change.table)
            guard let table = tables[name] else {
                throw SiphonError(
                    .invalidConfiguration,
                    "a change of \(name) arrived, but that table is not synced; add it with --table \(name)")
            }
            try self.add(change, table: table)
        }
        self.endRun()
        guard self.unknownColumns.isEmpty else { throw UnknownColumns(columns: self.unknownColumns) }
    }

    private mutating func add(_ change: Change, table: SyncTable) throws {
        switch change.operation {
        case .truncate:
            self.endRun()
            var sql = "TRUNCATE " + table.quotedName
            if change.truncateOptions?.restartIdentity == true { sql += " RESTART IDENTITY" }
            if change.truncateOptions?.cascade == true { sql += " CASCADE" }
            self.statements.append(Statement(kind: .truncate, table: table.name, sql: sql, parameter: nil, rows: 0))
        case .delete:
            let key = try Self.key(of: change, table: table, from: change.old ?? change.key)
            self.append(key.jsonObject, key: key, kind: .delete, table: table, columns: [])
        case .insert, .read:
            guard let new = change.new else { throw Self.missingRow(change) }
            try self.upsert(new, table: table, change: change)
        case .update:
            guard let new = change.new else { throw Self.missingRow(change) }
            let newKey = try Self.key(of: change, table: table, from: new)
            let oldKey = try change.old.map { try Self.key(of: change, table: table, from: $0) } ?? newKey
            if change.unchangedToast.isEmpty {
                // The whole row is here: a moved key is the old row gone and the new one written.
                if oldKey != newKey { self.append(oldKey.jsonObject, key: oldKey, kind: .delete, table: table, columns: []) }
                try self.upsert(new, table: table, change: change)
            } else {
                var element = "{\"k\":"
                oldKey.appendJSONObject(to: &element)
                element += ",\"n\":"
                new.appendJSONObject(to: &element)
                element += "}"
                // Key columns are assigned only when the key moved: an identity column GENERATED ALWAYS refuses
                // any other value than its own, even the same one.
                let keyNames = Set(table.keyColumns.map(\.name))
                let columns = oldKey == newKey ? new.names.filter { !keyNames.contains($0) } : new.names
                // Nothing but unchanged large values and the same key: the row stays as it is.
                if columns.isEmpty { return }
                self.append(element, key: oldKey, kind: .update, table: table, columns: columns)
            }
        }
    }

    private mutating func upsert(_ new: Row, table: SyncTable, change: Change) throws {
        let key = try Self.key(of: change, table: table, from: new)
        let kind: Statement.Kind = change.operation == .read ? .refresh : .upsert
        self.append(new.jsonObject, key: key, kind: kind, table: table, columns: new.names)
    }

    private mutating func append(_ element: String, key: Row, kind: Statement.Kind, table: SyncTable, columns: [String]) {
        let keyText = key.jsonObject
        if let run = self.run,
            run.kind != kind || run.table.name != table.name || run.columns != columns || run.keys.contains(keyText)
        {
            self.endRun()
        }
        if self.run == nil { self.run = Run(kind: kind, table: table, columns: columns) }
        if self.run!.rows > 0 { self.run!.json += "," }
        self.run!.json += element
        self.run!.rows += 1
        self.run!.keys.insert(keyText)
    }

    private mutating func endRun() {
        guard let run = self.run else { return }
        self.run = nil
        // Checked once per statement, not per change: a run's changes carry the same columns.
        let known = Set(run.table.columns.map { Array($0.name.utf8) })
        for column in run.columns where !known.contains(Array(column.utf8)) {
            let unknown = UnknownColumns.Column(table: run.table.name, name: column)
            if !self.unknownColumns.contains(unknown) { self.unknownColumns.append(unknown) }
        }
        // A rule applies to writes that carry its column; deletes always apply.
        let rule = self.rules[run.table.name].flatMap { rule in
            run.kind != .delete && run.columns.contains(rule.column) ? rule : nil
        }
        self.statements.append(
            Statement(
                kind: run.kind, table: run.table.name, sql: Self.sql(for: run, rule: rule), parameter: run.json + "]",
                rows: run.rows, rule: rule, conflictSQL: rule.map { Self.conflictSQL(for: run, rule: $0) }))
    }

    /// The incoming rows (`x`, or `x.n` for updates) that meet a newer target row, with that row.
    private static func conflictSQL(for run: Run, rule: ConflictRule) -> String {
        let table = run.table.quotedName
        let column = SQLQuoting.identifier(rule.column)
        let keys = run.table.keyColumns.map { SQLQuoting.identifier($0.name) }
        let incoming = run.kind == .update ? "x.n" : "x"
        let match = keys.map { "t.\($0) = (\(run.kind == .update ? "x.k" : "x")).\($0)" }.joined(separator: " AND ")
        return "SELECT to_jsonb(\(incoming))::text, to_jsonb(t)::text FROM \(Self.incomingRows(run)) "
            + "JOIN \(table) AS t ON \(match) WHERE t.\(column) > (\(incoming)).\(column)"
    }

    /// The statement's parameter as rows of the target's type, aliased `x`.
    private static func incomingRows(_ run: Run) -> String {
        let table = run.table.quotedName
        if run.kind == .update {
            return "(SELECT jsonb_populate_record(NULL::\(table), e->'n') AS n, "
                + "jsonb_populate_record(NULL::\(table), e->'k') AS k FROM jsonb_array_elements($1::jsonb) AS e) AS x"
        }
        return "jsonb_populate_recordset(NULL::\(table), $1::jsonb) AS x"
    }

    private static func sql(for run: Run, rule: ConflictRule?) -> String {
        let table = run.table.quotedName
        let keys = run.table.keyColumns.map { SQLQuoting.identifier($0.name) }
        let keyMatch = { (row: String) in keys.map { "t.\($0) = \(row).\($0)" }.joined(separator: " AND ") }
        let columns = run.columns.map(SQLQuoting.identifier)
        // Under a rule, a target row the rule calls newer is left alone (NULLs are no conflict).
        let notNewer = { (incoming: String) -> String? in
            rule.map { rule in
                let column = SQLQuoting.identifier(rule.column)
                return "(t.\(column) > \(incoming).\(column)) IS NOT TRUE"
            }
        }
        switch run.kind {
        case .upsert, .refresh:
            let list = columns.joined(separator: ", ")
            let updated = columns.filter { !keys.contains($0) }
            var onConflict =
                updated.isEmpty
                ? "DO NOTHING" : "DO UPDATE SET " + updated.map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
            if !updated.isEmpty {
                // No dead tuple, WAL or trigger for a row that is already right. Compared as text: json, xml or
                // point have no equality operator.
                let sameRow =
                    run.kind == .refresh
                    ? "ROW(\(updated.map { "t.\($0)" }.joined(separator: ", ")))::text IS DISTINCT FROM "
                        + "ROW(\(updated.map { "EXCLUDED.\($0)" }.joined(separator: ", ")))::text" : nil
                let condition = [sameRow, notNewer("EXCLUDED")].compactMap { $0 }
                if !condition.isEmpty { onConflict += " WHERE " + condition.joined(separator: " AND ") }
            }
            // OVERRIDING SYSTEM VALUE: the source's value of a GENERATED ALWAYS identity column is the row's value.
            return "INSERT INTO \(table) AS t (\(list)) OVERRIDING SYSTEM VALUE SELECT \(list) "
                + "FROM jsonb_populate_recordset(NULL::\(table), $1::jsonb) "
                + "ON CONFLICT (\(keys.joined(separator: ", "))) \(onConflict)"
        case .update:
            let assignments = columns.map { "\($0) = (x.n).\($0)" }
            return "UPDATE \(table) AS t SET \(assignments.joined(separator: ", ")) FROM \(Self.incomingRows(run)) "
                + "WHERE " + ([keyMatch("(x.k)")] + [notNewer("(x.n)")].compactMap { $0 }).joined(separator: " AND ")
        case .delete:
            return "DELETE FROM \(table) AS t USING jsonb_populate_recordset(NULL::\(table), $1::jsonb) AS x "
                + "WHERE \(keyMatch("x"))"
        case .truncate:
            preconditionFailure("truncate is planned on its own")
        }
    }

    /// The target's key columns of `row`, in key order.
    private static func key(of change: Change, table: SyncTable, from row: Row) throws -> Row {
        var key = Row()
        for column in table.keyColumns {
            guard let value = row[column.name] else {
                throw SiphonError(
                    .invalidConfiguration,
                    "change \(change.id) of \(table.name) does not carry key column "
                        + "\(SQLQuoting.identifier(column.name)) of the target table; the primary keys of both "
                        + "sides must be the same columns")
            }
            key.columns.append(Row.Column(name: column.name, json: value))
        }
        return key
    }

    private static func missingRow(_ change: Change) -> SiphonError {
        SiphonError(.invalidConfiguration, "change \(change.id) (\(change.operation.rawValue)) carries no row")
    }
}
