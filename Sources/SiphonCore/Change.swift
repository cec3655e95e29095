// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// One committed row change, the same value whichever capture mode produced it.
public struct Change: Sendable, Hashable {
    /// What happened to the row. `read` is a row as a snapshot or backfill found it (Debezium's `r`), not a write.
    public enum Operation: String, Sendable, Hashable, CaseIterable {
        case insert, update, delete, truncate, read
    }

    /// Identifies a change across restarts: `<source>/<commit LSN>/<index in transaction>`.
    ///
    /// Ids order only within one source, and only within one cluster and timeline: the slot name says nothing about
    /// which server it is on, so a sink that compares ids must also know its server (see `SourceBoundSink`).
    public struct ID: Sendable, Hashable, Comparable, CustomStringConvertible {
        /// The slot name (logical mode), or the outbox name (trigger mode) followed by `#<partition>` when the
        /// consumer group reads it in more than one partition: each partition orders its own ids.
        public var source: String
        /// The commit position of the transaction; all its changes share it.
        public var commitLSN: LSN
        /// Zero-based position of the change inside its transaction.
        public var index: Int

        public init(source: String, commitLSN: LSN, index: Int) {
            self.source = source
            self.commitLSN = commitLSN
            self.index = index
        }

        public var description: String { "\(self.source)/\(self.commitLSN)/\(self.index)" }

        public static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.commitLSN, lhs.index) < (rhs.commitLSN, rhs.index)
        }
    }

    public var id: ID
    public var operation: Operation
    public var schema: String
    public var table: String
    /// The transaction id, when the source knows it.
    public var xid: UInt32?
    /// When the transaction committed.
    public var commitTime: PostgresTimestamp
    /// The replication origin that made the change, if it came through one (used to break sync loops).
    public var origin: String?
    /// The row after the change (insert, update), or the row a snapshot read. Unchanged TOAST columns are left out and named in `unchangedToast`.
    public var new: Row?
    /// The row before the change as REPLICA IDENTITY provides it: key columns, or every column with FULL.
    public var old: Row?
    /// The primary key (or replica identity) columns of the row.
    public var key: Row
    /// Columns whose large values did not change and were not sent (TOAST); never reported as null.
    public var unchangedToast: [String]
    /// For truncate: whether `CASCADE` and `RESTART IDENTITY` were given.
    public var truncateOptions: TruncateOptions?

    public struct TruncateOptions: Sendable, Hashable {
        public var cascade: Bool
        public var restartIdentity: Bool

        public init(cascade: Bool, restartIdentity: Bool) {
            self.cascade = cascade
            self.restartIdentity = restartIdentity
        }
    }

    public init(
        id: ID, operation: Operation, schema: String, table: String, xid: UInt32?, commitTime: PostgresTimestamp,
        origin: String? = nil, new: Row? = nil, old: Row? = nil, key: Row = Row(), unchangedToast: [String] = [],
        truncateOptions: TruncateOptions? = nil
    ) {
        self.id = id
        self.operation = operation
        self.schema = schema
        self.table = table
        self.xid = xid
        self.commitTime = commitTime
        self.origin = origin
        self.new = new
        self.old = old
        self.key = key
        self.unchangedToast = unchangedToast
        self.truncateOptions = truncateOptions
    }

    /// The commit position of the transaction this change belongs to.
    public var lsn: LSN { self.id.commitLSN }
}
