// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import NIOCore
import SiphonCore
import SiphonPgOutput
import SiphonReplication
import SiphonWire
import ServiceLifecycle
import Synchronization

/// Streams changes from a replication slot to sinks and confirms to PostgreSQL only what every sink made durable.
///
/// `run()` reads until it is cancelled or `stop()` is called, reconnecting with backoff when the connection or the
/// server goes away. Stopping is clean and happens at a transaction boundary: what was handed to the sinks is
/// delivered and acknowledged before the stream ends, so a restart repeats nothing.
public final class Pipeline: Service, Sendable {
    public let configuration: PipelineConfiguration
    private let openSinks: @Sendable () throws -> [any ChangeSink]
    private let logger: Logger
    private let state = Mutex(SharedState())

    private struct SharedState {
        var stopRequested = false
        var wakeHandle: ReplicationWakeHandle?
        var statistics = PipelineStatistics()
        /// `nil` until the slot was first acquired.
        var sinks: [any ChangeSink]?
    }

    public convenience init(configuration: PipelineConfiguration, sinks: [any ChangeSink], logger: Logger) {
        self.init(configuration: configuration, logger: logger, openSinks: { sinks })
    }

    /// A pipeline that opens its sinks only once it holds the slot: a standby waiting for the slot leaves files that
    /// the active pipeline writes (and locks) alone, and takes them over with the slot.
    public init(
        configuration: PipelineConfiguration, logger: Logger,
        openSinks: @escaping @Sendable () throws -> [any ChangeSink]
    ) {
        self.configuration = configuration
        self.openSinks = openSinks
        self.logger = logger
    }

    /// Counters for status output and metrics.
    public var statistics: PipelineStatistics { self.state.withLock { $0.statistics } }

    /// Asks `run()` to finish: deliver and acknowledge what it holds, end the stream, return.
    public func stop() {
        let handle = self.state.withLock { state -> ReplicationWakeHandle? in
            state.stopRequested = true
            return state.wakeHandle
        }
        // The consumer may be waiting for data; a keepalive reply wakes it so it sees the request at once.
        handle?.requestKeepalive()
    }

    private var stopRequested: Bool { self.state.withLock { $0.stopRequested } }

