// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Siphon's own tables in the `siphon` schema (`ChangeFilter.ownSchema`: never captured), made on first use.
package enum OwnTable {
    /// Creates the schema and `siphon.<name>` with `columns` if missing. Two sessions that create it at once both
    /// try; the loser waits for the winner's commit and then fails on the catalog's unique index, which means the
    /// object is there.
    package static func createSQL(_ name: String, columns: String) -> String {
        """
        DO $siphon$ BEGIN
            BEGIN
                CREATE SCHEMA IF NOT EXISTS \(ChangeFilter.ownSchema);
            EXCEPTION WHEN unique_violation OR duplicate_schema THEN
                NULL;
            END;
            BEGIN
                CREATE TABLE IF NOT EXISTS \(ChangeFilter.ownSchema).\(name) (\(columns));
            EXCEPTION WHEN unique_violation OR duplicate_table THEN
                NULL;
            END;
        END $siphon$
        """
    }
}
