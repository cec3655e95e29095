// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// One direction of a sync: where changes are read, where they are applied, and the names of the objects it uses
/// on each side (all derived from the sync's name, so setup, run and teardown agree on them).
public struct SyncDirection: Sendable {
    public var source: ConnectionSettings
    public var target: ConnectionSettings
    public var syncName: String
    /// The second direction of a two-way sync (target → source of the configuration).
    public var isReverse: Bool

    public init(source: ConnectionSettings, target: ConnectionSettings, syncName: String, isReverse: Bool) {
        self.source = source
        self.target = target
        self.syncName = syncName
        self.isReverse = isReverse
    }

    /// The slot and publication on the source; also the replication origin on the target and the target's
    /// `siphon.sync_progress` row. Slot and origin names are cluster-wide, so the two directions differ.
    public var slot: String { Self.baseName(self.syncName) + (self.isReverse ? "_reverse" : "") }
    public var publication: String { self.slot }
    public var origin: String { self.slot }
    public var progressKey: String { self.slot }
    /// Setup records the source's objects in this schema, so teardown removes exactly them.
    public var bookkeepingSchema: String { self.slot }

    /// Origins whose changes this direction drops: what either direction of this sync applied. A change the other
    /// direction wrote here must not go back.
    public var loopOrigins: Set<String> { [Self.baseName(self.syncName), Self.baseName(self.syncName) + "_reverse"] }

    static func baseName(_ syncName: String) -> String { "siphon_sync_" + syncName }

    /// Sync names become parts of slot names: lower-case letters, digits and `_`, short enough for the suffixes.
    public static func validate(name: String) throws(SiphonError) {
        let allowed = name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
        guard !name.isEmpty, name.utf8.count <= 40, allowed else {
            throw SiphonError(
                .invalidConfiguration,
                "invalid sync name '\(name)': use 1 to 40 lower-case letters, digits and underscores (it becomes part "
                    + "of slot and origin names)")
        }
    }
}
