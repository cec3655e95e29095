// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonEngine

/// What a sync does when a change meets a target row that a column of the row (an `updated_at`, a version number)
/// says is newer than the change's version: the two sides wrote the row concurrently.
///
/// Without a rule the source wins every time, which is right for a one-way sync and for two-way syncs where each row
/// is written on one side only. With one, a change whose column value is lower than the target row's is a conflict:
/// `newest` keeps the target's row (on both sides of a two-way sync the newest version wins, so they converge) and
/// `stop` stops the sync. Either way the conflict is recorded in `siphon.sync_conflicts` on the target with both
/// versions. A NULL on either side is no conflict; a delete always applies.
public struct ConflictRule: Sendable, Hashable, CustomStringConvertible {
    public enum Resolution: String, Sendable, Hashable, CaseIterable {
        case newest, stop
    }

    public var resolution: Resolution
    public var column: String

    public init(resolution: Resolution, column: String) {
        self.resolution = resolution
        self.column = column
    }

    /// `newest:updated_at` or `stop:version`.
    public init(parsing text: String) throws(SiphonError) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let resolution = Resolution(rawValue: parts[0]), !parts[1].isEmpty else {
            throw SiphonError(
                .invalidConfiguration,
                "invalid conflict rule '\(text)': write newest:COLUMN (the newer row wins) or stop:COLUMN (stop on a "
                    + "conflict), where COLUMN orders the versions of a row, e.g. newest:updated_at")
        }
        self.init(resolution: resolution, column: parts[1])
    }

    public var description: String { "\(self.resolution.rawValue):\(self.column)" }

    /// Conflicts are recorded here on the target, with both versions of the row.
    static let tableSQL = OwnTable.createSQL(
        "sync_conflicts",
        columns: """
            id bigserial PRIMARY KEY, sync text NOT NULL, table_name text NOT NULL, rule text NOT NULL,
            resolution text NOT NULL, source_row jsonb NOT NULL, target_row jsonb NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now()
            """)
}
