// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import ServiceLifecycle
import Synchronization

/// Reads changes from a source, delivers them to sinks and acknowledges to the source only what every sink made
/// durable: the one service loop of every capture mode.
///
/// `run()` reads until it is cancelled or `stop()` is called, opening a new session when the source fails in a way
/// it can recover from (see `SourceRecovery`). Stopping is clean and happens at a transaction boundary: what was
/// handed to the sinks is delivered and acknowledged before the session ends, so a restart repeats nothing.
public final class Pipeline: Service, Sendable {
    public let options: PipelineOptions
    /// Where the changes come from (a `LogicalReplicationSource`, an `OutboxSource`, …), e.g. for its statistics.
    public let source: any ChangeSource
    private let openSinks: @Sendable () throws -> [any ChangeSink]
    let logger: Logger
    private let stopSignal = StopSignal()
    private let state = Mutex(SharedState())

    private struct SharedState {
        var wake: (@Sendable () -> Void)?
        var statistics = PipelineStatistics()
        /// `nil` until a session was first opened.
        var sinks: [any ChangeSink]?
    }

    /// A pipeline that opens its sinks only once a session is open (for a slot: once it holds the slot), so a
    /// standby waiting for the slot leaves files that the active pipeline writes (and locks) alone, and takes them
    /// over with the slot.
    public init(
        source: some ChangeSource, options: PipelineOptions, logger: Logger,
        openSinks: @escaping @Sendable () throws -> [any ChangeSink]
    ) {
        self.source = source
        self.options = options
        self.openSinks = openSinks
        self.logger = logger
    }

    public convenience init(source: some ChangeSource, options: PipelineOptions, sinks: [any ChangeSink], logger: Logger) {
        self.init(source: source, options: options, logger: logger, openSinks: { sinks })
    }

    /// A pipeline over the logical replication slot `configuration` names.
    public convenience init(
        configuration: PipelineConfiguration, logger: Logger,
        openSinks: @escaping @Sendable () throws -> [any ChangeSink]
    ) {
        self.init(
            source: LogicalReplicationSource(configuration: configuration.source, logger: logger),
            options: configuration.options, logger: logger, openSinks: openSinks)
    }

    public convenience init(configuration: PipelineConfiguration, sinks: [any ChangeSink], logger: Logger) {
        self.init(configuration: configuration, logger: logger, openSinks: { sinks })
    }

    /// Counters for status output and metrics.
    public var statistics: PipelineStatistics { self.state.withLock { $0.statistics } }

    /// Asks `run()` to finish: deliver and acknowledge what it holds, end the session, return.
    public func stop() {
        self.stopSignal.stop()
        // The session may be waiting for data: waking it makes it see the request at once.
        self.state.withLock { $0.wake }?()
    }

    /// Runs until stopped, cancelled or (inside a `ServiceGroup`) shut down gracefully. Errors the source cannot
    /// recover from (bad credentials, a missing slot, changes lost, a sink that keeps failing under the `stop`
    /// policy) end it with that error.
    public func run() async throws {
        guard self.options.maxBatchSize > 0 else {
            throw SiphonError(.invalidConfiguration, "the batch size must be positive, not \(self.options.maxBatchSize)")
        }
        try await withGracefulShutdownHandler {
            try await self.runUntilStopped(self.source)
        } onGracefulShutdown: {
            self.stop()
        }
    }

    /// Reads until stopped, then closes the sinks; also when it fails, so a sink's files and connections are not
    /// left open in a process that goes on (an app that embeds the pipeline).
    private func runUntilStopped<Source: ChangeSource>(_ source: Source) async throws {
        do {
            try await self.readUntilStopped(source)
        } catch {
            for sink in self.state.withLock({ $0.sinks }) ?? [] { try? await sink.close() }
            throw error
        }
        for sink in self.state.withLock({ $0.sinks }) ?? [] { try await sink.close() }
    }

