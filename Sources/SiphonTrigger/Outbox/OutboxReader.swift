// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import ServiceLifecycle
import SiphonCore
import SiphonEngine
import SiphonReplication
import Synchronization

/// Delivers the changes that the outbox triggers wrote, in per-key commit order, and removes them only after every
/// sink acknowledged them: trigger mode's counterpart of `Pipeline`.
///
/// `run()` catches up on everything written while no reader ran, then waits for the outbox's wake-up notification,
/// polling every `pollInterval` as well so a lost notification never delays a change for long. It reconnects with
/// backoff when the connection or the server goes away. Several readers of one consumer group share the group's
/// partitions; each change reaches each group once (again only after a crash, with the same `Change.ID`).
public final class OutboxReader: Service, Sendable {
    public let configuration: OutboxReaderConfiguration
    private let sinks: [any ChangeSink]
    private let logger: Logger
    private let state = Mutex(SharedState())

    private struct SharedState {
        var stopRequested = false
        var wakeUp: AsyncStream<Void>.Continuation?
        var statistics = OutboxReaderStatistics()
    }

    public init(configuration: OutboxReaderConfiguration, sinks: [any ChangeSink], logger: Logger) {
        self.configuration = configuration
        self.sinks = sinks
        var logger = logger
        logger[metadataKey: "siphon.outbox"] = "\(configuration.schema).\(configuration.outbox)"
        logger[metadataKey: "siphon.group"] = "\(configuration.group.name)"
        self.logger = logger
    }

    /// Counters for status output and tests.
    public var statistics: OutboxReaderStatistics { self.state.withLock { $0.statistics } }

    /// Asks `run()` to finish: deliver and record the batch in hand, then return.
    public func stop() {
        let wakeUp = self.state.withLock { state in
            state.stopRequested = true
            return state.wakeUp
        }
        wakeUp?.yield()
    }

    fileprivate var stopRequested: Bool { self.state.withLock { $0.stopRequested } }

    fileprivate func record(_ update: (inout OutboxReaderStatistics) -> Void) {
        self.state.withLock { update(&$0.statistics) }
    }

