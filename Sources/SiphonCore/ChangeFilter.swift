// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.


/// Chooses which changes reach the sinks and which columns they carry.
///
/// Filtered-out changes are still acknowledged: the slot advances past them. Changes to Siphon's own tables are always
/// filtered out.
public struct ChangeFilter: Sendable {
    /// The schema of Siphon's own tables (`dead_letters`, and by default the setup bookkeeping and the trigger
    /// outbox). Its changes never reach a sink, whatever the publication or the trigger selection covers: a dead
    /// letter that is captured again would be parked again while the sink keeps failing, without end.
    public static let ownSchema = "siphon"

    /// Tables to keep; empty keeps every table the publication sends.
    public var tables: [TablePattern]
    /// Operations to keep; empty keeps all.
    public var operations: Set<Change.Operation>
    /// Columns to keep in `new`/`old`, per table pattern; the key is always kept. Empty keeps all.
    public var columns: [String]
    /// A row-level predicate; `nil` keeps every row.
    public var predicate: (@Sendable (Change) -> Bool)?

    public init(
        tables: [TablePattern] = [], operations: Set<Change.Operation> = [], columns: [String] = [],
        predicate: (@Sendable (Change) -> Bool)? = nil
    ) {
        self.tables = tables
        self.operations = operations
        self.columns = columns
        self.predicate = predicate
    }

    /// The change as the sinks should see it, or `nil` when it is filtered out.
    public func apply(_ change: consuming Change) -> Change? {
        if change.schema == Self.ownSchema { return nil }
        if !self.operations.isEmpty, !self.operations.contains(change.operation) { return nil }
        if !self.tables.isEmpty {
            let (schema, table) = (change.schema, change.table)
            if !self.tables.contains(where: { $0.matches(schema: schema, table: table) }) { return nil }
        }
        if let predicate = self.predicate, !predicate(change) { return nil }
        guard !self.columns.isEmpty else { return change }
        let keep = Set(self.columns).union(change.key.names)
        change.new = change.new.map { Row($0.columns.filter { keep.contains($0.name) }) }
        change.old = change.old.map { Row($0.columns.filter { keep.contains($0.name) }) }
        change.unchangedToast = change.unchangedToast.filter { keep.contains($0) }
        return change
    }
}
