// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// How a side's changes are read.
public enum SyncCapture: String, Sendable, Hashable, CaseIterable {
    /// A logical replication slot (needs `wal_level=logical` and the REPLICATION attribute).
    case logical
    /// A trigger outbox, for a side without logical replication.
    case trigger
}

/// One direction of a sync: where changes are read, where they are applied, and the names of the objects it uses
/// on each side (all derived from the sync's name, so setup, run and teardown agree on them).
public struct SyncDirection: Sendable {
    public var source: ConnectionSettings
    public var target: ConnectionSettings
    public var syncName: String
    /// The second direction of a two-way sync (target → source of the configuration).
    public var isReverse: Bool
    /// How the source's changes are read.
    public var capture: SyncCapture

    public init(
        source: ConnectionSettings, target: ConnectionSettings, syncName: String, isReverse: Bool,
        capture: SyncCapture = .logical
    ) {
        self.source = source
        self.target = target
        self.syncName = syncName
        self.isReverse = isReverse
        self.capture = capture
    }

    /// The slot and publication on the source; also the replication origin on the target and the target's
    /// `siphon.sync_progress` row. Slot and origin names are cluster-wide, so the two directions differ.
    public var slot: String { Self.baseName(self.syncName) + (self.isReverse ? "_reverse" : "") }
    public var publication: String { self.slot }
    public var origin: String { self.slot }
    public var progressKey: String { self.slot }
    /// Setup records the source's objects in this schema, so teardown removes exactly them.
    public var bookkeepingSchema: String { self.slot }
    /// With trigger capture: the outbox on the source (in Siphon's schema) and the consumer group that reads it.
    public var outbox: String { "sync_" + self.syncName + (self.isReverse ? "_reverse" : "") }
    public static let outboxGroup = "sync"

    /// Origins whose changes this direction drops: what either direction of this sync applied. A change the other
    /// direction wrote here must not go back.
    public var loopOrigins: Set<String> { [Self.baseName(self.syncName), Self.baseName(self.syncName) + "_reverse"] }

    static func baseName(_ syncName: String) -> String { "siphon_sync_" + syncName }

    /// Sync names become parts of slot, origin and outbox names: lower-case letters, digits and `_`, short enough
    /// for their prefixes and suffixes.
    public static func validate(name: String) throws(SiphonError) {
        let allowed = name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
        guard !name.isEmpty, name.utf8.count <= 24, allowed else {
            throw SiphonError(
                .invalidConfiguration,
                "invalid sync name '\(name)': use 1 to 24 lower-case letters, digits and underscores (it becomes part "
                    + "of slot, origin and outbox names)")
        }
    }
}
