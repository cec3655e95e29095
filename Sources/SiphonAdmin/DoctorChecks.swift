// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Everything the doctor looks at, read from the server in one go.
struct DoctorFacts: Sendable, Hashable {
    var server: ServerFacts
    var relations: [CatalogRelation]
    var slot: SlotFacts?
    var publication: PublicationFacts?
    /// What `siphon.snapshots` records for the slot, oldest request first.
    var snapshots: [SnapshotFacts] = []
}

/// One table's snapshot as `siphon.snapshots` records it (written by `siphon run`'s snapshot readers).
struct SnapshotFacts: Sendable, Hashable {
    var table: TableName
    /// `pending`, `done` or `failed`.
    var state: String
    var rowsDone: Int64
    var rowsEstimated: Int64?
    var error: String?
}

/// The doctor's judgement: facts in, checks out. Pure, so every message and fix is tested with plain values.
struct DoctorChecks {
    typealias Check = DoctorReport.Check

    let options: DoctorOptions
    let facts: DoctorFacts
    var server: ServerFacts { self.facts.server }
    var role: String { SQLQuoting.identifier(self.server.role) }

    /// A slot whose retained WAL exceeds this share of `max_slot_wal_keep_size` gets a warning.
    static let retainedWALWarningPercent: Int64 = 80

    func evaluate() -> [Check] {
        var checks = [self.serverVersion(), self.walLevel(), self.replicationSlots(), self.walSenders()]
        checks.append(self.roleReplication())
        let tables = self.selectedTables()
        if let tables {
            checks += tables.problems.map {
                Check(
                    name: "tables",
                    status: .error,
                    message: $0,
                    fix: "correct the configured table list (see the message), or create the table"
                )
            }
            checks += self.tableSelect(tables)
        }
        if let slot = self.options.slot {
            checks += self.slotChecks(slot)
            checks += self.snapshotChecks(slot)
        }
        if let publication = self.options.publication { checks += self.publicationChecks(publication) }
        if let tables {
            checks += self.primaryKeys(tables)
            checks += self.toastIdentity(tables)
        }
        return checks
    }

    // MARK: Server

    private func serverVersion() -> Check {
        guard self.server.versionNumber >= 120000 else {
            return Check(
                name: "server_version",
                status: .error,
                message: "PostgreSQL \(self.server.version) is older than 12, the oldest version Siphon supports",
                fix: "upgrade PostgreSQL to version 12 or later"
            )
        }
        return Check(name: "server_version", status: .ok, message: "PostgreSQL \(self.server.version)")
    }

    private func walLevel() -> Check {
        guard self.server.walLevel == "logical" else {
            return Check(
                name: "wal_level",
                status: .error,
                message: "wal_level is '\(self.server.walLevel)', but logical replication needs 'logical'",
                fix: "ALTER SYSTEM SET wal_level = logical; -- then restart PostgreSQL"
            )
        }
        return Check(name: "wal_level", status: .ok, message: "wal_level is logical")
    }

    private func replicationSlots() -> Check {
        let needed = self.options.slot != nil && self.facts.slot == nil ? 1 : 0
        return Self.headroom(
            name: "replication_slots",
            setting: "max_replication_slots",
            noun: "replication slots",
            used: self.server.usedReplicationSlots,
            maximum: self.server.maxReplicationSlots,
            needed: needed,
            remedy: "or drop unused slots: SELECT pg_drop_replication_slot('<name>');"
        )
    }

    private func walSenders() -> Check {
        let needed = self.facts.slot?.isActive == true ? 0 : 1
        return Self.headroom(
            name: "wal_senders",
            setting: "max_wal_senders",
            noun: "WAL senders",
            used: self.server.usedWALSenders,
            maximum: self.server.maxWALSenders,
            needed: needed,
            remedy: nil
        )
    }

