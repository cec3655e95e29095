// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// How far one partition of a consumer group has delivered: a row of the outbox's cursors table.
///
/// The cursor is a pair of snapshots, never a largest id: a change is delivered when its transaction is visible in
/// `delivered`. A window is the set of changes whose transactions are visible in `window` but not in `delivered`;
/// it is fixed once opened (those transactions have all committed), so inside it "id greater than the last one
/// delivered" is safe, and when it is done `delivered` becomes `window`. A transaction that commits late is simply
/// not visible yet and falls into a later window; it is never skipped.
struct OutboxCursor: Sendable, Hashable {
    var partition: Int
    /// `txid_snapshot` text: every transaction visible in it has been delivered.
    var delivered: String
    /// The open window's snapshot, or `nil` when no window is open.
    var window: String?
    /// The open (or last) window's position: its changes' ids are `source/windowLSN/outbox id`.
    var windowLSN: LSN
    /// In the open window, every change with an id up to this one was delivered.
    var lastID: Int64

    /// Reads a row of `SELECT partition, delivered, window_snapshot, window_lsn, last_id`.
    init(row: [String?]) throws(SiphonError) {
        guard row.count == 5, let partition = row[0].flatMap({ Int($0) }), let delivered = row[1],
            let lsn = row[3].flatMap({ LSN($0) }), let lastID = row[4].flatMap({ Int64($0) })
        else {
            throw SiphonError(.decodingFailed, "malformed outbox cursor row \(row)")
        }
        self.partition = partition
        self.delivered = delivered
        self.window = row[2]
        self.windowLSN = lsn
        self.lastID = lastID
    }

    init(partition: Int, delivered: String, window: String?, windowLSN: LSN, lastID: Int64) {
        self.partition = partition
        self.delivered = delivered
        self.window = window
        self.windowLSN = windowLSN
        self.lastID = lastID
    }

    /// The `xmin` of a `txid_snapshot` text (`xmin:xmax:xip,…`): every transaction before it has ended.
    static func xmin(of snapshot: String) -> Int64? {
        snapshot.split(separator: ":", omittingEmptySubsequences: false).first.flatMap { Int64($0) }
    }

    /// The `xmax` of a `txid_snapshot` text: no transaction from it on is visible.
    static func xmax(of snapshot: String) -> Int64? {
        let parts = snapshot.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count > 1 ? Int64(parts[1]) : nil
    }
}

/// The SQL the outbox reader runs, built from plain values so it can be read and tested without a database.
struct OutboxQueries: Sendable {
    let names: OutboxNames
    let group: ConsumerGroup

    init(schema: String, outbox: String, group: ConsumerGroup) {
        self.names = OutboxNames(schema: schema, name: outbox)
        self.group = group
    }

    /// The group's rows; the statements that use it bind the group's name as `$1`.
    private var groupCondition: String { "group_name = $1" }

    /// The changes of other partitions are not this partition's: `hash(key) % partitions`.
    func partitionCondition(_ partition: Int) -> String {
        guard self.group.partitions > 1 else { return "" }
        return " AND (hashtext(o.key::text) & 2147483647) % \(self.group.partitions) = \(partition)"
    }

    /// Registers the group unless it exists, then returns the partition counts it is registered with.
    var registerGroup: String {
        TriggerSQL.registerGroup(self.group, names: self.names) + ";\n"
            + "SELECT DISTINCT partitions FROM \(self.names.cursorsTable) "
            + "WHERE group_name = \(SQLQuoting.literal(self.group.name))"
    }

    var loadCursors: OutboxStatement {
        OutboxStatement(
            sql: "SELECT partition, delivered, window_snapshot, window_lsn, last_id FROM \(self.names.cursorsTable) "
                + "WHERE \(self.groupCondition) ORDER BY partition",
            parameters: [self.group.name])
    }

