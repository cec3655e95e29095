// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// One row of the outbox table, as the reader selects it (text columns), and the `Change` it stands for.
struct OutboxRecord: Sendable, Hashable {
    var id: Int64
    /// The writing transaction's id with its epoch (`txid_current()`).
    var xid: Int64
    var operation: Change.Operation
    var table: TableName
    /// `to_jsonb()` objects as text.
    var key: String
    var old: String?
    var new: String?
    var origin: String?
    var time: PostgresTimestamp

    /// The select list that `init(row:)` reads, over the outbox aliased `o`; `commitTime` is the SQL of the time.
    static func selectList(commitTime: String) -> String {
        "o.id, o.xid, o.op, o.schema_name, o.table_name, o.key, o.old, o.new, o.origin, \(commitTime)"
    }

    init(row: [String?]) throws(SiphonError) {
        guard row.count == 10, let idText = row[0], let id = Int64(idText), let xidText = row[1],
            let xid = Int64(xidText), let opText = row[2], let schema = row[3], let table = row[4], let key = row[5],
            let timeText = row[9]
        else {
            throw SiphonError(.decodingFailed, "malformed outbox row \(row)")
        }
        guard let operation = Change.Operation(rawValue: opText) else {
            throw SiphonError(.decodingFailed, "outbox row \(id) has the unknown operation '\(opText)'")
        }
        guard let time = PostgresTimestamp(parsing: timeText) else {
            throw SiphonError(.decodingFailed, "outbox row \(id) has a time Siphon cannot read: '\(timeText)'")
        }
        self.id = id
        self.xid = xid
        self.operation = operation
        self.table = TableName(schema: schema, table)
        self.key = key
        self.old = row[6]
        self.new = row[7]
        self.origin = row[8]
        self.time = time
    }

    init(
        id: Int64, xid: Int64, operation: Change.Operation, table: TableName, key: String, old: String?, new: String?,
        origin: String?, time: PostgresTimestamp
    ) {
        self.id = id
        self.xid = xid
        self.operation = operation
        self.table = table
        self.key = key
        self.old = old
        self.new = new
        self.origin = origin
        self.time = time
    }

    /// The change, with id `source/windowLSN/id`: the window's LSN orders windows, the outbox id orders changes in
    /// a window, which is delivery order.
    ///
    /// `complete` is false when a row named a column the column order does not know.
    func change(
        source: String, windowLSN: LSN, columns: ColumnOrder
    ) throws(SiphonError) -> (change: Change, complete: Bool) {
        do {
            var complete = true
            func row(_ json: String) throws(JSONObjectTextError) -> Row {
                let (row, known) = try columns.row(fromJSON: json, of: self.table)
                complete = complete && known
                return row
            }
            let change = Change(
                id: Change.ID(source: source, commitLSN: windowLSN, index: Int(self.id)),
                operation: self.operation, schema: self.table.schema, table: self.table.table,
                xid: UInt32(truncatingIfNeeded: self.xid), commitTime: self.time, origin: self.origin,
                new: try self.new.map { json throws(JSONObjectTextError) in try row(json) },
                old: try self.old.map { json throws(JSONObjectTextError) in try row(json) },
                key: try row(self.key))
            return (change, complete)
        } catch {
            throw SiphonError(
                .decodingFailed, "outbox row \(self.id) of \(self.table) holds malformed JSON: \(error)", underlying: error)
        }
    }
}