    /// Runs until stopped, cancelled or (inside a `ServiceGroup`) shut down gracefully. Errors that reconnecting cannot
    /// fix (no outbox, a group registered with another partition count, a sink that keeps failing under the `stop`
    /// policy) end it with that error.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await self.runUntilStopped()
        } onGracefulShutdown: {
            self.stop()
        }
    }

    /// Delivers every change committed before the call (of the partitions this reader gets), deletes what every
    /// group delivered, closes the sinks and returns: for batch jobs, and for a last look after a run.
    public func catchUp() async throws {
        try Self.validate(self.configuration)
        try await ReplicationConnection.withConnection(
            settings: self.configuration.connection, replication: false, logger: self.logger
        ) { connection in
            var session = try await OutboxSession.start(reader: self, connection: connection)
            while try await session.deliverRound() {}
            try await session.cleanUp()
        }
        for sink in self.sinks { try await sink.close() }
    }

    private func runUntilStopped() async throws {
        try Self.validate(self.configuration)
        let (wakeUps, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let stopped = self.state.withLock { state in
            state.wakeUp = continuation
            return state.stopRequested
        }
        defer {
            self.state.withLock { $0.wakeUp = nil }
            continuation.finish()
        }
        if !stopped {
            try await withThrowingTaskGroup(of: Void.self) { group in
                if self.configuration.listensForWakeUps {
                    group.addTask { await self.listenForWakeUps(continuation) }
                }
                group.addTask { [pollInterval = self.configuration.pollInterval] in
                    while true {
                        try await Task.sleep(for: pollInterval)
                        continuation.yield()
                    }
                }
                defer { group.cancelAll() }
                try await self.readUntilStopped(wakeUps: wakeUps)
            }
        }
        for sink in self.sinks { try await sink.close() }
    }

    static func validate(_ configuration: OutboxReaderConfiguration) throws(SiphonError) {
        try TriggerCapture.validateIdentifier(configuration.schema, as: "schema")
        try TriggerCapture.validateName(configuration.outbox, as: "outbox")
        try TriggerCapture.validateIdentifier(configuration.group.name, as: "consumer group")
        guard (1...1024).contains(configuration.group.partitions) else {
            throw SiphonError(.invalidConfiguration, "a consumer group has 1 to 1024 partitions")
        }
        guard configuration.maxBatchSize > 0 else {
            throw SiphonError(.invalidConfiguration, "the batch size must be positive")
        }
    }

    private func readUntilStopped(wakeUps: AsyncStream<Void>) async throws {
        var iterator = wakeUps.makeAsyncIterator()
        var attempt = 0
        while !self.stopRequested && !Task.isCancelled {
            do {
                try await self.runSession(wakeUps: &iterator) { attempt = 0 }
            } catch let error as SiphonError
                where Self.isRetryable(error) && !self.stopRequested && !Task.isCancelled
            {
                let delay = self.configuration.reconnectBackoff.delay(attempt: attempt)
                attempt += 1
                self.record { $0.reconnects += 1 }
                self.logger.warning(
                    "Outbox reader interrupted; reconnecting", metadata: ["error": "\(error)", "retry.in": "\(delay)"])
                try await Backoff.wait(delay) { self.stopRequested }
            }
        }
    }

    /// Connection trouble is worth retrying; configuration errors and sinks that keep failing are not.
    static func isRetryable(_ error: SiphonError) -> Bool {
        switch error.code {
        case .connectionFailed: return true
        case .serverError:
            // Shutdown, crash recovery, too many connections, a lost advisory lock: the server comes back.
            let state = error.serverError?.sqlState ?? ""
            return state.hasPrefix("57P") || state.hasPrefix("08") || state == "53300" || state == "40001"
                || state == "40P01"
        default: return false
        }
    }

    /// One connection's worth of reading. `connected` is called once the session is ready.
    private func runSession(wakeUps: inout AsyncStream<Void>.Iterator, connected: () -> Void) async throws {
        try await ReplicationConnection.withConnection(
            settings: self.configuration.connection, replication: false, logger: self.logger
        ) { connection in
            var session = try await OutboxSession.start(reader: self, connection: connection)
            connected()
            self.logger.info("Reading the outbox")
            var quietSince: ContinuousClock.Instant?
            while !self.stopRequested {
                if try await session.deliverRound() {
                    quietSince = nil
                    continue
                }
                if self.stopRequested { break }
                guard self.configuration.listensForWakeUps else {
                    self.configuration.caughtUp?()
                    guard await wakeUps.next(isolation: #isolation) != nil else { break }
                    continue
                }
                // Nothing to deliver. Right after a burst, more usually follows: keep looking (read-only) for a
                // moment rather than having the next writers pay for wake-ups.
                let now = ContinuousClock.now
                let quiet = quietSince ?? now
                quietSince = quiet
                if now - quiet < self.configuration.idleAfter {
                    try await Task.sleep(for: self.configuration.busyPollInterval)
                    continue
                }
                // Wait for a wake-up, but only once writers know to send one.
                switch try await session.becomeIdle() {
                case .sentinel:
                    // Writers that committed while the idle lock was being taken sent no wake-up: look once more.
                    if try await session.deliverRound() {
                        try await session.stopBeingIdle()
                        continue
                    }
                    self.configuration.caughtUp?()
                    let woken = await wakeUps.next(isolation: #isolation) != nil
                    try await session.stopBeingIdle()
                    if !woken { break }
                case .watched:
                    self.configuration.caughtUp?()
                    guard await wakeUps.next(isolation: #isolation) != nil else { break }
                case .busy:
                    try await Task.sleep(for: self.configuration.busyPollInterval)
                }
            }
            if self.stopRequested {
                // A clean stop leaves the outbox tidy: what every group delivered goes now.
                try await session.cleanUp()
            }
        }
    }

    /// Keeps a `LISTEN` on the outbox's wake-up channel and turns each notification into a wake-up; reconnects when
    /// the connection goes away (the reader polls meanwhile).
    private func listenForWakeUps(_ wakeUp: AsyncStream<Void>.Continuation) async {
        let channel = OutboxNames(schema: self.configuration.schema, name: self.configuration.outbox).wakeChannel
        var attempt = 0
        while !Task.isCancelled {
            do {
                try await ReplicationConnection.withConnection(
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
                let delay = self.configuration.reconnectBackoff.delay(attempt: attempt)
                attempt += 1
                self.logger.warning(
                    "Lost the wake-up connection; polling until it is back",
                    metadata: ["error": "\(error)", "retry.in": "\(delay)"])
                try? await Task.sleep(for: delay)
            }
        }
    }

    fileprivate var sinkList: [any ChangeSink] { self.sinks }
    fileprivate var log: Logger { self.logger }
}

/// What an outbox reader has done so far.
public struct OutboxReaderStatistics: Sendable, Hashable {
    public var changesDelivered = 0
    public var changesFiltered = 0
    public var batches = 0
    /// Windows delivered completely (see `docs/trigger-mode.md`).
    public var windows = 0
    /// Delivered changes deleted from the outbox.
    public var changesDeleted = 0
    public var reconnects = 0
    public var deadLetters = 0
    /// The partitions of the group this reader holds now.
    public var partitions: [Int] = []
}

/// The open-window → read → deliver → record loop over one connection.
private struct OutboxSession {
    let reader: OutboxReader
    let connection: ReplicationConnection
    let queries: OutboxQueries
    /// SQL for the change's time: the commit time with `track_commit_timestamp`, otherwise the time of the change.
    let commitTime: String
    let delivery: Delivery
    var columns = ColumnOrder()
    var cursors: [Int: OutboxCursor] = [:]
    var held: Set<Int> = []
    /// When opening a window last found a partition empty.
    var foundEmpty: [Int: ContinuousClock.Instant] = [:]
    var lastRebalance: ContinuousClock.Instant?
    var lastCleanup: ContinuousClock.Instant?

    static let cleanupBatch = 10_000

    static func start(reader: OutboxReader, connection: ReplicationConnection) async throws -> OutboxSession {
        let configuration = reader.configuration
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
        let delivery = Delivery(
            sinks: reader.sinkList, policy: configuration.delivery, settings: configuration.connection,
            logger: reader.log)
        return OutboxSession(
            reader: reader, connection: connection, queries: queries, commitTime: commitTime, delivery: delivery)
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

    func becomeIdle() async throws -> Idleness {
        let answer = try await self.connection.simpleQuery(self.queries.becomeIdle).rows.first?[0] ?? nil
        guard let answer, let idleness = Idleness(rawValue: answer) else {
            throw SiphonError(.protocolViolation, "unexpected answer to the idle-lock query: \(String(describing: answer))")
        }
        return idleness
    }

    func stopBeingIdle() async throws {
        try await self.connection.simpleQuery(self.queries.stopBeingIdle)
    }

    /// Takes the partitions this reader should hold, then delivers one window of each. Returns whether there may be
    /// more to deliver right away.
    mutating func deliverRound() async throws -> Bool {
        try await self.rebalanceIfDue()
        var busy = false
        for partition in self.held.sorted() {
            if self.reader.stopRequested { return false }
            busy = try await self.deliverWindow(partition) || busy
        }
        try await self.cleanUpIfDue()
        return busy
    }

    private mutating func rebalanceIfDue() async throws {
        let now = ContinuousClock.now
        if let last = self.lastRebalance, now - last < self.reader.configuration.pollInterval { return }
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
            self.reader.record { $0.partitions = held }
            self.reader.log.info(
                "Outbox partitions assigned",
                metadata: ["partitions": "\(held)", "readers": "\(max(members.count, 1))"])
        }
    }

    /// Delivers the open window of `partition`, opening one first when none is open. Returns whether a window was
    /// delivered (so more may be waiting).
    private mutating func deliverWindow(_ partition: Int) async throws -> Bool {
        guard var cursor = self.cursors[partition] else { return false }
        if cursor.window == nil {
            // Opening a window writes (it moves `delivered` on even when empty). When this partition was found empty
            // a moment ago, a read-only look comes first, so looking often while idle costs the server no writes.
            let now = ContinuousClock.now
            if let emptyAt = self.foundEmpty[partition], now - emptyAt < self.reader.configuration.pollInterval {
                let pending = try await self.connection.query(self.queries.hasPending(cursor))
                guard pending.rows.first?[0] == "t" else { return false }
            }
            let opened = try await self.connection.query(self.queries.openWindow(cursor))
            guard let row = opened.rows.first else { throw Self.lostPartition(partition) }
            cursor = try OutboxCursor(row: row)
            self.cursors[partition] = cursor
            self.foundEmpty[partition] = cursor.window == nil ? now : nil
        }
        guard let window = cursor.window else { return false }
        let configuration = self.reader.configuration
        while true {
            let rows = try await self.connection.query(
                self.queries.readBatch(
                    cursor, window: window, limit: configuration.maxBatchSize, commitTime: self.commitTime)
            ).rows
            var records: [OutboxRecord] = []
            records.reserveCapacity(rows.count)
            for row in rows { records.append(try OutboxRecord(row: row)) }
            var changes: [Change] = []
            changes.reserveCapacity(records.count)
            for change in try await self.changes(of: records, windowLSN: cursor.windowLSN, partition: partition) {
                if let kept = configuration.filter.apply(change) { changes.append(kept) }
            }
            if !changes.isEmpty {
                let outcome = try await self.delivery.deliver(changes)
                self.reader.record {
                    $0.changesDelivered += changes.count
                    $0.batches += 1
                    $0.deadLetters += outcome.deadLettered
                }
            }
            let filtered = records.count - changes.count
            if filtered > 0 { self.reader.record { $0.changesFiltered += filtered } }
            if records.count < configuration.maxBatchSize {
                try await self.expectOneRow(self.queries.closeWindow(cursor), partition: partition)
                cursor.delivered = window
                cursor.window = nil
                cursor.lastID = 0
                self.cursors[partition] = cursor
                self.reader.record { $0.windows += 1 }
                return true
            }
            cursor.lastID = records[records.count - 1].id
            try await self.expectOneRow(self.queries.advance(cursor, to: cursor.lastID), partition: partition)
            self.cursors[partition] = cursor
            if self.reader.stopRequested { return false }
        }
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
        let outbox = self.reader.configuration.outbox
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
        if let last = self.lastCleanup, now - last < self.reader.configuration.cleanupInterval { return }
        self.lastCleanup = now
        try await self.cleanUp()
    }

    /// Deletes what every group delivered (and what is past the retention period, with one).
    func cleanUp() async throws {
        let sql = self.queries.cleanUp(retention: self.reader.configuration.retention, limit: Self.cleanupBatch)
        while true {
            let tag = try await self.connection.simpleQuery(sql).commandTag
            let deleted = Int(tag.split(separator: " ").last ?? "") ?? 0
            if deleted > 0 { self.reader.record { $0.changesDeleted += deleted } }
            if deleted < Self.cleanupBatch || self.reader.stopRequested { return }
        }
    }
}