    /// Opens a window at the current snapshot when the partition has undelivered changes; otherwise moves
    /// `delivered` up to the current snapshot (nothing is left to deliver before it). The window's LSN is the WAL
    /// insert position, at least one past the previous window's, so change ids grow from window to window.
    func openWindow(_ cursor: OutboxCursor) -> OutboxStatement {
        let xmin = OutboxCursor.xmin(of: cursor.delivered) ?? 0
        let next = LSN(rawValue: cursor.windowLSN.rawValue + 1)
        let sql = """
            UPDATE \(self.names.cursorsTable) AS c SET
                window_snapshot = CASE WHEN w.low IS NULL THEN NULL ELSE w.snap END,
                delivered = CASE WHEN w.low IS NULL THEN w.snap ELSE c.delivered END,
                window_lsn = CASE WHEN w.low IS NULL THEN c.window_lsn ELSE greatest(w.lsn, '\(next)'::pg_lsn) END,
                last_id = coalesce(w.low - 1, 0),
                updated_at = now()
            FROM (SELECT txid_current_snapshot() AS snap, pg_current_wal_insert_lsn() AS lsn,
                         (SELECT min(o.id) FROM \(self.names.table) AS o
                          WHERE o.xid >= \(xmin) AND NOT txid_visible_in_snapshot(o.xid, $2)\(self.partitionCondition(cursor.partition))) AS low) AS w
            WHERE c.\(self.groupCondition) AND c.partition = \(cursor.partition) AND c.window_snapshot IS NULL
                AND c.window_lsn = '\(cursor.windowLSN)'
            RETURNING c.partition, c.delivered, c.window_snapshot, c.window_lsn, c.last_id
            """
        return OutboxStatement(sql: sql, parameters: [self.group.name, cursor.delivered])
    }

    /// Whether the partition has changes that are not delivered yet (read-only, for looking often while idle).
    func hasPending(_ cursor: OutboxCursor) -> OutboxStatement {
        let xmin = OutboxCursor.xmin(of: cursor.delivered) ?? 0
        let sql = """
            SELECT EXISTS (SELECT FROM \(self.names.table) AS o
                           WHERE o.xid >= \(xmin) AND NOT txid_visible_in_snapshot(o.xid, $1)\(self.partitionCondition(cursor.partition)))
            """
        return OutboxStatement(sql: sql, parameters: [cursor.delivered])
    }

    /// The next changes of the open window, in outbox id order.
    func readBatch(_ cursor: OutboxCursor, window: String, limit: Int, commitTime: String) -> OutboxStatement {
        let xmin = OutboxCursor.xmin(of: cursor.delivered) ?? 0
        let xmax = OutboxCursor.xmax(of: window) ?? Int64.max
        let sql = """
            SELECT \(OutboxRecord.selectList(commitTime: commitTime))
            FROM \(self.names.table) AS o
            WHERE o.id > \(cursor.lastID) AND o.xid >= \(xmin) AND o.xid < \(xmax)
                AND txid_visible_in_snapshot(o.xid, $1)
                AND NOT txid_visible_in_snapshot(o.xid, $2)\(self.partitionCondition(cursor.partition))
            ORDER BY o.id
            LIMIT \(limit)
            """
        return OutboxStatement(sql: sql, parameters: [window, cursor.delivered])
    }

    /// Records that the open window was delivered up to `lastID`.
    func advance(_ cursor: OutboxCursor, to lastID: Int64) -> OutboxStatement {
        OutboxStatement(
            sql: "UPDATE \(self.names.cursorsTable) SET last_id = \(lastID), updated_at = now() "
                + "WHERE \(self.groupCondition) AND partition = \(cursor.partition) "
                + "AND window_lsn = '\(cursor.windowLSN)' AND window_snapshot IS NOT NULL",
            parameters: [self.group.name])
    }

    /// Records that the open window was delivered completely.
    func closeWindow(_ cursor: OutboxCursor) -> OutboxStatement {
        OutboxStatement(
            sql: "UPDATE \(self.names.cursorsTable) SET delivered = window_snapshot, window_snapshot = NULL, "
                + "last_id = 0, updated_at = now() WHERE \(self.groupCondition) AND partition = \(cursor.partition) "
                + "AND window_lsn = '\(cursor.windowLSN)' AND window_snapshot IS NOT NULL",
            parameters: [self.group.name])
    }

