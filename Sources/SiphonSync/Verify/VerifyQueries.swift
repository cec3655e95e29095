// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonReplication

/// A primary key as the server writes it in text, one value per key column.
struct RowKey: Sendable {
    var values: [String]
}

/// Keys after `lower` up to and including `upper`, in key order; a `nil` end is open.
struct KeyRange: Sendable {
    var lower: RowKey?
    var upper: RowKey?
}

/// The SQL verify runs on both sides, built from the source's shape of the table (the target's was checked to be
/// the same). Names go through `SQLQuoting.identifier`; keys travel only as text parameters, which the server reads
/// as the key columns' types. Rows are compared as `to_jsonb` of the stored columns, whose keys jsonb sorts, so the
/// sides' column order does not matter.
struct VerifyQueries: Sendable {
    let table: SyncTable

    /// `(k1 COLLATE "C", k2, …)`: the key as it is ordered and compared, byte order for text.
    private var keyTuple: String { "(" + self.table.keyOrdering + ")" }
    private var keySelectList: String {
        self.table.keyColumns.map { SQLQuoting.identifier($0.name) }.joined(separator: ", ")
    }

    /// The stored columns of the rows in `range`, as a subquery to read whole rows from (`r.*`): generated columns
    /// are left out, as each side computes its own.
    /// Its parameters are numbered from `$firstParameter`.
    private func rows(in range: KeyRange, firstParameter: Int = 1) -> (sql: String, parameters: [String?]) {
        var filters: [String] = []
        var parameters: [String?] = []
        let width = self.table.keyPositions.count
        if let lower = range.lower {
            let first = firstParameter + parameters.count
            filters.append(self.keyTuple + " > (" + ServerConnection.placeholders(from: first, count: width) + ")")
            parameters += lower.values
        }
        if let upper = range.upper {
            let first = firstParameter + parameters.count
            filters.append(self.keyTuple + " <= (" + ServerConnection.placeholders(from: first, count: width) + ")")
            parameters += upper.values
        }
        var sql = "SELECT " + self.table.columns.map { SQLQuoting.identifier($0.name) }.joined(separator: ", ")
            + " FROM " + self.table.quotedName
        if !filters.isEmpty { sql += " WHERE " + filters.joined(separator: " AND ") }
        return (sql, parameters)
    }

    /// The key `chunkSize` rows into `range`, and the one after it if there is one: a chunk ends at the first, and
    /// when there is no second it is the last chunk.
    func boundary(in range: KeyRange, chunkSize: Int) -> (sql: String, parameters: [String?]) {
        let rows = self.rows(in: range)
        return (
            "SELECT \(self.keySelectList) FROM (\(rows.sql)) r ORDER BY \(self.table.keyOrdering) "
                + "LIMIT 2 OFFSET \(chunkSize - 1)",
            rows.parameters
        )
    }

    /// Row count and one md5 over the rows' md5s in key order.
    func digest(of range: KeyRange) -> (sql: String, parameters: [String?]) {
        let rows = self.rows(in: range)
        return (
            "SELECT count(*), md5(string_agg(md5(to_jsonb(r.*)::text), '' ORDER BY \(self.table.keyOrdering))) "
                + "FROM (\(rows.sql)) r",
            rows.parameters
        )
    }

    /// Each row's key columns and md5, in key order.
    func rowDigests(in range: KeyRange) -> (sql: String, parameters: [String?]) {
        let rows = self.rows(in: range)
        return (
            "SELECT \(self.keySelectList), md5(to_jsonb(r.*)::text) FROM (\(rows.sql)) r "
                + "ORDER BY \(self.table.keyOrdering)",
            rows.parameters
        )
    }

    /// The rows of `range` on this side merged by key with `other`'s (key and md5, as `rowDigests` reads them on
    /// the other side), in key order: each differing key's columns, then whether `other` lacks it and whether this
    /// side lacks it. The other side's keys come as one text array per key column, cast to the column's type
    /// (`format_type` text, which quotes what needs quoting), so the server orders and matches them as its own.
    func differences(in range: KeyRange, other: [(key: RowKey, md5: String)]) -> (sql: String, parameters: [String?]) {
        let keys = self.table.keyColumns
        var parameters = keys.indices.map { index in Self.arrayLiteral(other.map { $0.key.values[index] }) }
        parameters.append(Self.arrayLiteral(other.map(\.md5)))
        let rows = self.rows(in: range, firstParameter: parameters.count + 1)
        let aliases = keys.indices.map { "k\($0)" }
        let otherColumns = zip(keys, aliases).map { "CAST(u.\($1) AS \($0.type))" }.joined(separator: ", ")
        let unnest = (1...parameters.count).map { "$\($0)::text[]" }.joined(separator: ", ")
        let merged = zip(keys, aliases).map { key, alias in
            "coalesce(o.\(alias), h.\(alias))" + (key.collatable ? " COLLATE \"C\"" : "")
        }
        let matched = zip(keys, aliases).map { key, alias in
            "o.\(alias) = h.\(alias)" + (key.collatable ? " COLLATE \"C\"" : "")
        }
        let list = aliases.joined(separator: ", ")
        return (
            """
            SELECT \(merged.joined(separator: ", ")), o.d IS NULL, h.d IS NULL
            FROM (SELECT \(otherColumns), u.d FROM unnest(\(unnest)) u(\(list), d)) o(\(list), d)
            FULL JOIN (SELECT \(self.keySelectList), md5(to_jsonb(r.*)::text) FROM (\(rows.sql)) r) h(\(list), d)
                ON \(matched.joined(separator: " AND "))
            WHERE o.d IS DISTINCT FROM h.d
            ORDER BY \(merged.joined(separator: ", "))
            """,
            parameters + rows.parameters
        )
    }

    /// A one-dimensional text array literal: every element double-quoted, `"` and `\` escaped.
    static func arrayLiteral(_ elements: [String]) -> String {
        var literal = "{"
        for (index, element) in elements.enumerated() {
            if index > 0 { literal += "," }
            literal += "\""
            for scalar in element.unicodeScalars {
                if scalar == "\"" || scalar == "\\" { literal.unicodeScalars.append("\\") }
                literal.unicodeScalars.append(scalar)
            }
            literal += "\""
        }
        return literal + "}"
    }

    /// The row with the key `$1…$n`, as `to_jsonb` writes it.
    var row: String {
        let columns = self.table.columns.map { SQLQuoting.identifier($0.name) }.joined(separator: ", ")
        let key = ServerConnection.placeholders(from: 1, count: self.table.keyPositions.count)
        return "SELECT to_jsonb(r.*)::text FROM (SELECT \(columns) FROM \(self.table.quotedName) "
            + "WHERE \(self.keyTuple) = (\(key))) r"
    }
}