    /// Runs until stopped, cancelled or (inside a `ServiceGroup`) shut down gracefully. Errors that reconnecting
    /// cannot fix (bad credentials, a missing slot, changes lost, a sink that keeps failing under the `stop` policy)
    /// end it with that error.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await self.runUntilStopped()
        } onGracefulShutdown: {
            self.stop()
        }
    }

    private func runUntilStopped() async throws {
        var attempt = 0
        var textFormatNeeded = false
        while !self.stopRequested && !Task.isCancelled {
            do {
                try await self.runSession(textFormatNeeded: textFormatNeeded) { attempt = 0 }
                if self.stopRequested || self.configuration.temporarySlot { break }
                self.logger.notice("The server ended the replication stream; reconnecting")
            } catch let restart as TypeRestart {
                guard !self.configuration.temporarySlot else {
                    throw SiphonError(
                        .decodingFailed,
                        "\(restart); a temporary slot cannot be read again from where it was, so start over"
                            + (restart.needsTextFormat ? " without the binary format" : ""),
                        underlying: restart)
                }
                textFormatNeeded = textFormatNeeded || restart.needsTextFormat
                self.logger.notice(
                    "Restarting the stream to render new types right",
                    metadata: ["reason": "\(restart)", "format": "\(textFormatNeeded ? "text" : "as configured")"])
            } catch let error as SiphonError
                where Self.isRetryable(error) && !self.stopRequested && !self.configuration.temporarySlot
            {
                if error.serverError?.sqlState == "55006" {
                    // Another process reads the slot: stand by, and take over within a second when it goes away.
                    if attempt == 0 {
                        self.logger.notice(
                            "The slot is in use by another process; waiting as a standby",
                            metadata: ["siphon.slot": "\(self.configuration.slot)", "error": "\(error)"])
                    }
                    attempt = 1
                    try await Backoff.wait(.seconds(1)) { self.stopRequested }
                    continue
                }
                let delay = self.configuration.reconnectBackoff.delay(attempt: attempt)
                attempt += 1
                self.state.withLock { $0.statistics.reconnects += 1 }
                self.logger.warning(
                    "Replication interrupted; reconnecting",
                    metadata: ["error": "\(error)", "retry.in": "\(delay)", "siphon.slot": "\(self.configuration.slot)"])
                try await Backoff.wait(delay) { self.stopRequested }
            }
        }
        for sink in self.state.withLock({ $0.sinks }) ?? [] { try await sink.close() }
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
            } catch where JSONLinesFileSink.isLockConflict(error) && attempts < 100 && !self.stopRequested {
                attempts += 1
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Connection trouble is worth retrying; configuration, authentication and lost data are not.
    static func isRetryable(_ error: SiphonError) -> Bool {
        switch error.code {
        case .connectionFailed: return true
        case .slotUnavailable: return error.serverError?.sqlState == "55006"  // active elsewhere: wait for it
        case .serverError:
            // Shutdown, crash recovery, too many connections: the server comes back.
            let state = error.serverError?.sqlState ?? ""
            return state.hasPrefix("57P") || state.hasPrefix("08") || state == "53300"
        default: return false
        }
    }

    /// One connection's worth of streaming. `connected` is called once streaming started.
    private func runSession(textFormatNeeded: Bool, connected: () -> Void) async throws {
        let configuration = self.configuration
        try await ReplicationConnection.withConnection(settings: configuration.connection, logger: self.logger) {
            connection in
            let system = try await connection.identifySystem()
            let start: LSN
            if configuration.temporarySlot {
                start = try await connection.createReplicationSlot(configuration.slot, temporary: true).consistentPoint
            } else {
                start = try await SlotInspector.inspect(connection: connection, slot: configuration.slot).confirmedFlush
            }
            let catalog = TypeResolver(settings: configuration.connection, logger: self.logger)
            let preloaded = try await catalog.preload(connection: connection, publications: configuration.publications)
            var binary = configuration.binary && !textFormatNeeded
            if binary && !preloaded.binarySafe {
                // The JSON must be the same in both formats; these types only render right from text.
                self.logger.notice(
                    "Using the text format: some column types have no known binary layout",
                    metadata: ["types": "\(preloaded.textOnlyTypes)"])
                binary = false
            }
            let renderer = preloaded.renderer
            let options = PgOutputOptions(
                publications: configuration.publications, binary: binary, messages: true,
                protocolVersion: configuration.protocolVersion)
            try await connection.streamChanges(
                slot: configuration.slot, from: .zero, options: options, statusInterval: configuration.statusInterval
            ) { stream in
                self.state.withLock { $0.wakeHandle = stream.wakeHandle }
                defer { self.state.withLock { $0.wakeHandle = nil } }
                // The slot is ours now: only now open the sinks, and check they belong to this source and position.
                let sinks = try await self.sinksOpened()
                let source = SourceIdentity.logicalSlot(
                    systemID: system.systemID, timeline: system.timeline,
                    database: system.database ?? configuration.connection.database, slot: configuration.slot)
                for case let sink as any SourceBoundSink in sinks {
                    try await sink.bind(to: source, slotPosition: configuration.temporarySlot ? nil : start)
                }
                connected()
                self.logger.info(
                    "Streaming changes",
                    metadata: [
                        "siphon.slot": "\(configuration.slot)", "pg.lsn": "\(start)",
                        "protocol": "\(stream.protocolVersion)",
                    ])
                try await withThrowingTaskGroup(of: Void.self) { group in
                    if let interval = configuration.heartbeatInterval {
                        let heartbeat = Heartbeat(settings: configuration.connection, logger: self.logger)
                        group.addTask { await heartbeat.run(every: interval) }
                    }
                    var session = StreamSession(
                        pipeline: self, sinks: sinks, stream: stream, renderer: renderer, catalog: catalog,
                        binary: binary, confirmed: start)
                    try await session.run()
                    group.cancelAll()
                }
            }
        }
    }

    fileprivate func record(_ update: (inout PipelineStatistics) -> Void) {
        self.state.withLock { update(&$0.statistics) }
    }

    fileprivate var log: Logger { self.logger }
    fileprivate var shouldStop: Bool { self.stopRequested }
}

/// What the pipeline has done so far.
public struct PipelineStatistics: Sendable, Hashable {
    public var changesDelivered = 0
    public var changesFiltered = 0
    public var transactions = 0
    public var batches = 0
    public var reconnects = 0
    public var deadLetters = 0
    public var confirmedLSN = LSN.zero
    public var lastCommitTime: PostgresTimestamp?
}

