// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// What to capture with triggers, and where the changes go: an outbox table or a notify channel.
///
/// ```swift
/// let specification = CaptureSpecification(
///     target: .outbox(name: "outbox"),
///     tables: [TableCapture(try TablePattern(parsing: "public.orders"), operations: [.update],
///                           condition: "OLD.canceled IS DISTINCT FROM NEW.canceled")])
/// let migration = try await TriggerCapture.plan(specification, settings: settings, logger: logger)
/// print(migration.up)
/// ```
public struct CaptureSpecification: Sendable, Hashable {
    /// The schema that holds Siphon's tables and functions (created when missing).
    public var schema: String
    /// Where the triggers send changes.
    public var target: CaptureTarget
    /// The tables and, per table, which changes to capture.
    public var tables: [TableCapture]
    /// Also capture writes made through Siphon's own connections (`SET siphon.origin = 'siphon'`). Off by default, so
    /// a handler that writes back to a captured table does not call itself forever.
    public var captureOwnWrites: Bool
    /// Outbox only: the consumer groups to register when the outbox is created, so the outbox keeps every change
    /// for them from the start even before their first reader runs.
    public var groups: [ConsumerGroup]
    /// Outbox only: wake readers at once with a `pg_notify` whose payload is constant (PostgreSQL sends it once
    /// per transaction). Without it, readers find changes by polling.
    public var wakeUpReaders: Bool

    public init(
        schema: String = TriggerCapture.defaultSchema, target: CaptureTarget, tables: [TableCapture],
        captureOwnWrites: Bool = false, groups: [ConsumerGroup] = [ConsumerGroup()], wakeUpReaders: Bool = true
    ) {
        self.schema = schema
        self.target = target
        self.tables = tables
        self.captureOwnWrites = captureOwnWrites
        self.groups = groups
        self.wakeUpReaders = wakeUpReaders
    }
}

/// Where trigger-captured changes go.
public enum CaptureTarget: Sendable, Hashable, CustomStringConvertible {
    /// A table in Siphon's schema, written in the user's transaction and read by `OutboxSource`: every committed
    /// change, nothing lost.
    case outbox(name: String)
    /// `pg_notify` on this channel, read by `NotifySource`: best effort, lost while nobody listens.
    case notify(channel: String)

    public var description: String {
        switch self {
        case .outbox(let name): return "outbox \(name)"
        case .notify(let channel): return "notify channel \(channel)"
        }
    }
}

/// One or more tables (a pattern) and which of their changes to capture.
public struct TableCapture: Sendable, Hashable {
    /// The tables: `public.orders`, `sales.*`, `public."Order Items"`.
    public var tables: TablePattern
    /// The operations to capture; every operation by default.
    public var operations: Set<Change.Operation>
    /// Capture an update only when one of these columns changed (`IS DISTINCT FROM`); empty means any update.
    public var columns: [String]
    /// A trigger `WHEN` condition in SQL, e.g. `OLD.canceled IS DISTINCT FROM NEW.canceled`, applied to the row
    /// operations (not truncate). It may name `OLD` only for updates and deletes, `NEW` only for inserts and updates.
    public var condition: String?
    /// What `old` carries for updates and deletes.
    public var oldRow: OldRowChoice

    public init(
        _ tables: TablePattern, operations: Set<Change.Operation> = Set(Change.Operation.allCases),
        columns: [String] = [], condition: String? = nil, oldRow: OldRowChoice = .replicaIdentity
    ) {
        self.tables = tables
        self.operations = operations
        self.columns = columns
        self.condition = condition
        self.oldRow = oldRow
    }
}

/// What the old row of an update or delete carries.
public enum OldRowChoice: String, Sendable, Hashable, CaseIterable {
    /// As logical replication would send it: every column when the table has `REPLICA IDENTITY FULL`, otherwise the
    /// key columns (for updates only when the key changed).
    case replicaIdentity = "identity"
    /// The key columns: always for deletes, for updates only when the key changed.
    case key
    /// Every column, always.
    case full
}

/// Readers that share the work of delivering an outbox's changes: each change reaches each group once.
///
/// The outbox is split into `partitions` by a hash of the key; a partition is read by one reader of the group at a
/// time, so changes of one key stay in commit order while several readers work in parallel.
public struct ConsumerGroup: Sendable, Hashable {
    public var name: String
    public var partitions: Int

    public init(name: String = "default", partitions: Int = 1) {
        self.name = name
        self.partitions = partitions
    }
}
