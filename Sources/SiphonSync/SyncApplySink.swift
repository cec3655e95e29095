// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonEngine
import SiphonReplication
import SiphonTrigger
import Synchronization

/// Applies changes to the same tables in another database: the sink end of a sync.
///
/// Each delivered batch is one target transaction that also records, in `siphon.sync_progress`, the id of the last
/// change it applied. The pipeline acknowledges the source only after `deliver` returned, i.e. after that commit; after
/// a crash the source sends again what was not acknowledged, and every change at or below the recorded id is
/// dropped, so each change takes effect exactly once. A source transaction larger than the batch size is applied in
/// parts of that size, each exactly once.
///
/// The apply session runs with `session_replication_role = replica` (the target's triggers and foreign keys do not
/// fire, as in PostgreSQL's own subscriptions) and under the direction's replication origin, so the WAL it writes
/// names that origin, and a sync in the other direction drops those changes instead of sending them back.
public final class SyncApplySink: SourceBoundSink {
    public let name: String
    private let direction: SyncDirection
    private let tables: [TableName]
    private let rules: [TableName: ConflictRule]
    private let connection: HeldConnection
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var progress: SyncProgress?
        var targetTables: [TableName: SyncTable] = [:]
        /// When the seen position was last written.
        var seenWritten: ContinuousClock.Instant?
    }

    /// How often the seen position is written at most: a write per acknowledgement would cost a target transaction
    /// per source transaction.
    static let seenWriteInterval: Duration = .milliseconds(200)

    /// How far the target got, as `siphon.sync_progress` records it.
    struct SyncProgress: Sendable, Hashable {
        var source: SourceIdentity
        /// The last change applied.
        var applied: Change.ID?
        /// The furthest slot position the pipeline confirmed (or the server reported sending) for this target.
        var seen: LSN
    }

    static let progressTableSQL = OwnTable.createSQL(
        "sync_progress",
        columns: """
            name text PRIMARY KEY, source text NOT NULL, applied_source text, applied_lsn pg_lsn,
            applied_index int, seen_lsn pg_lsn NOT NULL, updated_at timestamptz NOT NULL DEFAULT now()
            """)

    public init(
        direction: SyncDirection, tables: [TableName], rules: [TableName: ConflictRule] = [:], logger: Logger
    ) {
        self.direction = direction
        self.tables = tables
        self.rules = rules
        self.name = "sync:\(direction.target)"
        self.logger = logger
        let origin = direction.origin
        self.connection = HeldConnection(settings: direction.target, logger: logger) { connection in
            // Replica mode keeps the target's triggers (a trigger outbox among them) from firing; the origin marks
            // the writes as Siphon's own for an outbox trigger enabled ALWAYS, which then skips them too.
            try await connection.simpleQuery("SET session_replication_role = replica")
            try await connection.simpleQuery(TriggerCapture.markOwnWritesSQL)
            try await connection.query("SELECT pg_replication_origin_session_setup($1)", parameters: [origin])
        }
    }

    public func bind(to source: SourceIdentity, slotPosition: LSN?) async throws {
        let key = self.direction.progressKey
        let tables = self.tables
        let (recorded, targetTables) = try await self.connection.run { connection in
            let targetTables = try await Self.targetTables(tables, on: connection)
            let row = try await connection.query(
                """
                SELECT source, applied_source, applied_lsn, applied_index, seen_lsn FROM siphon.sync_progress
                WHERE name = $1
                """, parameters: [key]
            ).rows.first
            return (row.map(Self.progress(from:)) ?? nil, targetTables)
        }
        if let recorded {
            let differences = source.differences(from: recorded.source)
            guard differences.isEmpty else {
                throw SiphonError(
                    .invalidConfiguration,
                    "the target was synced from another source (\(differences.joined(separator: "; "))), as "
                        + "siphon.sync_progress row \(SQLQuoting.literal(key)) records; sync it under another --name, "
                        + "or remove the old sync first (siphon sync --teardown)")
            }
            if let slotPosition, slotPosition > recorded.seen {
                throw SiphonError(
                    .changesLost,
                    "replication slot \(SQLQuoting.identifier(self.direction.slot)) starts at \(slotPosition), but the "
                        + "target only applied up to \(recorded.seen): the slot was dropped and created again, or moved "
                        + "on by something else, so changes committed in between never reached the target. Remove "
                        + "the sync (siphon sync --teardown) and start it again, which copies the tables afresh.")
            }
        }
        let progress = recorded ?? SyncProgress(source: source, applied: nil, seen: slotPosition ?? .zero)
        if recorded == nil {
            let sourceText = Self.text(of: source)
            let seen = progress.seen.description
            try await self.connection.run { connection in
                try await connection.query(
                    "INSERT INTO siphon.sync_progress (name, source, seen_lsn) VALUES ($1, $2, $3::pg_lsn)",
                    parameters: [key, sourceText, seen])
            }
        }
        self.state.withLock {
            $0.progress = progress
            $0.targetTables = targetTables
        }
    }

    public func confirming(_ lsn: LSN, seenUpTo: LSN) async throws -> LSN {
        let now = ContinuousClock.now
        let (progress, written) = self.state.withLock { ($0.progress, $0.seenWritten) }
        guard let progress, lsn > progress.seen else { return lsn }
        // Between writes the slot is confirmed only up to the position recorded: what a crash then sends again, the
        // target drops as applied.
        if let written, now - written < Self.seenWriteInterval { return progress.seen }
        // Recording the furthest position seen saves a write for every confirmation up to it.
        let key = self.direction.progressKey
        try await self.connection.run { connection in
            try await connection.query(
                "UPDATE siphon.sync_progress SET seen_lsn = $2::pg_lsn, updated_at = now() WHERE name = $1",
                parameters: [key, seenUpTo.description])
        }
        self.state.withLock {
            $0.progress?.seen = seenUpTo
            $0.seenWritten = now
        }
        return lsn
    }

    public func deliver(_ changes: [Change]) async throws {
        let (progress, tables) = self.state.withLock { ($0.progress, $0.targetTables) }
        guard let progress else {
            throw SiphonError(.invalidConfiguration, "\(self.name) received changes before it was bound to a source")
        }
        let skippedOrigins = self.direction.loopOrigins
        let fresh = changes.filter { change in
            if let origin = change.origin, skippedOrigins.contains(origin) { return false }
            guard let applied = progress.applied, applied.source == change.id.source else { return true }
            return change.id > applied
        }
        guard let last = fresh.last else { return }
        let plan: ApplyPlan
        do {
            plan = try ApplyPlan(fresh, tables: tables, rules: self.rules)
        } catch is ApplyPlan.UnknownColumns {
            plan = try await self.planWithTablesLookedUpAgain(fresh)
        }
        let key = self.direction.progressKey
        let logger = self.logger
        // Round trips are most of a small batch's cost: the transaction's frame goes as one simple query at each end.
        // The values in it are Siphon's own (positions, a time, names made from the validated sync name), quoted all
        // the same. The origin's own progress follows the source too (pg_replication_origin_status), and the commit
        // carries the source's commit time.
        let begin =
            "BEGIN; SELECT pg_replication_origin_xact_setup(\(SQLQuoting.literal(last.lsn.description))::pg_lsn, "
            + "\(SQLQuoting.literal(last.commitTime.description))::timestamptz)"
        let commit = """
            UPDATE siphon.sync_progress SET applied_source = \(SQLQuoting.literal(last.id.source)),
                applied_lsn = \(SQLQuoting.literal(last.lsn.description))::pg_lsn, applied_index = \(last.id.index),
                updated_at = now()
            WHERE name = \(SQLQuoting.literal(key));
            COMMIT
            """
        try await self.connection.run { connection in
            do {
                try await connection.simpleQuery(begin)
                for statement in plan.statements {
                    let conflicts = try await Self.resolveConflicts(of: statement, sync: key, on: connection, logger: logger)
                    let result: QueryResult
                    if let parameter = statement.parameter {
                        result = try await connection.query(statement.sql, parameters: [parameter])
                    } else {
                        result = try await connection.simpleQuery(statement.sql)
                    }
                    Self.checkRowCount(result.commandTag, of: statement, conflicts: conflicts, logger: logger)
                }
                try await connection.simpleQuery(commit)
            } catch {
                _ = try? await connection.simpleQuery("ROLLBACK")
                throw error
            }
        }
        self.state.withLock { $0.progress?.applied = last.id }
    }

    public func close() async throws {
        await self.connection.close()
    }

    /// The synced tables as the target has them.
    private static func targetTables(_ names: [TableName], on connection: ServerConnection) async throws
        -> [TableName: SyncTable]
    {
        var tables: [TableName: SyncTable] = [:]
        for name in names {
            guard let table = try await SyncTable.resolve(name, side: "target", on: connection) else {
                throw SiphonError(
                    .invalidConfiguration,
                    "table \(name) does not exist on the target; create it (siphon sync --create-tables does)")
            }
            tables[name] = table
        }
        return tables
    }

    /// Plans `changes` with the target's tables looked up again: they carry a column the tables did not have when
    /// they were last looked up (one added since, on both sides). A column the target still lacks is an error that
    /// says how to add it.
    private func planWithTablesLookedUpAgain(_ changes: [Change]) async throws -> ApplyPlan {
        let names = self.tables
        let tables = try await self.connection.run { try await Self.targetTables(names, on: $0) }
        self.state.withLock { $0.targetTables = tables }
        do {
            return try ApplyPlan(changes, tables: tables, rules: self.rules)
        } catch let missing as ApplyPlan.UnknownColumns {
            throw SiphonError(
                .invalidConfiguration,
                missing.columns.map { column in
                    let name = SQLQuoting.identifier(column.name)
                    return "column \(name) of \(column.table) arrived from the source, but the target's table has no "
                        + "such column; add it with the source's type (ALTER TABLE \(column.table) ADD COLUMN \(name) …;) "
                        + "and start the sync again. Add columns on the target first."
                }.joined(separator: "\n"))
        }
    }

    /// Records the rows of `statement` that meet a newer target row under the table's conflict rule, and returns
    /// how many there are; under `stop`, throws instead (the conflict is recorded outside the batch's transaction,
    /// which rolls back, once however often the delivery is retried).
    private static func resolveConflicts(
        of statement: ApplyPlan.Statement, sync: String, on connection: ServerConnection, logger: Logger
    ) async throws -> Int {
        guard let rule = statement.rule, let conflictSQL = statement.conflictSQL, let parameter = statement.parameter
        else { return 0 }
        let record = """
            INSERT INTO siphon.sync_conflicts (sync, table_name, rule, resolution, source_row, target_row)
            SELECT $2, $3, $4, $5, c.s::jsonb, c.t::jsonb FROM (\(conflictSQL)) AS c(s, t)
            WHERE NOT EXISTS (
                SELECT FROM siphon.sync_conflicts o
                WHERE o.sync = $2 AND o.source_row = c.s::jsonb AND o.target_row = c.t::jsonb)
            """
        let table = statement.table.description
        switch rule.resolution {
        case .newest:
            let tag = try await connection.query(
                record, parameters: [parameter, sync, table, rule.description, "kept the newer target row"]
            ).commandTag
            let count = tag.split(separator: " ").last.flatMap { Int($0) } ?? 0
            if count > 0 {
                logger.notice(
                    "Conflicts: the target held newer rows, which were kept (siphon.sync_conflicts)",
                    metadata: ["pg.table": "\(table)", "rows": "\(count)", "rule": "\(rule)"])
            }
            return count
        case .stop:
            let conflicts = try await connection.query(conflictSQL, parameters: [parameter]).rows
            guard let first = conflicts.first else { return 0 }
            _ = try? await connection.simpleQuery("ROLLBACK")
            try await connection.query(record, parameters: [parameter, sync, table, rule.description, "stopped"])
            throw SiphonError(
                .sinkRejected,
                "conflict in \(table) under the rule \(rule): the target's row \(first[1] ?? "?") is newer than the "
                    + "source's \(first[0] ?? "?") (\(conflicts.count) such rows, recorded in siphon.sync_conflicts on "
                    + "the target); decide which version is right, update the rows so the target's is not newer, and "
                    + "start the sync again")
        }
    }

    /// A statement that touched fewer rows than it carried, beyond the conflicts it left alone, found the target
    /// without rows the source had: the two had drifted apart before. Deletes of missing rows are harmless; an update
    /// that keeps unchanged large values cannot recreate a missing row and is reported, so `siphon verify` can find it.
    private static func checkRowCount(
        _ tag: String, of statement: ApplyPlan.Statement, conflicts: Int, logger: Logger
    ) {
        guard statement.kind == .update || statement.kind == .delete,
            let touched = tag.split(separator: " ").last.flatMap({ Int($0) }), touched + conflicts < statement.rows
        else { return }
        let missing = statement.rows - conflicts - touched
        if statement.kind == .update {
            logger.error(
                "Rows updated on the source are missing on the target; they were not applied (run siphon verify)",
                metadata: ["pg.table": "\(statement.table)", "rows": "\(missing)"])
        } else {
            logger.notice(
                "Rows deleted on the source were already missing on the target",
                metadata: ["pg.table": "\(statement.table)", "rows": "\(missing)"])
        }
    }

    private static func text(of source: SourceIdentity) -> String {
        ([source.changeSource] + source.fields.map { "\($0.name)=\($0.value)" }).joined(separator: "\n")
    }

    private static func progress(from row: [String?]) -> SyncProgress? {
        guard let sourceText = row[0], let seen = row[4].flatMap({ LSN($0) }) else { return nil }
        var lines = sourceText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let changeSource = lines.isEmpty ? "" : lines.removeFirst()
        let fields = lines.compactMap { line -> SourceIdentity.Field? in
            guard let equals = line.firstIndex(of: "=") else { return nil }
            return SourceIdentity.Field(String(line[..<equals]), String(line[line.index(after: equals)...]))
        }
        var applied: Change.ID?
        if let source = row[1], let lsn = row[2].flatMap({ LSN($0) }), let index = row[3].flatMap({ Int($0) }) {
            applied = Change.ID(source: source, commitLSN: lsn, index: index)
        }
        return SyncProgress(
            source: SourceIdentity(fields: fields, changeSource: changeSource), applied: applied, seen: seen)
    }
}