/// The decode → filter → deliver → acknowledge loop over one replication stream.
private struct StreamSession {
    let pipeline: Pipeline
    let boundSinks: [any SourceBoundSink]
    /// Whether every sink drops repeats, so a transaction partly delivered may be sent again whole.
    let sinksDropRepeats: Bool
    let stream: ReplicationStream
    var decoder: PgOutputDecoder
    var assembler: ChangeAssembler
    var catalog: TypeResolver
    let binary: Bool
    var tracker: AckTracker
    var batch: [Change] = []
    var events: [AssembledEvent] = []
    /// Primary keys of `REPLICA IDENTITY FULL` tables, whose Relation messages mark every column as key.
    var primaryKeys: [TableName: [String]] = [:]
    var delivery: Delivery
    /// Where the open transaction's changes start in `batch`; `nil` outside a transaction.
    var openTransactionStart: Int?
    /// Whether a sink has been handed a change of the open transaction: a stop must then finish it.
    var openTransactionDelivered = false
    /// The highest WAL position the server reported sending; no slot created later can start at or below it.
    var seenUpTo: LSN

    init(
        pipeline: Pipeline, sinks: [any ChangeSink], stream: ReplicationStream, renderer: ValueRenderer,
        catalog: TypeResolver, binary: Bool, confirmed: LSN
    ) {
        self.pipeline = pipeline
        self.boundSinks = sinks.compactMap { $0 as? any SourceBoundSink }
        self.sinksDropRepeats = self.boundSinks.count == sinks.count
        self.stream = stream
        self.decoder = PgOutputDecoder(protocolVersion: stream.protocolVersion)
        self.assembler = ChangeAssembler(source: pipeline.configuration.slot, renderer: renderer, heldChanges: SpillingChangeStore())
        let logger = pipeline.log
        self.assembler.valueFallbackObserver = { reason in
            logger.warning("Cannot decode a value", metadata: ["reason": "\(reason)"])
        }
        self.catalog = catalog
        self.binary = binary
        self.tracker = AckTracker(confirmed: confirmed)
        self.seenUpTo = confirmed
        self.batch.reserveCapacity(pipeline.configuration.maxBatchSize)
        self.delivery = Delivery(
            sinks: sinks, policy: pipeline.configuration.delivery, settings: pipeline.configuration.connection,
            logger: pipeline.log)
    }

    mutating func run() async throws {
        let maxBatchSize = self.pipeline.configuration.maxBatchSize
        while !self.stopsHere(), let message = try await self.stream.next() {
            switch message {
            case .xLogData(let data):
                self.seenUpTo = max(self.seenUpTo, data.walEnd)
                try await self.consume(data)
                // Stopping: the loop's check ends the session before this transaction reaches a sink.
                if self.stopPending { continue }
                // Deliver when the batch is full, or at a transaction boundary when nothing more is waiting: low
                // latency when changes trickle in, large batches when a backlog drains.
                if self.batch.count >= maxBatchSize
                    || (!self.tracker.inTransaction && !self.stream.hasBufferedMessages)
                {
                    try await self.flush()
                }
            case .primaryKeepalive(let walEnd, _, _):
                self.seenUpTo = max(self.seenUpTo, walEnd)
                try await self.flush()
                if let lsn = self.tracker.idlePositionReported(
                    walEnd, openStreamedTransactions: self.assembler.heldChangeCount > 0)
                {
                    try await self.acknowledge(lsn)
                }
            }
        }
        try await self.flush()
    }

