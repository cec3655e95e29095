// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// What makes an existing replication slot unusable for Siphon, decided in one place and one order for `setup`,
/// `doctor` and `run`; each says it in its own words (a plan problem, a check with a fix, an error).
public enum SlotMismatch: Sendable, Hashable {
    /// A physical slot: it streams WAL, not changes.
    case physical
    /// A logical slot of another output plugin.
    case plugin(String?)
    /// A logical pgoutput slot of another database: a walsender reads only its own database's slots.
    case database(String?)

    /// The first mismatch of a slot with this `pg_replication_slots` row, or `nil` when Siphon can read it.
    public init?(slotType: String?, plugin: String?, database: String?, expectedDatabase: String) {
        if slotType != "logical" {
            self = .physical
        } else if plugin != "pgoutput" {
            self = .plugin(plugin)
        } else if database != expectedDatabase {
            self = .database(database)
        } else {
            return nil
        }
    }
}
