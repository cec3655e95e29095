// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonReplication

/// The changes that the outbox triggers wrote, in per-key commit order: trigger mode's source.
///
/// A session catches up on everything written while no reader ran, then waits for the outbox's wake-up
/// notification, polling every `pollInterval` as well so a lost notification never delays a change for long. A
/// change counts as delivered (its partition's cursor moves) only when the pipeline acknowledges it. Several
/// readers of one consumer group share the group's partitions; each change reaches each group once (again only
/// after a crash, with the same `Change.ID`).
public struct OutboxSource: ChangeSource {
    public let configuration: OutboxConfiguration
    private let logger: Logger
    private let counters = SharedValue(OutboxStatistics())

    public init(configuration: OutboxConfiguration, logger: Logger) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "siphon.outbox"] = "\(configuration.schema).\(configuration.outbox)"
        logger[metadataKey: "siphon.group"] = "\(configuration.group.name)"
        self.logger = logger
    }

    public var name: String { "outbox \(self.configuration.schema).\(self.configuration.outbox)" }

    public var reopensAfterEnd: Bool { !self.configuration.endsWhenCaughtUp }

    /// Connection trouble, a lost advisory lock or a cursor another reader moved: read the cursors again.
    public func recovery(from error: any Error) -> SourceRecovery { .forConnectionFailure(error) }

    /// What the source has done so far (besides what the pipeline counts).
    public var statistics: OutboxStatistics { self.counters.current }

    public func withSession(_ body: (inout OutboxSession) async throws -> Void) async throws {
        try Self.validate(self.configuration)
        try await ServerConnection.withConnection(
            settings: self.configuration.connection, replication: false, logger: self.logger
        ) { connection in
            let (wakeUps, wakeUp) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            defer { wakeUp.finish() }
            var session = try await OutboxSession.start(
                source: self, connection: connection, wakeUps: wakeUps.makeAsyncIterator(),
                wake: { wakeUp.yield() })
            self.logger.info("Reading the outbox")
            try await withThrowingTaskGroup(of: Void.self) { group in
                if self.configuration.listensForWakeUps && !self.configuration.endsWhenCaughtUp {
                    group.addTask { await self.listenForWakeUps(wakeUp) }
                }
                group.addTask { [pollInterval = self.configuration.pollInterval] in
                    while true {
                        try await Task.sleep(for: pollInterval)
                        wakeUp.yield()
                    }
                }
                defer { group.cancelAll() }
                try await body(&session)
            }
        }
    }

    static func validate(_ configuration: OutboxConfiguration) throws(SiphonError) {
        try TableName.validateIdentifier(configuration.schema, as: "schema")
        try TriggerCapture.validateName(configuration.outbox, as: "outbox")
        try TableName.validateIdentifier(configuration.group.name, as: "consumer group")
        guard (1...1024).contains(configuration.group.partitions) else {
            throw SiphonError(.invalidConfiguration, "a consumer group has 1 to 1024 partitions")
        }
        guard configuration.batchSize > 0 else {
            throw SiphonError(.invalidConfiguration, "the batch size must be positive")
        }
    }

    /// Keeps a `LISTEN` on the outbox's wake-up channel and turns each notification into a wake-up; reconnects when
    /// the connection goes away (the reader polls meanwhile).
    private func listenForWakeUps(_ wakeUp: AsyncStream<Void>.Continuation) async {
        let channel = OutboxNames(schema: self.configuration.schema, name: self.configuration.outbox).wakeChannel
        let backoff = Backoff()
        var attempt = 0
        while !Task.isCancelled {
            do {
                try await ServerConnection.withConnection(
                    settings: self.configuration.connection, replication: false, logger: self.logger
                ) { connection in
                    _ = try await connection.listen([channel])
                    attempt = 0
                    // Changes may have committed while nobody listened.
                    wakeUp.yield()
                    while true {
                        _ = try await connection.nextNotification()
                        wakeUp.yield()
                    }
                }
            } catch {
                if Task.isCancelled { return }
                let delay = backoff.delay(attempt: attempt)
                attempt += 1
                self.logger.warning(
                    "Lost the wake-up connection; polling until it is back",
                    metadata: ["error": "\(error)", "retry.in": "\(delay)"])
                try? await Task.sleep(for: delay)
            }
        }
    }

    fileprivate var log: Logger { self.logger }
    fileprivate func record(_ update: (inout OutboxStatistics) -> Void) { self.counters.withLock(update) }
}