    private static func headroom(
        name: String,
        setting: String,
        noun: String,
        used: Int,
        maximum: Int,
        needed: Int,
        remedy: String?
    ) -> Check {
        let fix =
            "ALTER SYSTEM SET \(setting) = \(max(maximum + 4, used + needed + 4)); -- then restart PostgreSQL"
            + (remedy.map { "\n" + $0 } ?? "")
        let free = maximum - used
        if free < needed {
            return Check(
                name: name,
                status: .error,
                message: "\(used) of \(maximum) \(noun) are in use (\(setting)); Siphon needs \(needed) more",
                fix: fix
            )
        }
        if free == needed {
            return Check(
                name: name,
                status: .warning,
                message: "\(used) of \(maximum) \(noun) are in use (\(setting))"
                    + (needed > 0 ? "; Siphon takes the last one" : "") + ", so none is left to spare",
                fix: fix
            )
        }
        return Check(name: name, status: .ok, message: "\(used) of \(maximum) \(noun) in use (\(setting))")
    }

    private func roleReplication() -> Check {
        if self.server.isSuperuser {
            return Check(name: "role_replication", status: .ok, message: "role \(self.role) is a superuser")
        }
        if self.server.hasReplication {
            return Check(name: "role_replication", status: .ok, message: "role \(self.role) has REPLICATION")
        }
        return Check(
            name: "role_replication",
            status: .error,
            message: "role \(self.role) has neither REPLICATION nor superuser, so it cannot stream changes",
            fix: "ALTER ROLE \(self.role) REPLICATION;"
        )
    }

    // MARK: Tables

    /// The configured tables, or, without configuration, what the publication publishes.
    private func selectedTables() -> ResolvedTables? {
        let selection: TableSelection
        if let configured = self.options.tables {
            selection = configured
        } else if let publication = self.facts.publication {
            selection =
                publication.allTables ? .allTables : .matching(publication.tables.sorted().map { TablePattern($0) })
        } else {
            return nil
        }
        return ResolvedTables(
            selection,
            relations: self.facts.relations,
            serverVersion: self.server.versionNumber,
            bookkeepingSchema: self.options.schema
        )
    }

    private func tableSelect(_ tables: ResolvedTables) -> [Check] {
        let unreadable = tables.published.filter { !$0.canSelect }
        guard !unreadable.isEmpty else {
            return [
                Check(
                    name: "table_select",
                    status: .ok,
                    message: "role \(self.role) can read all \(tables.published.count) tables"
                )
            ]
        }
        return unreadable.map {
            Check(
                name: "table_select",
                subject: $0.name.description,
                status: .error,
                message: "role \(self.role) cannot SELECT from \($0.name), so it cannot snapshot it",
                fix: "GRANT SELECT ON \($0.name) TO \(self.role);"
            )
        }
    }

    private func primaryKeys(_ tables: ResolvedTables) -> [Check] {
        let problems = tables.identityTargets.compactMap { table in table.identityProblem.map { (table, $0) } }
        guard !problems.isEmpty else {
            return [
                Check(
                    name: "primary_key",
                    status: .ok,
                    message: "all \(tables.identityTargets.count) tables have a primary key or a usable replica "
                        + "identity"
                )
            ]
        }
        return problems.map { table, problem in
            Check(
                name: "primary_key",
                subject: table.name.description,
                status: .error,
                message: "table \(table.name) \(problem), so UPDATE and DELETE on it cannot be replicated (and once "
                    + "it is published, PostgreSQL rejects them)",
                fix: table.identityFixes.joined(separator: "\nor: ")
            )
        }
    }

    private func toastIdentity(_ tables: ResolvedTables) -> [Check] {
        let affected = tables.identityTargets.filter { !$0.toastableColumns.isEmpty && $0.replicaIdentity != .full }
        guard !affected.isEmpty else {
            return [
                Check(
                    name: "toast_identity",
                    status: .ok,
                    message: "no table without REPLICA IDENTITY FULL has TOAST-able columns"
                )
            ]
        }
        return affected.map { table in
            let columns = table.toastableColumns.joined(separator: ", ")
            return Check(
                name: "toast_identity",
                subject: table.name.description,
                status: .warning,
                message:
                    "table \(table.name) has TOAST-able \(table.toastableColumns.count == 1 ? "column" : "columns") "
                    + "\(columns) without REPLICA IDENTITY FULL: old values of unchanged large columns will not be "
                    + "in UPDATE/DELETE",
                fix: "ALTER TABLE \(table.name) REPLICA IDENTITY FULL;"
            )
        }
    }

