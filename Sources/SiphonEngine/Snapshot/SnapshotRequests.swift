// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import Logging
import SiphonCore
import SiphonReplication

/// One table's snapshot as `siphon.snapshots` records it.
public struct SnapshotProgress: Sendable, Hashable {
    public enum State: String, Sendable, Hashable {
        /// Asked for, or being read.
        case pending
        case done
        /// The table cannot be read (see `error`).
        case failed
    }

    public var table: TableName
    public var state: State
    /// Rows delivered and acknowledged so far.
    public var rowsDone: Int64
    /// What the planner believes the table holds, when it has been analyzed.
    public var rowsEstimated: Int64?
    /// Why a failed snapshot failed.
    public var error: String?
    /// Whether reading has begun.
    public var started: Bool
}

/// Asks for snapshots and reads their progress. Requests live in `siphon.snapshots`; the session streaming the slot
/// (`siphon run`) reads them beside its stream, now or when it next starts.
public enum SnapshotRequests {
    /// One row per slot and table: the request, its progress (the last key whose reads were acknowledged, and the
    /// high watermark they were acknowledged at) and how it ended.
    static let createTableSQL = OwnTable.createSQL(
        "snapshots",
        columns: """
            id bigserial PRIMARY KEY, slot text NOT NULL, schema_name text NOT NULL, table_name text NOT NULL,
            state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')), condition text,
            done_key jsonb, done_lsn pg_lsn, rows_done bigint NOT NULL DEFAULT 0, rows_estimated bigint, error text,
            requested_at timestamptz NOT NULL DEFAULT now(), started_at timestamptz, finished_at timestamptz,
            UNIQUE (slot, schema_name, table_name)
            """)

    /// Asks for a snapshot of each of `tables` (every published table when empty) for `slot`. Checks first that each
    /// can be read in key order and kept consistent with the stream, and throws what to fix if not.
    ///
    /// With `initialOnly`, tables that were ever snapshotted for this slot are left alone (an initial snapshot);
    /// otherwise a finished or failed snapshot starts over, and one in progress goes on.
    ///
    /// `condition` limits the rows (`created_at > now() - interval '1 day'`, `id BETWEEN 1000 AND 2000`). It is SQL
    /// the operator wrote, so it is checked here and run by the reader only in a read-only transaction, and only
    /// while no role but Siphon's own may write `siphon.snapshots` (where it waits for the reader).
    @discardableResult
    public static func request(
        _ tables: [TableName], slot: String, publications: [String], settings: ConnectionSettings,
        initialOnly: Bool = false, condition: String? = nil, logger: Logger
    ) async throws -> [SnapshotProgress] {
        try await ServerConnection.withConnection(settings: settings, replication: false, logger: logger) {
            connection in
            guard try await Self.slotIsRead(slot, on: connection) != nil else {
                throw SiphonError(
                    .invalidConfiguration,
                    "replication slot \(slot) does not exist, so nothing would deliver the snapshot; create it with "
                        + "`siphon setup` (or name the slot `siphon run` reads with --slot)")
            }
            let names = tables.isEmpty ? try await Self.publishedTables(publications, on: connection) : tables
            var resolved: [SnapshotTable] = []
            var problems: [String] = []
            for name in names {
                do {
                    resolved.append(try await SnapshotTable.resolve(name, publications: publications, on: connection))
                } catch let error as SiphonError where error.code == .invalidConfiguration {
                    problems.append(error.message)
                }
            }
            guard problems.isEmpty else {
                throw SiphonError(.invalidConfiguration, problems.joined(separator: "\n"))
            }
            var estimates: [TableName: Int64?] = [:]
            for table in resolved {
                estimates[table.name] = try await Self.estimatedRows(of: table, condition: condition, on: connection)
            }
            _ = try await connection.simpleQuery(Self.createTableSQL)
            if condition != nil { try await Self.checkOnlySiphonWrites(on: connection) }
            let conflict =
                initialOnly
                ? "DO NOTHING"
                : """
                DO UPDATE SET state = 'pending', done_key = NULL, done_lsn = NULL, rows_done = 0,
                    rows_estimated = EXCLUDED.rows_estimated, condition = EXCLUDED.condition, error = NULL,
                    requested_at = now(), started_at = NULL, finished_at = NULL
                WHERE snapshots.state <> 'pending'
                """
            for table in resolved {
                try await connection.query(
                    """
                    INSERT INTO siphon.snapshots (slot, schema_name, table_name, rows_estimated, condition)
                    VALUES ($1, $2, $3, $4, $5)
                    ON CONFLICT (slot, schema_name, table_name) \(conflict)
                    """,
                    parameters: [
                        slot, table.name.schema, table.name.table, (estimates[table.name] ?? nil).map(String.init),
                        condition,
                    ])
            }
            let all = try await Self.progress(slot: slot, on: connection)
            let wanted = Set(resolved.map(\.name))
            return all.filter { wanted.contains($0.table) }
        }
    }