    private func readUntilStopped<Source: ChangeSource>(_ source: Source) async throws {
        var attempt = 0
        var started = false
        while !self.stopSignal.isStopped {
            do {
                try await source.withSession { session in
                    try await self.runSession(&session) {
                        attempt = 0
                        started = true
                    }
                }
                if self.stopSignal.isStopped || !source.reopensAfterEnd { break }
                self.logger.notice("The source ended the session; reconnecting", metadata: ["siphon.source": "\(source.name)"])
            } catch {
                if error is CancellationError || Task.isCancelled { throw error }
                let recovery = source.recovery(from: error)
                // Stopping anyway: a failure worth retrying does not matter any more.
                if recovery != .fail && self.stopSignal.isStopped { break }
                switch recovery {
                case .fail:
                    throw error
                case .reopen:
                    self.logger.notice(
                        "Reopening the source", metadata: ["siphon.source": "\(source.name)", "reason": "\(error)"])
                case .standBy:
                    // Another process reads the source: stand by, and take over within a second when it goes away.
                    if attempt == 0 {
                        self.logger.notice(
                            "The source is in use by another process; waiting as a standby",
                            metadata: ["siphon.source": "\(source.name)", "error": "\(error)"])
                    }
                    attempt = 1
                    try await self.stopSignal.sleep(for: .seconds(1))
                case .reconnect:
                    let delay = self.options.reconnectBackoff.delay(attempt: attempt)
                    let metadata: Logger.Metadata = [
                        "siphon.source": "\(source.name)", "error": "\(error)", "retry.in": "\(delay)",
                    ]
                    if !started && attempt == 0 {
                        // Said once and plainly: the first connection failing is usually a mistake to fix, not a
                        // network blip, and the reconnect warnings after it would bury it.
                        if self.options.exitOnStartFailure { throw error }
                        self.logger.error("Could not start; retrying until the source can be reached", metadata: metadata)
                    } else {
                        self.logger.warning("Reading interrupted; reconnecting", metadata: metadata)
                    }
                    attempt += 1
                    self.state.withLock { $0.statistics.reconnects += 1 }
                    try await self.stopSignal.sleep(for: delay)
                }
            }
        }
    }

    /// One session: bind the sinks to it, then read, deliver and acknowledge until it ends or the pipeline stops.
    private func runSession<Session: ChangeSourceSession>(
        _ session: inout Session, connected: () -> Void
    ) async throws {
        self.state.withLock { $0.wake = session.wake }
        defer { self.state.withLock { $0.wake = nil } }
        // A stop that came before the wake-up was installed found nothing to wake.
        if self.stopSignal.isStopped { return }
        let sinks = try await self.sinksOpened()
        if let binding = session.binding {
            for case let sink as any SourceBoundSink in sinks {
                try await sink.bind(to: binding.identity, slotPosition: binding.resumedAt)
            }
        }
        connected()
        var loop = DeliveryLoop(pipeline: self, session: session, sinks: sinks)
        defer { session = loop.session }
        try await loop.run()
    }