    // MARK: Slot

    private func slotChecks(_ name: String) -> [Check] {
        let literal = SQLQuoting.literal(name)
        guard let slot = self.facts.slot else {
            return [
                Check(
                    name: "slot",
                    subject: name,
                    status: .error,
                    message: "replication slot \(name) does not exist",
                    fix: "siphon setup, or: SELECT pg_create_logical_replication_slot(\(literal), 'pgoutput');"
                )
            ]
        }
        let recreate =
            "SELECT pg_drop_replication_slot(\(literal));\n"
            + "SELECT pg_create_logical_replication_slot(\(literal), 'pgoutput');"
        switch slot.mismatch(expectedDatabase: self.server.database) {
        case .physical:
            return [
                Check(
                    name: "slot",
                    subject: name,
                    status: .error,
                    message: "replication slot \(name) is a physical slot, not a logical one",
                    fix: recreate
                )
            ]
        case .plugin(let plugin):
            return [
                Check(
                    name: "slot",
                    subject: name,
                    status: .error,
                    message: "replication slot \(name) uses the plugin '\(plugin ?? "")', not pgoutput",
                    fix: recreate
                )
            ]
        case .database(let database):
            return [
                Check(
                    name: "slot",
                    subject: name,
                    status: .error,
                    message: "replication slot \(name) belongs to database \(database ?? "?"), not "
                        + "\(self.server.database)",
                    fix: "connect to database \(database ?? "?"), or create a slot here: "
                        + "SELECT pg_create_logical_replication_slot('<new name>', 'pgoutput');"
                )
            ]
        case nil:
            break
        }
        var checks: [Check] = []
        if slot.isActive {
            let application = slot.holderApplication.flatMap { $0.isEmpty ? nil : " (application '\($0)')" } ?? ""
            checks.append(
                Check(
                    name: "slot",
                    subject: name,
                    status: .ok,
                    message: "replication slot \(name) (pgoutput) is active, read by PID "
                        + "\(slot.activePID.map(String.init) ?? "?")\(application)"
                )
            )
        } else {
            checks.append(
                Check(
                    name: "slot",
                    subject: name,
                    status: .ok,
                    message: "replication slot \(name) (pgoutput) exists and is not in use"
                )
            )
        }
        if let status = slot.walStatus {
            checks.append(self.walStatus(status, slot: name, literal: literal))
        }
        if let retained = slot.retainedBytes {
            checks.append(self.retainedWAL(retained, slot: name))
        }
        return checks
    }

    /// One check per recorded snapshot: done and under way are fine; a failed one says why. Table names stay out of
    /// the fix's command line (they may hold anything); the check's subject names the table.
    private func snapshotChecks(_ slot: String) -> [Check] {
        self.facts.snapshots.map { snapshot in
            let table = snapshot.table.description
            let rows = snapshot.rowsEstimated.map { "\(snapshot.rowsDone) of ~\($0) rows" } ?? "\(snapshot.rowsDone) rows"
            switch snapshot.state {
            case "failed":
                return Check(
                    name: "snapshot", subject: table, status: .warning,
                    message: "the snapshot of \(table) failed: \(snapshot.error ?? "no reason recorded")",
                    fix: "fix what the message says, then ask again: siphon snapshot --slot \(slot) --table followed by the table")
            case "pending":
                return Check(
                    name: "snapshot", subject: table, status: .ok,
                    message: "the snapshot of \(table) is under way (\(rows) delivered); `siphon run` on slot \(slot) reads it")
            default:
                return Check(name: "snapshot", subject: table, status: .ok, message: "\(table) was snapshotted (\(rows))")
            }
        }
    }

