// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// A table resolved from the catalog, with the capture choices that apply to it: everything the SQL generator needs.
public struct CapturedTable: Sendable, Hashable {
    /// Where the key of a change comes from.
    public enum KeySource: Sendable, Hashable, CustomStringConvertible {
        /// The primary key's columns.
        case primaryKey
        /// The columns of the index named by `REPLICA IDENTITY USING INDEX`.
        case replicaIdentityIndex(String)
        /// The table has neither: every column is the key, as with `REPLICA IDENTITY FULL`.
        case allColumns

        public var description: String {
            switch self {
            case .primaryKey: return "primary key"
            case .replicaIdentityIndex(let index): return "replica identity index \(TableName.quoteIdentifier(index))"
            case .allColumns: return "every column (no primary key)"
            }
        }
    }

    public var name: TableName
    /// Column names in table order (`attnum`).
    public var columns: [String]
    /// The key columns in index order; empty when `keySource` is `.allColumns`.
    public var key: [String]
    public var keySource: KeySource
    /// Whether the table has `REPLICA IDENTITY FULL`.
    public var replicaIdentityFull: Bool
    /// The choices from the specification that selected this table.
    public var capture: TableCapture

    public init(
        name: TableName, columns: [String], key: [String], keySource: KeySource, replicaIdentityFull: Bool,
        capture: TableCapture
    ) {
        self.name = name
        self.columns = columns
        self.key = key
        self.keySource = keySource
        self.replicaIdentityFull = replicaIdentityFull
        self.capture = capture
    }

    /// Whether `old` carries every column (rather than the key) for updates and deletes.
    var oldRowIsFull: Bool {
        switch self.capture.oldRow {
        case .full: return true
        case .key: return self.key.isEmpty
        case .replicaIdentity: return self.replicaIdentityFull || self.key.isEmpty
        }
    }
}