    /// The sinks, opened on first use. A file still locked by the pipeline that held the slot before is waited for
    /// a little: it closes its sinks right after releasing the slot.
    private func sinksOpened() async throws -> [any ChangeSink] {
        if let sinks = self.state.withLock({ $0.sinks }) { return sinks }
        var attempts = 0
        while true {
            do {
                let sinks = try self.openSinks()
                self.state.withLock { $0.sinks = sinks }
                return sinks
            } catch where JSONLinesFileSink.isLockConflict(error) && attempts < 100 && !self.stopSignal.isStopped {
                attempts += 1
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    fileprivate func record(_ update: (inout PipelineStatistics) -> Void) {
        self.state.withLock { update(&$0.statistics) }
    }

    fileprivate var log: Logger { self.logger }
    fileprivate var shouldStop: Bool { self.stopSignal.isStopped }
}

/// What the pipeline has done so far.
public struct PipelineStatistics: Sendable, Hashable {
    public var changesDelivered = 0
    public var changesFiltered = 0
    public var transactions = 0
    public var batches = 0
    public var reconnects = 0
    public var deadLetters = 0
    /// The last position acknowledged to the source.
    public var confirmedPosition: SourcePosition?
    /// The last slot position confirmed (logical replication only).
    public var confirmedLSN = LSN.zero
    public var lastCommitTime: PostgresTimestamp?
}

/// The read → deliver → acknowledge loop over one session: reads chunks of events from the session and hands them to
/// the delivery core, then acknowledges what the core found confirmable. Only the calls into the session are generic;
/// the per-change work is not.
private struct DeliveryLoop<Session: ChangeSourceSession> {
    var session: Session
    var core: DeliveryCore

    init(pipeline: Pipeline, session: Session, sinks: [any ChangeSink]) {
        self.session = session
        self.core = DeliveryCore(pipeline: pipeline, sinks: sinks)
    }

    mutating func run() async throws {
        while !self.core.stopsHere() {
            self.core.events.removeAll(keepingCapacity: true)
            guard try await self.session.next(into: &self.core.events, maxChanges: self.core.maxBatchSize) else { break }
            try await self.core.handleEvents(moreReady: self.session.hasReadyEvents)
            try await self.acknowledgeIfDue()
        }
        try await self.core.flush()
        try await self.acknowledgeIfDue()
        if self.core.pipeline.shouldStop { try await self.session.finish() }
    }

    /// Acknowledges what the core found confirmable: sinks bound to the source record it first, and may hold the
    /// acknowledgement back to a position they recorded earlier.
    private mutating func acknowledgeIfDue() async throws {
        guard var position = self.core.takeConfirmable() else { return }
        if let checkpoint = self.session.checkpoint(for: position) {
            var allowed = checkpoint.confirmed
            for sink in self.core.boundSinks {
                allowed = min(allowed, try await sink.confirming(checkpoint.confirmed, seenUpTo: checkpoint.seenUpTo))
            }
            position = SourcePosition(allowed)
            self.core.pipeline.record { $0.confirmedLSN = max($0.confirmedLSN, allowed) }
        }
        try await self.session.acknowledge(upTo: position)
        self.core.pipeline.record { $0.confirmedPosition = position }
    }
}

/// Filters, batches and delivers events, and keeps track of what became confirmable.
private struct DeliveryCore {
    let pipeline: Pipeline
    let boundSinks: [any SourceBoundSink]
    /// Whether every sink drops repeats, so a transaction partly delivered may be sent again whole.
    let sinksDropRepeats: Bool
    let maxBatchSize: Int
    var tracker = AckTracker<SourcePosition>()
    var batch: [Change] = []
    var events: [SourceEvent] = []
    var delivery: Delivery
    /// Where the open transaction's changes start in `batch`; `nil` outside a transaction.
    var openTransactionStart: Int?
    /// Whether a sink has been handed a change of the open transaction: a stop must then finish it.
    var openTransactionDelivered = false
    /// The furthest position that became confirmable and is not acknowledged yet.
    private var confirmable: SourcePosition?

    init(pipeline: Pipeline, sinks: [any ChangeSink]) {
        self.pipeline = pipeline
        self.boundSinks = sinks.compactMap { $0 as? any SourceBoundSink }
        self.sinksDropRepeats = self.boundSinks.count == sinks.count
        self.maxBatchSize = pipeline.options.maxBatchSize
        self.batch.reserveCapacity(self.maxBatchSize)
        self.delivery = Delivery(
            sinks: sinks, policy: pipeline.options.delivery, settings: pipeline.options.deadLetters,
            logger: pipeline.log)
    }

    /// Handles the events just read; `moreReady` says whether the session has more without waiting.
    mutating func handleEvents(moreReady: Bool) async throws {
        // Swapping a trivial placeholder in moves each event out of the array: a change's strings and rows are not
        // retained and released once more on their way into the batch, and nothing is copied to reorder the array.
        for index in self.events.indices {
            var event = SourceEvent.begin
            swap(&event, &self.events[index])
            switch event {
            case .begin:
                self.tracker.transactionBegan()
                self.openTransactionStart = self.batch.count
            case .change(let change):
                try await self.queue(change)
            case .commit(let position, let time):
                self.tracker.transactionCommitted(at: position)
                self.openTransactionStart = nil
                self.openTransactionDelivered = false
                self.pipeline.record {
                    $0.transactions += 1
                    if let time { $0.lastCommitTime = time }
                }
            case .idle(let position):
                try await self.flush()
                if let position = self.tracker.idlePositionReported(position) { self.confirmable = position }
            }
        }
        // Stopping: the loop's check ends the session before this transaction reaches a sink.
        if self.stopPending { return }
        // Deliver when the batch is full, or at a transaction boundary when nothing more is ready: low latency when
        // changes trickle in, large batches when a backlog drains.
        if self.batch.count >= self.maxBatchSize || (!self.tracker.inTransaction && !moreReady) {
            try await self.flush()
        }
    }

    /// Adds a change to the batch unless the filter drops it; delivers the batch once it is full.
    private mutating func queue(_ change: consuming Change) async throws {
        guard let kept = self.pipeline.options.filter.apply(change) else {
            self.pipeline.record { $0.changesFiltered += 1 }
            return
        }
        self.batch.append(kept)
        self.tracker.changeQueued()
        if self.batch.count >= self.maxBatchSize && !self.stopPending { try await self.flush() }
    }

    /// A stop was asked for and the open transaction (if any) has not reached a sink yet: delivering more of it now
    /// would only force the stop to wait for the rest.
    private var stopPending: Bool {
        self.pipeline.shouldStop && self.tracker.inTransaction && !self.openTransactionDelivered
    }

    /// Whether the session may end now, at a transaction boundary, so that a restart repeats nothing.
    ///
    /// Outside a transaction it may. Inside one whose changes no sink was handed yet, the transaction is abandoned:
    /// it is not acknowledged, and the source sends it again, whole, after the restart — however large it is, a stop
    /// does not wait for it. A transaction partly handed out is finished first, since a sink that cannot drop repeats
    /// (stdout, handlers) would otherwise show its first part twice; when every sink drops repeats, that is no
    /// concern and it is abandoned too.
    mutating func stopsHere() -> Bool {
        guard self.pipeline.shouldStop else { return false }
        guard self.tracker.inTransaction else { return true }
        if self.openTransactionDelivered && !self.sinksDropRepeats { return false }
        let start = self.openTransactionStart ?? self.batch.count
        self.tracker.openTransactionAbandoned(changes: self.batch.count - start)
        self.batch.removeSubrange(start...)
        self.openTransactionStart = nil
        self.openTransactionDelivered = false
        return true
    }

    /// Delivers the batch to every sink and notes what became confirmable.
    mutating func flush() async throws {
        if !self.batch.isEmpty {
            if let start = self.openTransactionStart, start < self.batch.count { self.openTransactionDelivered = true }
            let delivered = try await self.delivery.deliver(self.batch)
            let count = self.batch.count
            self.pipeline.record {
                $0.changesDelivered += count
                $0.batches += 1
                $0.deadLetters += delivered.deadLettered
            }
            self.batch.removeAll(keepingCapacity: true)
            if self.openTransactionStart != nil { self.openTransactionStart = 0 }
        }
        if let position = self.tracker.queuedChangesDelivered() { self.confirmable = position }
    }

    /// The position to acknowledge now, if one became confirmable since the last call.
    mutating func takeConfirmable() -> SourcePosition? {
        defer { self.confirmable = nil }
        return self.confirmable
    }
}