    private func walStatus(_ status: String, slot: String, literal: String) -> Check {
        switch status {
        case "reserved":
            return Check(
                name: "slot_wal_status",
                subject: slot,
                status: .ok,
                message: "the WAL slot \(slot) needs is reserved (wal_status reserved)"
            )
        case "extended":
            return Check(
                name: "slot_wal_status",
                subject: slot,
                status: .warning,
                message: "slot \(slot) holds more WAL than max_wal_size (wal_status extended); it is kept only "
                    + "because of max_slot_wal_keep_size or wal_keep_size",
                fix: "start siphon run so the slot catches up"
            )
        case "unreserved":
            return Check(
                name: "slot_wal_status",
                subject: slot,
                status: .warning,
                message: "slot \(slot) holds more WAL than max_slot_wal_keep_size allows (wal_status unreserved): "
                    + "the next checkpoint removes WAL it needs, and its changes will be lost",
                fix: "start siphon run now so the slot catches up, or raise the limit: "
                    + "ALTER SYSTEM SET max_slot_wal_keep_size = '<size>'; SELECT pg_reload_conf();"
            )
        case "lost":
            return Check(
                name: "slot_wal_status",
                subject: slot,
                status: .error,
                message: "the WAL slot \(slot) needed was removed (wal_status lost): changes were lost, and the "
                    + "tables must be snapshotted again",
                fix: "SELECT pg_drop_replication_slot(\(literal)); then run siphon setup again, start siphon run, and "
                    + "deliver the tables' rows again with siphon snapshot --all-tables"
            )
        default:
            return Check(
                name: "slot_wal_status",
                subject: slot,
                status: .warning,
                message: "slot \(slot) has the unknown wal_status '\(status)'"
            )
        }
    }

    private func retainedWAL(_ retained: Int64, slot: String) -> Check {
        let held = "slot \(slot) holds \(Self.bytes(retained)) of WAL"
        guard let limit = self.server.maxSlotWALKeepSize else {
            if retained > self.server.maxWALSize {
                return Check(
                    name: "slot_retained_wal",
                    subject: slot,
                    status: .warning,
                    message: held + ", more than max_wal_size (\(Self.bytes(self.server.maxWALSize))), and "
                        + "max_slot_wal_keep_size is unlimited, so a stopped reader can fill the disk",
                    fix: "start siphon run so the slot catches up, and cap it: "
                        + "ALTER SYSTEM SET max_slot_wal_keep_size = '<size>'; SELECT pg_reload_conf();"
                )
            }
            return Check(
                name: "slot_retained_wal",
                subject: slot,
                status: .ok,
                message: held + " (max_slot_wal_keep_size is unlimited)"
            )
        }
        if retained * 100 >= limit * Self.retainedWALWarningPercent {
            return Check(
                name: "slot_retained_wal",
                subject: slot,
                status: .warning,
                message: held + ", \(retained * 100 / max(limit, 1))% of max_slot_wal_keep_size "
                    + "(\(Self.bytes(limit))); past it, the slot loses changes",
                fix: "start siphon run so the slot catches up, or raise the limit: "
                    + "ALTER SYSTEM SET max_slot_wal_keep_size = '\(Self.megabytes(limit * 2))'; "
                    + "SELECT pg_reload_conf();"
            )
        }
        return Check(
            name: "slot_retained_wal",
            subject: slot,
            status: .ok,
            message: held + " of at most \(Self.bytes(limit)) (max_slot_wal_keep_size)"
        )
    }

    // MARK: Publication

