// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonReplication
import SiphonWire

/// Checks the slot before streaming, so a missing or invalidated slot is an error that says what was lost —
/// never a silent restart from wherever the server happens to be.
enum SlotInspector {
    struct SlotState {
        var confirmedFlush: LSN
        var activePID: String?
    }

    static func inspect(connection: ServerConnection, slot: String) async throws -> SlotState {
        let result = try await connection.simpleQuery(
            """
            SELECT slot_type, plugin, database, active_pid, confirmed_flush_lsn, wal_status, current_database()
            FROM pg_replication_slots WHERE slot_name = \(SQLQuoting.literal(slot))
            """)
        guard let row = result.rows.first else {
            throw SiphonError(
                .slotUnavailable,
                "replication slot \"\(slot)\" does not exist. If Siphon read from it before, it was dropped and the "
                    + "changes made since then are lost: re-snapshot the tables downstream, then create the slot again "
                    + "with `siphon setup --slot \(slot)`. If this is a new pipeline, run `siphon setup` first.")
        }
        let (type, plugin, database, activePID, confirmed, walStatus, currentDatabase) =
            (row[0], row[1], row[2], row[3], row[4], row[5], row[6])
        switch SlotMismatch(slotType: type, plugin: plugin, database: database, expectedDatabase: currentDatabase ?? "") {
        case .physical, .plugin:
            throw SiphonError(
                .invalidConfiguration,
                "replication slot \"\(slot)\" is a \(type ?? "?") slot with plugin \(plugin ?? "none"); Siphon needs a "
                    + "logical slot with the pgoutput plugin (siphon setup creates one)")
        case .database:
            throw SiphonError(
                .invalidConfiguration,
                "replication slot \"\(slot)\" belongs to database \"\(database ?? "?")\", but the URL names "
                    + "\"\(currentDatabase ?? "?")\"; connect to the slot's database")
        case nil:
            break
        }
        if walStatus == "lost" {
            throw SiphonError(
                .changesLost,
                "replication slot \"\(slot)\" was invalidated (wal_status = lost): the server removed WAL it still "
                    + "needed, so changes were lost. Re-snapshot the tables downstream: drop the slot and create it "
                    + "again (siphon teardown, siphon setup --snapshot, siphon run); consider raising "
                    + "max_slot_wal_keep_size.")
        }
        guard let confirmedText = confirmed, let confirmedFlush = LSN(confirmedText) else {
            // A slot is listed while it is being created, which waits for every transaction then running to end.
            if let activePID { throw SlotBeingCreated(slot: slot, processID: activePID) }
            throw SiphonError(.slotUnavailable, "replication slot \"\(slot)\" has no confirmed position yet")
        }
        return SlotState(confirmedFlush: confirmedFlush, activePID: activePID)
    }
}

/// Another process is still creating the slot (it has no confirmed position yet): like a slot in use, something to
/// wait for as a standby, not a failure.
struct SlotBeingCreated: Error, CustomStringConvertible {
    var slot: String
    var processID: String

    var description: String {
        "replication slot \"\(self.slot)\" is still being created by process \(self.processID), which waits for the "
            + "transactions running when it started to end"
    }
}