    /// The planner's row estimate for what `condition` keeps of `table` (the table's when there is none). Checks the
    /// condition too: `EXPLAIN` parses and plans it without running it, and a mistake is reported with the table.
    private static func estimatedRows(of table: SnapshotTable, condition: String?, on connection: ServerConnection)
        async throws -> Int64?
    {
        guard let condition else { return table.estimatedRows }
        let plan: QueryResult
        do {
            // The extended protocol takes one statement only: a condition cannot smuggle in a second one.
            plan = try await connection.query(
                "EXPLAIN " + table.chunkSQL(afterKey: false, limit: 1, condition: condition), parameters: [])
        } catch let error as SiphonError where error.code == .serverError {
            throw SiphonError(
                .invalidConfiguration, "the --where condition does not work on \(table.name): \(error.message)",
                underlying: error)
        }
        // The scan under the Limit: "Seq Scan on t  (cost=0.00..35.50 rows=1000 width=4)".
        for line in plan.rows.dropFirst().compactMap({ $0.first ?? nil }) {
            guard let range = line.range(of: "rows=") else { continue }
            return Int64(line[range.upperBound...].prefix { $0.isNumber })
        }
        return nil
    }

    /// A condition waits in `siphon.snapshots` for the reader, which runs it as SQL: refuse to keep one there while
    /// any other role could put its own in its place.
    static func checkOnlySiphonWrites(on connection: ServerConnection) async throws {
        // Superusers, and members of Siphon's own role, can act as Siphon anyway; the predefined pg_* roles are
        // granted on purpose, and their members show up here by name.
        let writers = try await connection.simpleQuery(
            """
            SELECT r.rolname FROM pg_roles r
            WHERE NOT pg_has_role(r.oid, current_user, 'MEMBER') AND NOT r.rolsuper AND r.rolname NOT LIKE 'pg\\_%'
              AND (has_table_privilege(r.oid, 'siphon.snapshots', 'INSERT')
                   OR has_table_privilege(r.oid, 'siphon.snapshots', 'UPDATE'))
            ORDER BY 1
            """
        ).rows.compactMap { $0.first ?? nil }
        guard !writers.isEmpty else { return }
        let quoted = writers.map(SQLQuoting.identifier).joined(separator: ", ")
        throw SiphonError(
            .invalidConfiguration,
            "roles \(quoted) may write siphon.snapshots, whose --where conditions Siphon runs as SQL; run "
                + "REVOKE INSERT, UPDATE ON siphon.snapshots FROM \(quoted);")
    }

    /// Forgets every snapshot recorded for `slot`, for when the slot is dropped: a slot made later under the same
    /// name must take its initial snapshot again. Returns how many tables' records went.
    @discardableResult
    public static func forget(slot: String, settings: ConnectionSettings, logger: Logger) async throws -> Int {
        try await ServerConnection.withConnection(settings: settings, replication: false, logger: logger) {
            connection in
            guard try await Self.tableExists(on: connection) else { return 0 }
            let tag = try await connection.query("DELETE FROM siphon.snapshots WHERE slot = $1", parameters: [slot])
                .commandTag
            return Int(tag.split(separator: " ").last ?? "") ?? 0
        }
    }