    private func publicationChecks(_ name: String) -> [Check] {
        let quoted = SQLQuoting.identifier(name)
        guard let publication = self.facts.publication else {
            let target: String
            switch self.options.tables {
            case .allTables, nil: target = "FOR ALL TABLES"
            case .matching:
                let tables = self.selectedTables()?.published.map(\.name.description) ?? []
                target = tables.isEmpty ? "FOR TABLE <tables>" : "FOR TABLE " + tables.joined(separator: ", ")
            }
            return [
                Check(
                    name: "publication",
                    subject: name,
                    status: .error,
                    message: "publication \(quoted) does not exist",
                    fix: "siphon setup, or: CREATE PUBLICATION \(quoted) \(target);"
                )
            ]
        }
        var checks = [
            Check(
                name: "publication",
                subject: name,
                status: .ok,
                message: "publication \(quoted) exists"
                    + (publication.allTables ? " (FOR ALL TABLES)" : " (\(publication.tables.count) tables)")
            )
        ]
        if let configured = self.options.tables, let resolved = self.selectedTables() {
            let comparison = PublicationComparison(
                publication,
                wanted: configured,
                resolved: resolved,
                relations: self.facts.relations,
                serverVersion: self.server.versionNumber
            )
            checks += self.tableDifferences(comparison, publication: quoted)
        }
        let missing = publication.missingOperations
        if missing.isEmpty {
            checks.append(
                Check(
                    name: "publication_operations",
                    subject: name,
                    status: .ok,
                    message: "publication \(quoted) publishes insert, update, delete and truncate"
                )
            )
        } else {
            checks.append(
                Check(
                    name: "publication_operations",
                    subject: name,
                    status: .warning,
                    message: "publication \(quoted) does not publish \(missing.joined(separator: ", ")), so those "
                        + "changes never arrive",
                    fix: "ALTER PUBLICATION \(quoted) SET (publish = 'insert, update, delete, truncate');"
                )
            )
        }
        return checks
    }

    private func tableDifferences(_ comparison: PublicationComparison, publication quoted: String) -> [Check] {
        var checks: [Check] = []
        if let mismatch = comparison.allTablesMismatch {
            let fix =
                self.options.tables == .allTables
                ? "DROP PUBLICATION \(quoted); CREATE PUBLICATION \(quoted) FOR ALL TABLES;"
                : "DROP PUBLICATION \(quoted); CREATE PUBLICATION \(quoted) FOR TABLE "
                    + (self.selectedTables()?.published.map(\.name.description).joined(separator: ", ") ?? "") + ";"
            checks.append(
                Check(
                    name: "publication_tables",
                    status: comparison.missing.isEmpty ? .warning : .error,
                    message: "publication \(quoted): \(mismatch)",
                    fix: fix
                )
            )
        } else {
            if !comparison.missing.isEmpty {
                let list = comparison.missing.map(\.description).joined(separator: ", ")
                checks.append(
                    Check(
                        name: "publication_tables",
                        status: .error,
                        message: "publication \(quoted) does not publish the configured tables \(list), so their "
                            + "changes never arrive",
                        fix: "ALTER PUBLICATION \(quoted) ADD TABLE \(list);"
                    )
                )
            }
            if !comparison.extra.isEmpty {
                let list = comparison.extra.map(\.description).joined(separator: ", ")
                checks.append(
                    Check(
                        name: "publication_tables",
                        status: .warning,
                        message: "publication \(quoted) also publishes \(list), which are not configured",
                        fix: "ALTER PUBLICATION \(quoted) DROP TABLE \(list);"
                    )
                )
            }
        }
        if checks.isEmpty {
            checks.append(
                Check(
                    name: "publication_tables",
                    status: .ok,
                    message: "publication \(quoted) publishes exactly the configured tables"
                )
            )
        }
        return checks
    }

    // MARK: Formatting

    /// `12.3 MB (12902400 bytes)`.
    static func bytes(_ count: Int64) -> String {
        let units = ["kB", "MB", "GB", "TB"]
        var value = count * 10
        var unit = "bytes"
        for next in units where value >= 1024 * 10 {
            value /= 1024
            unit = next
        }
        if unit == "bytes" { return "\(count) bytes" }
        return "\(value / 10).\(value % 10) \(unit) (\(count) bytes)"
    }

    /// A size in whole megabytes for `ALTER SYSTEM SET`, e.g. `2048MB`.
    static func megabytes(_ count: Int64) -> String {
        "\((count + 1024 * 1024 - 1) / (1024 * 1024))MB"
    }
}