    private mutating func consume(_ data: ReplicationMessage.XLogData) async throws {
        var payload = data.payload
        let message: PgOutputMessage
        do {
            message = try self.decoder.decode(&payload)
        } catch {
            throw SiphonError(
                .decodingFailed,
                "cannot decode pgoutput message: \(error); bytes: \(data.payload.hexDump(format: .detailed(maxBytes: 256)))",
                lsn: data.walStart, underlying: error)
        }
        // Types are resolved before the assembler renders anything that uses them.
        switch message {
        case .relation(let relation):
            try await self.catalog.relationArrived(
                relation, streamedTransaction: self.assembler.streamBlockTransaction, binary: self.binary,
                into: &self.assembler.renderer)
            let name = TableName(schema: relation.namespace.isEmpty ? "pg_catalog" : relation.namespace, relation.name)
            self.primaryKeys[name] = try await self.catalog.primaryKey(of: relation)
        case .streamCommit(let commit):
            try await self.catalog.streamedTransactionCommitting(
                commit.xid, binary: self.binary, into: &self.assembler.renderer)
        case .streamAbort(let abort):
            if abort.abortsWholeTransaction { self.catalog.streamedTransactionAborted(abort.xid) }
        case .begin, .commit, .origin, .type, .insert, .update, .delete, .truncate, .message, .streamStart, .streamStop:
            break
        }
        // A Stream Commit may complete millions of changes: take them a batch at a time.
        let limit = self.pipeline.configuration.maxBatchSize
        self.events.removeAll(keepingCapacity: true)
        do {
            try self.assembler.consume(message, into: &self.events, limit: limit)
        } catch let error as SiphonError {
            throw error
        } catch {
            throw SiphonError(.decodingFailed, "\(error)", lsn: data.walStart, underlying: error)
        }
        try await self.handleEvents()
        // A stop need not wait for a huge streamed transaction before any of it was handed out.
        while self.assembler.hasPendingEvents && !self.stopsHere() {
            self.events.removeAll(keepingCapacity: true)
            try self.assembler.emitPendingEvents(into: &self.events, limit: limit)
            try await self.handleEvents()
        }
    }

    private mutating func handleEvents() async throws {
        // Popping moves each event out of the array: a change's strings and rows are not retained and released once
        // more per stage on their way into the batch.
        self.events.reverse()
        while let event = self.events.popLast() {
            switch event {
            case .begin:
                self.tracker.transactionBegan()
                self.openTransactionStart = self.batch.count
            case .change(let change):
                try await self.queue(change)
            case .commit(_, _, let endLSN, let commitTime):
                self.tracker.transactionCommitted(endLSN: endLSN)
                self.seenUpTo = max(self.seenUpTo, endLSN)
                self.openTransactionStart = nil
                self.openTransactionDelivered = false
                self.pipeline.record {
                    $0.transactions += 1
                    $0.lastCommitTime = commitTime
                }
            case .message(let transactional, _, _, let lsn):
                // Heartbeats (and other non-transactional messages) mark a position with nothing before it pending.
                if !transactional, let confirmable = self.tracker.idlePositionReported(
                    lsn, openStreamedTransactions: self.assembler.heldChangeCount > 0)
                {
                    try await self.flush()
                    try await self.acknowledge(confirmable)
                }
            }
        }
    }

    /// Adds a change to the batch unless the filter drops it; delivers the batch once it is full.
    private mutating func queue(_ change: consuming Change) async throws {
        if !self.primaryKeys.isEmpty, let key = self.primaryKeys[TableName(schema: change.schema, change.table)],
            let row = change.old ?? change.new
        {
            change.key = Row(row.columns.filter { key.contains($0.name) })
        }
        guard let kept = self.pipeline.configuration.filter.apply(change) else {
            self.pipeline.record { $0.changesFiltered += 1 }
            return
        }
        self.batch.append(kept)
        self.tracker.changeQueued()
        if self.batch.count >= self.pipeline.configuration.maxBatchSize && !self.stopPending { try await self.flush() }
    }

    /// A stop was asked for and the open transaction (if any) has not reached a sink yet: delivering more of it now
    /// would only force the stop to wait for the rest.
    private var stopPending: Bool {
        self.pipeline.shouldStop && self.tracker.inTransaction && !self.openTransactionDelivered
    }

    /// Whether the session may end now, at a transaction boundary, so that a restart repeats nothing.
    ///
    /// Outside a transaction it may. Inside one whose changes no sink was handed yet, the transaction is abandoned:
    /// it is not acknowledged, and the server sends it again, whole, after the restart — however large it is, a stop
    /// does not wait for it. A transaction partly handed out is finished first, since a sink that cannot drop repeats
    /// (stdout, handlers) would otherwise show its first part twice; when every sink drops repeats, that is no
    /// concern and it is abandoned too.
    private mutating func stopsHere() -> Bool {
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

    /// Delivers the batch to every sink, then confirms what became confirmable.
    private mutating func flush() async throws {
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
        if let lsn = self.tracker.queuedChangesDelivered() {
            try await self.acknowledge(lsn)
        }
    }

    private func acknowledge(_ lsn: LSN) async throws {
        for sink in self.boundSinks { try await sink.confirming(lsn, seenUpTo: self.seenUpTo) }
        try await self.stream.acknowledge(upTo: lsn)
        self.pipeline.record { $0.confirmedLSN = lsn }
    }
}