/// What an outbox source has done so far; deliveries, filtering and reconnects are the pipeline's statistics.
public struct OutboxStatistics: Sendable, Hashable {
    /// Windows delivered completely (see `docs/trigger-mode.md`).
    public var windows = 0
    /// Delivered changes deleted from the outbox.
    public var changesDeleted = 0
    /// The partitions of the group this reader holds now.
    public var partitions: [Int] = []
}

/// One connection's worth of reading: take partitions, open a window, read it a batch at a time, record each batch
/// once the pipeline acknowledges it, close the window; wait for a wake-up when every partition is caught up.
///
/// Positions are batch numbers within the session: acknowledging one moves the cursors of every batch up to it.
public struct OutboxSession: ChangeSourceSession {
    public let binding: SourceBinding?
    public let wake: @Sendable () -> Void
    /// The pipeline delivers and acknowledges each batch before the next is read: the next window of a partition
    /// can open only once the last one is closed.
    public var hasReadyEvents: Bool { false }

    private let source: OutboxSource
    private let connection: ServerConnection
    private let queries: OutboxQueries
    /// SQL for the change's time: the commit time with `track_commit_timestamp`, otherwise the time of the change.
    private let commitTime: String
    private var wakeUps: AsyncStream<Void>.Iterator
    private var columns = ColumnOrder()
    private var cursors: [Int: OutboxCursor] = [:]
    private var held: Set<Int> = []
    /// When opening a window last found a partition empty.
    private var foundEmpty: [Int: ContinuousClock.Instant] = [:]
    private var lastRebalance: ContinuousClock.Instant?
    private var lastCleanup: ContinuousClock.Instant?
    /// Partitions still to visit in this round, last first; `nil` between rounds.
    private var round: [Int]?
    /// Whether this round delivered a window (so more may be waiting).
    private var roundDelivered = false
    /// The partition whose open window is being read.
    private var reading: Int?
    /// Since when rounds found nothing.
    private var quietSince: ContinuousClock.Instant?
    /// Whether this session holds the idle lock, so writers send wake-ups.
    private var holdsIdleLock = false
    /// Cursor updates handed out with batches, recorded when the pipeline acknowledges them.
    private var unrecorded: [(position: SourcePosition, partition: Int, statement: OutboxStatement, closesWindow: Bool)] = []
    private var lastPosition = SourcePosition(rawValue: 0)

    static let cleanupBatch = 10_000

    fileprivate static func start(
        source: OutboxSource, connection: ServerConnection, wakeUps: AsyncStream<Void>.Iterator,
        wake: @escaping @Sendable () -> Void
    ) async throws -> OutboxSession {
        let configuration = source.configuration
        var queries = OutboxQueries(schema: configuration.schema, outbox: configuration.outbox, group: configuration.group)
        let present = try await connection.query(
            "SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL, "
                + "current_setting('track_commit_timestamp')",
            parameters: [queries.names.table, queries.names.cursorsTable])
        guard present.rows.first?[0] == "t" else {
            throw SiphonError(
                .invalidConfiguration,
                "the outbox \(queries.names.table) does not exist: create it with `siphon setup --mode trigger` or "
                    + "apply the migration from `siphon sql`")
        }
        try await connection.simpleQuery(TriggerCapture.markOwnWritesSQL)
        let registered = try await connection.simpleQuery(queries.registerGroup).rows.compactMap { $0[0] }
        if configuration.partitionsFromRegistration, registered.count == 1, let partitions = Int(registered[0]),
            (1...1024).contains(partitions)
        {
            queries = OutboxQueries(
                schema: configuration.schema, outbox: configuration.outbox,
                group: ConsumerGroup(name: configuration.group.name, partitions: partitions))
        }
        guard registered == ["\(queries.group.partitions)"] else {
            throw SiphonError(
                .invalidConfiguration,
                "consumer group '\(configuration.group.name)' of \(queries.names.table) is registered with "
                    + "\(registered.joined(separator: ", ")) partitions, not \(queries.group.partitions); "
                    + "use that count, or another group name")
        }
        try await connection.simpleQuery(queries.joinGroup)
        let commitTime =
            present.rows.first?[1] == "on"
            ? "coalesce(pg_xact_commit_timestamp((o.xid % 4294967296)::text::xid), o.changed_at)" : "o.changed_at"
        let identity = try await Self.identity(configuration: configuration, connection: connection)
        return OutboxSession(
            binding: SourceBinding(identity: identity, resumedAt: nil), wake: wake, source: source,
            connection: connection, queries: queries, commitTime: commitTime, wakeUps: wakeUps)
    }