    /// Whether a process reads `slot` now (`siphon run`, which delivers its snapshots); `nil` when there is no such
    /// slot.
    public static func slotIsRead(_ slot: String, settings: ConnectionSettings, logger: Logger) async throws -> Bool? {
        try await ServerConnection.withConnection(settings: settings, replication: false, logger: logger) {
            try await Self.slotIsRead(slot, on: $0)
        }
    }

    static func slotIsRead(_ slot: String, on connection: ServerConnection) async throws -> Bool? {
        try await connection.query("SELECT active FROM pg_replication_slots WHERE slot_name = $1", parameters: [slot])
            .rows.first.map { $0[0] == "t" }
    }

    /// Every snapshot recorded for `slot`, oldest request first; none when nothing was ever asked for.
    public static func progress(slot: String, settings: ConnectionSettings, logger: Logger) async throws
        -> [SnapshotProgress]
    {
        try await ServerConnection.withConnection(settings: settings, replication: false, logger: logger) {
            try await Self.progress(slot: slot, on: $0)
        }
    }

    /// Whether `siphon.snapshots` exists yet: it is made by the first request, and a statement naming a missing table
    /// fails as a whole.
    static func tableExists(on connection: ServerConnection) async throws -> Bool {
        try await connection.simpleQuery("SELECT to_regclass('siphon.snapshots') IS NOT NULL").rows.first?.first == "t"
    }

    static func progress(slot: String, on connection: ServerConnection) async throws -> [SnapshotProgress] {
        guard try await Self.tableExists(on: connection) else { return [] }
        return try await connection.query(
            """
            SELECT schema_name, table_name, state, rows_done, rows_estimated, error, started_at IS NOT NULL
            FROM siphon.snapshots WHERE slot = $1 ORDER BY id
            """, parameters: [slot]
        ).rows.compactMap { row in
            guard let schema = row[0], let table = row[1], let state = row[2].flatMap(SnapshotProgress.State.init)
            else { return nil }
            return SnapshotProgress(
                table: TableName(schema: schema, table), state: state, rowsDone: row[3].flatMap { Int64($0) } ?? 0,
                rowsEstimated: row[4].flatMap { Int64($0) }, error: row[5], started: row[6] == "t")
        }
    }

    private static func publishedTables(_ publications: [String], on connection: ServerConnection) async throws
        -> [TableName]
    {
        let rows = try await connection.query(
            """
            SELECT DISTINCT schemaname, tablename FROM pg_publication_tables
            WHERE pubname IN (\(ServerConnection.placeholders(from: 1, count: publications.count)))
            ORDER BY 1, 2
            """, parameters: publications
        ).rows
        let tables = rows.compactMap { row in row[0].flatMap { schema in row[1].map { TableName(schema: schema, $0) } } }
            .filter { $0.schema != ChangeFilter.ownSchema }
        guard !tables.isEmpty else {
            throw SiphonError(
                .invalidConfiguration,
                "the publication (\(publications.joined(separator: ", "))) publishes no tables; nothing to snapshot")
        }
        return tables
    }
}

extension Pipeline {
    /// Asks for a snapshot of `tables` (written as SQL writes them; every published table when empty), delivered
    /// by this pipeline beside its stream. Returns once the request is recorded; `SnapshotRequests.progress` says how
    /// far it got. Needs a logical replication source with `snapshots` set.
    @discardableResult
    public func snapshot(tables: [String] = []) async throws -> [SnapshotProgress] {
        guard let source = self.source as? LogicalReplicationSource, source.configuration.snapshots != nil else {
            throw SiphonError(
                .invalidConfiguration,
                "snapshots need a logical replication source with snapshots on "
                    + "(LogicalReplicationConfiguration.snapshots); \(self.source.name) reads none")
        }
        let configuration = source.configuration
        return try await SnapshotRequests.request(
            try tables.map { try TableName(parsing: $0) }, slot: configuration.slot,
            publications: configuration.publications, settings: configuration.connection, logger: self.logger)
    }
}
