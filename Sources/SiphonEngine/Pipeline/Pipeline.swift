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
/// server goes away. Stopping is clean: the batch in hand is delivered and acknowledged before the stream ends, so a
/// restart repeats nothing.
public final class Pipeline: Service, Sendable {
    public let configuration: PipelineConfiguration
    private let sinks: [any ChangeSink]
    private let logger: Logger
    private let state = Mutex(SharedState())

    private struct SharedState {
        var stopRequested = false
        var wakeHandle: ReplicationWakeHandle?
        var statistics = PipelineStatistics()
    }

    public init(configuration: PipelineConfiguration, sinks: [any ChangeSink], logger: Logger) {
        self.configuration = configuration
        self.sinks = sinks
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
        for sink in self.sinks { try await sink.close() }
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
                        pipeline: self, stream: stream, renderer: renderer, catalog: catalog, binary: binary,
                        confirmed: start)
                    try await session.run()
                    group.cancelAll()
                }
            }
        }
    }

    fileprivate func record(_ update: (inout PipelineStatistics) -> Void) {
        self.state.withLock { update(&$0.statistics) }
    }

    fileprivate var sinkList: [any ChangeSink] { self.sinks }
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

    init(
        pipeline: Pipeline, stream: ReplicationStream, renderer: ValueRenderer, catalog: TypeResolver, binary: Bool,
        confirmed: LSN
    ) {
        self.pipeline = pipeline
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
        self.batch.reserveCapacity(pipeline.configuration.maxBatchSize)
        self.delivery = Delivery(
            sinks: pipeline.sinkList, policy: pipeline.configuration.delivery, settings: pipeline.configuration.connection,
            logger: pipeline.log)
    }

    mutating func run() async throws {
        let maxBatchSize = self.pipeline.configuration.maxBatchSize
        while !self.pipeline.shouldStop, let message = try await self.stream.next() {
            switch message {
            case .xLogData(let data):
                try await self.consume(data)
                // Deliver when the batch is full, or at a transaction boundary when nothing more is waiting: low
                // latency when changes trickle in, large batches when a backlog drains.
                if self.batch.count >= maxBatchSize
                    || (!self.tracker.inTransaction && !self.stream.hasBufferedMessages)
                {
                    try await self.flush()
                }
            case .primaryKeepalive(let walEnd, _, _):
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
        while self.assembler.hasPendingEvents {
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
            case .change(let change):
                try await self.queue(change)
            case .commit(_, _, let endLSN, let commitTime):
                self.tracker.transactionCommitted(endLSN: endLSN)
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
        if self.batch.count >= self.pipeline.configuration.maxBatchSize { try await self.flush() }
    }

    /// Delivers the batch to every sink, then confirms what became confirmable.
    private mutating func flush() async throws {
        if !self.batch.isEmpty {
            let delivered = try await self.delivery.deliver(self.batch)
            let count = self.batch.count
            self.pipeline.record {
                $0.changesDelivered += count
                $0.batches += 1
                $0.deadLetters += delivered.deadLettered
            }
            self.batch.removeAll(keepingCapacity: true)
        }
        if let lsn = self.tracker.queuedChangesDelivered() {
            try await self.acknowledge(lsn)
        }
    }

    private func acknowledge(_ lsn: LSN) async throws {
        try await self.stream.acknowledge(upTo: lsn)
        self.pipeline.record { $0.confirmedLSN = lsn }
    }
}