    /// The cluster (when the role may read its system identifier), the database and the outbox table.
    private static func identity(
        configuration: OutboxConfiguration, connection: ServerConnection
    ) async throws -> SourceIdentity {
        let result = try await connection.simpleQuery(
            """
            SELECT CASE WHEN has_function_privilege('pg_control_system()', 'EXECUTE')
                THEN (SELECT system_identifier::text FROM pg_control_system()) END, current_database()
            """)
        let row = result.rows.first
        return SourceIdentity.outbox(
            systemID: row?[0] ?? nil, database: (row?[1] ?? nil) ?? "?", schema: configuration.schema,
            table: configuration.outbox)
    }

    public mutating func next(into events: inout [SourceEvent], maxChanges: Int) async throws -> Bool {
        while true {
            if let partition = self.reading {
                try await self.readBatch(of: partition, into: &events)
                return true
            }
            if self.round == nil { try await self.startRound() }
            if let partition = self.round?.popLast() {
                if try await self.openWindow(partition) {
                    self.reading = partition
                    self.roundDelivered = true
                }
                continue
            }
            // The round is over.
            self.round = nil
            try await self.cleanUpIfDue()
            if self.roundDelivered {
                self.quietSince = nil
                if self.holdsIdleLock { try await self.stopBeingIdle() }
                continue
            }
            return try await self.waitForChanges()
        }
    }

    public mutating func acknowledge(upTo position: SourcePosition) async throws {
        while let first = self.unrecorded.first, first.position <= position {
            self.unrecorded.removeFirst()
            try await self.expectOneRow(first.statement, partition: first.partition)
            if first.closesWindow { self.source.record { $0.windows += 1 } }
        }
    }

    /// A clean stop leaves the outbox tidy: what every group delivered goes now.
    public mutating func finish() async throws {
        try await self.cleanUp()
    }