    /// Deletes up to `limit` changes every partition of every group has delivered (and, with a retention period,
    /// that are older than it).
    func cleanUp(retention: Duration?, limit: Int) -> String {
        let age =
            retention.map { " AND o.changed_at < now() - interval '\(Self.seconds($0)) seconds'" } ?? ""
        return """
            DELETE FROM \(self.names.table) WHERE id IN (
                SELECT o.id FROM \(self.names.table) AS o
                WHERE o.xid < (SELECT min(txid_snapshot_xmax(delivered)) FROM \(self.names.cursorsTable))
                    AND NOT EXISTS (SELECT FROM \(self.names.cursorsTable) AS c
                                    WHERE NOT txid_visible_in_snapshot(o.xid, c.delivered))\(age)
                LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            """
    }

    static func seconds(_ duration: Duration) -> Int64 {
        duration.components.seconds
    }

    // MARK: Waiting for wake-ups

    /// Tries to become the outbox's idle sentinel (see `TriggerSQL.outboxFunction`): `sentinel` when this reader
    /// now holds the idle lock, `watched` when another reader does (its wake-up reaches every listener), `busy` when
    /// writers that decided not to notify are still in flight.
    var becomeIdle: String {
        let key = "\(self.names.idleLockKey), 0"
        return """
            SELECT CASE WHEN pg_try_advisory_lock(\(key)) THEN 'sentinel'
                        WHEN pg_try_advisory_lock_shared(\(key)) THEN (SELECT 'busy' FROM pg_advisory_unlock_shared(\(key)))
                        ELSE 'watched' END
            """
    }

    var stopBeingIdle: String { "SELECT pg_advisory_unlock(\(self.names.idleLockKey), 0)" }

    // MARK: Sharing partitions between the readers of a group

    /// Advisory lock key of the group's members: each reader holds `(memberKey, its backend pid)`.
    var memberKey: Int32 { Self.stableHash("siphon member \(self.names.wakeChannel)/\(self.group.name)") }
    /// Advisory lock key of the group's partitions: the reader of partition `p` holds `(partitionKey, p)`.
    var partitionKey: Int32 { Self.stableHash("siphon partition \(self.names.wakeChannel)/\(self.group.name)") }

    var joinGroup: String { "SELECT pg_advisory_lock(\(self.memberKey), pg_backend_pid())" }

    /// The backend pids of the group's readers, from the member locks they hold.
    var members: String {
        """
        SELECT objid FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid = '\(self.memberKey)'::oid
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY objid
        """
    }

    /// Takes the partition locks of `partitions` that are free; returns the partitions taken.
    func claim(_ partitions: [Int]) -> String {
        "SELECT p FROM unnest(ARRAY[\(partitions.map(String.init).joined(separator: ","))]::int[]) AS p "
            + "WHERE pg_try_advisory_lock(\(self.partitionKey), p) ORDER BY p"
    }

    func release(_ partitions: [Int]) -> String {
        "SELECT pg_advisory_unlock(\(self.partitionKey), p) FROM unnest(ARRAY["
            + partitions.map(String.init).joined(separator: ",") + "]::int[]) AS p"
    }

    /// FNV-1a, folded to a positive `Int32`: the same key in every process and on every platform.
    static func stableHash(_ text: String) -> Int32 {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return Int32(bitPattern: hash & 0x7fff_ffff)
    }
}

/// Which partitions each reader of a group takes: the readers, ordered by backend pid, take turns.
enum PartitionAssignment {
    /// The partitions the reader `me` should hold when `members` read a group of `partitions`.
    static func partitions(for me: Int32, members: [Int32], partitions: Int) -> Set<Int> {
        let sorted = members.contains(me) ? members.sorted() : (members + [me]).sorted()
        let rank = sorted.firstIndex(of: me)!
        return Set((0..<partitions).filter { $0 % sorted.count == rank })
    }
}
