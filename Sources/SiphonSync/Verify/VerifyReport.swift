// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// What `TableVerifier.verify` found for one table: how much it compared and where the two sides differ.
public struct VerifyReport: Sendable, Hashable {
    public var table: TableName
    /// The primary key columns, in key order: the names of the values in `RowDifference.key`.
    public var keyColumns: [String]
    public var sourceRows = 0
    public var targetRows = 0
    /// Key ranges compared, as the source's keys cut them.
    public var chunks = 0
    /// Rows only the source has.
    public var onlyOnSource = 0
    /// Rows only the target has.
    public var onlyOnTarget = 0
    /// Rows both sides have under the same key, with different values.
    public var changed = 0
    /// The first differences in key order, at most the `differenceLimit` given to `verify`; the counts above hold
    /// them all.
    public var differences: [RowDifference] = []
    public var elapsed: Duration = .zero

    public init(table: TableName, keyColumns: [String]) {
        self.table = table
        self.keyColumns = keyColumns
    }

    public var differenceCount: Int { self.onlyOnSource + self.onlyOnTarget + self.changed }
    public var isEqual: Bool { self.differenceCount == 0 }
}

/// One row that differs between the two sides.
public struct RowDifference: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case onlyOnSource, onlyOnTarget, changed
    }

    public var kind: Kind
    /// The key's values as the server writes them in text, in `VerifyReport.keyColumns` order.
    public var key: [String]
    /// The chunk (counted from 0, in key order) the row was found in.
    public var chunk: Int
    /// The row as `to_jsonb` writes it on the source; `nil` when the source does not have it.
    public var sourceRow: String?
    /// The row as `to_jsonb` writes it on the target; `nil` when the target does not have it.
    public var targetRow: String?

    public init(kind: Kind, key: [String], chunk: Int, sourceRow: String?, targetRow: String?) {
        self.kind = kind
        self.key = key
        self.chunk = chunk
        self.sourceRow = sourceRow
        self.targetRow = targetRow
    }
}