    /// Nothing was found in a whole round. Waits (or looks again soon) as the writers' wake-ups allow; returns
    /// `false` when the session ends instead.
    private mutating func waitForChanges() async throws -> Bool {
        let configuration = self.source.configuration
        if self.holdsIdleLock {
            // The look after taking the idle lock found nothing either: writers notify from now on.
            configuration.caughtUp?()
            let woken = await self.wakeUps.next(isolation: #isolation) != nil
            try await self.stopBeingIdle()
            return woken
        }
        if configuration.endsWhenCaughtUp {
            try await self.cleanUp()
            return false
        }
        guard configuration.listensForWakeUps else {
            configuration.caughtUp?()
            return await self.wakeUps.next(isolation: #isolation) != nil
        }
        // Right after a burst, more usually follows: keep looking (read-only) for a moment rather than having the
        // next writers pay for wake-ups.
        let now = ContinuousClock.now
        let quiet = self.quietSince ?? now
        self.quietSince = quiet
        if now - quiet < configuration.idleAfter {
            try await Task.sleep(for: configuration.busyPollInterval)
            return true
        }
        // Wait for a wake-up, but only once writers know to send one.
        switch try await self.becomeIdle() {
        case .sentinel:
            // Writers that committed while the idle lock was being taken sent no wake-up: the next round looks once
            // more before waiting.
            self.holdsIdleLock = true
            return true
        case .watched:
            configuration.caughtUp?()
            return await self.wakeUps.next(isolation: #isolation) != nil
        case .busy:
            try await Task.sleep(for: configuration.busyPollInterval)
            return true
        }
    }

    /// Whether this reader may wait for a wake-up (see `OutboxQueries.becomeIdle`).
    enum Idleness: String {
        /// This reader holds the idle lock: writers notify from now on.
        case sentinel
        /// Another reader holds it; its wake-ups reach this reader's listener too.
        case watched
        /// Writers that did not notify are still in flight: look again soon instead of waiting.
        case busy
    }

    private func becomeIdle() async throws -> Idleness {
        let answer = try await self.connection.simpleQuery(self.queries.becomeIdle).rows.first?[0] ?? nil
        guard let answer, let idleness = Idleness(rawValue: answer) else {
            throw SiphonError(.protocolViolation, "unexpected answer to the idle-lock query: \(String(describing: answer))")
        }
        return idleness
    }

    private mutating func stopBeingIdle() async throws {
        try await self.connection.simpleQuery(self.queries.stopBeingIdle)
        self.holdsIdleLock = false
    }

    /// Takes the partitions this reader should hold and queues them for a round.
    private mutating func startRound() async throws {
        try await self.rebalanceIfDue()
        self.round = self.held.sorted().reversed()
        self.roundDelivered = false
    }

    private mutating func rebalanceIfDue() async throws {
        let now = ContinuousClock.now
        if let last = self.lastRebalance, now - last < self.source.configuration.pollInterval { return }
        self.lastRebalance = now
        let members = try await self.connection.simpleQuery(self.queries.members).rows.compactMap {
            $0[0].flatMap { Int32($0) }
        }
        let desired = PartitionAssignment.partitions(
            for: self.connection.processID, members: members, partitions: self.queries.group.partitions)
        let surplus = self.held.subtracting(desired).sorted()
        if !surplus.isEmpty {
            try await self.connection.simpleQuery(self.queries.release(surplus))
            self.held.subtract(surplus)
        }
        let wanted = desired.subtracting(self.held).sorted()
        if !wanted.isEmpty {
            let claimed = try await self.connection.simpleQuery(self.queries.claim(wanted)).rows.compactMap {
                $0[0].flatMap { Int($0) }
            }
            self.held.formUnion(claimed)
            if !claimed.isEmpty {
                // Another reader may have moved these partitions on since this session last read them.
                for row in try await self.connection.query(self.queries.loadCursors).rows {
                    let cursor = try OutboxCursor(row: row)
                    self.cursors[cursor.partition] = cursor
                }
            }
        }
        if !surplus.isEmpty || !wanted.isEmpty {
            let held = self.held.sorted()
            self.source.record { $0.partitions = held }
            self.source.log.info(
                "Outbox partitions assigned",
                metadata: ["partitions": "\(held)", "readers": "\(max(members.count, 1))"])
        }
    }

    /// Opens a window of `partition` unless one is open. Returns whether a window is open (so there is something to
    /// deliver).
    private mutating func openWindow(_ partition: Int) async throws -> Bool {
        guard var cursor = self.cursors[partition] else { return false }
        if cursor.window == nil {
            // Opening a window writes (it moves `delivered` on even when empty). When this partition was found empty
            // a moment ago, a read-only look comes first, so looking often while idle costs the server no writes.
            let now = ContinuousClock.now
            if let emptyAt = self.foundEmpty[partition], now - emptyAt < self.source.configuration.pollInterval {
                let pending = try await self.connection.query(self.queries.hasPending(cursor))
                guard pending.rows.first?[0] == "t" else { return false }
            }
            let opened = try await self.connection.query(self.queries.openWindow(cursor))
            guard let row = opened.rows.first else { throw Self.lostPartition(partition) }
            cursor = try OutboxCursor(row: row)
            self.cursors[partition] = cursor
            self.foundEmpty[partition] = cursor.window == nil ? now : nil
        }
        return cursor.window != nil
    }

    /// Reads the next batch of the open window of `partition` as one transaction; its position records the cursor
    /// move (or the window's close) once acknowledged.
    private mutating func readBatch(of partition: Int, into events: inout [SourceEvent]) async throws {
        guard var cursor = self.cursors[partition], let window = cursor.window else {
            self.reading = nil
            return
        }
        let batchSize = self.source.configuration.batchSize
        let rows = try await self.connection.query(
            self.queries.readBatch(cursor, window: window, limit: batchSize, commitTime: self.commitTime)
        ).rows
        var records: [OutboxRecord] = []
        records.reserveCapacity(rows.count)
        for row in rows { records.append(try OutboxRecord(row: row)) }
        events.append(.begin)
        for change in try await self.changes(of: records, windowLSN: cursor.windowLSN, partition: partition) {
            events.append(.change(change))
        }
        let statement: OutboxStatement
        let closesWindow = records.count < batchSize
        if closesWindow {
            statement = self.queries.closeWindow(cursor)
            cursor.delivered = window
            cursor.window = nil
            cursor.lastID = 0
            self.reading = nil
        } else {
            cursor.lastID = records[records.count - 1].id
            statement = self.queries.advance(cursor, to: cursor.lastID)
        }
        self.cursors[partition] = cursor
        self.lastPosition.rawValue += 1
        self.unrecorded.append((self.lastPosition, partition, statement, closesWindow))
        events.append(.commit(self.lastPosition, time: nil))
    }

    private func expectOneRow(_ statement: OutboxStatement, partition: Int) async throws {
        let result = try await self.connection.query(statement)
        guard result.commandTag.hasSuffix(" 1") else { throw Self.lostPartition(partition) }
    }

    /// The cursor changed under us: another reader took the partition. Start over from what the table says.
    private static func lostPartition(_ partition: Int) -> SiphonError {
        SiphonError(
            .connectionFailed,
            "the cursor of outbox partition \(partition) was changed by another reader; re-reading it")
    }

    /// The changes the records stand for, their columns in table order: the order of tables not seen before is
    /// loaded first, and loaded again for a table whose rows name columns it does not know (added since).
    private mutating func changes(of records: [OutboxRecord], windowLSN: LSN, partition: Int) async throws -> [Change] {
        // Each partition orders its own windows: ids compare within a partition only, so it is part of the source.
        let outbox = self.source.configuration.outbox
        let source = self.queries.group.partitions > 1 ? "\(outbox)#\(partition)" : outbox
        try await self.columns.load(
            Set(records.map(\.table).filter { !self.columns.knows($0) }), connection: self.connection)
        var changes: [Change] = []
        changes.reserveCapacity(records.count)
        var incomplete: Set<TableName> = []
        for record in records {
            let (change, complete) = try record.change(source: source, windowLSN: windowLSN, columns: self.columns)
            if !complete { incomplete.insert(record.table) }
            changes.append(change)
        }
        guard !incomplete.isEmpty else { return changes }
        try await self.columns.load(incomplete, connection: self.connection)
        for (index, record) in records.enumerated() where incomplete.contains(record.table) {
            changes[index] = try record.change(source: source, windowLSN: windowLSN, columns: self.columns).change
        }
        return changes
    }

    private mutating func cleanUpIfDue() async throws {
        let now = ContinuousClock.now
        if let last = self.lastCleanup, now - last < self.source.configuration.cleanupInterval { return }
        self.lastCleanup = now
        try await self.cleanUp()
    }

    /// Deletes what every group delivered (and what is past the retention period, with one).
    private func cleanUp() async throws {
        let sql = self.queries.cleanUp(retention: self.source.configuration.retention, limit: Self.cleanupBatch)
        while true {
            let tag = try await self.connection.simpleQuery(sql).commandTag
            let deleted = Int(tag.split(separator: " ").last ?? "") ?? 0
            if deleted > 0 { self.source.record { $0.changesDeleted += deleted } }
            if deleted < Self.cleanupBatch { return }
        }
    }
}
