// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import NIOCore
import SiphonCore
import SiphonPgOutput
import SiphonReplication
import SiphonWire

/// Where a `LogicalReplicationSource` reads.
public struct LogicalReplicationConfiguration: Sendable {
    public var connection: ConnectionSettings
    /// The logical replication slot to read (it must exist: `siphon setup` makes it).
    public var slot: String
    /// Create `slot` as a temporary slot for this session instead (for `siphon tail`): it disappears when the
    /// connection closes, and a lost connection ends the run instead of reconnecting.
    public var temporarySlot: Bool
    /// The publications that choose the tables.
    public var publications: [String]
    /// Ask for binary column values (PostgreSQL 14+); the JSON is the same, decoding is cheaper.
    public var binary: Bool
    /// pgoutput protocol version; `nil` picks 2 (streaming large transactions) on PostgreSQL 14+.
    public var protocolVersion: Int?
    /// How often to tell the server we are alive, whatever the consumer is doing.
    public var statusInterval: Duration
    /// While idle, send a heartbeat through the WAL this often, so a slot whose tables see no writes still advances.
    public var heartbeatInterval: Duration?
    /// Read the snapshots `siphon.snapshots` asks for beside the stream (`nil`: never look).
    public var snapshots: SnapshotOptions?

    public init(
        connection: ConnectionSettings, slot: String, temporarySlot: Bool = false, publications: [String],
        binary: Bool = false, protocolVersion: Int? = nil, statusInterval: Duration = .seconds(10),
        heartbeatInterval: Duration? = .seconds(30), snapshots: SnapshotOptions? = nil
    ) {
        self.connection = connection
        self.slot = slot
        self.temporarySlot = temporarySlot
        self.publications = publications
        self.binary = binary
        self.protocolVersion = protocolVersion
        self.statusInterval = statusInterval
        self.heartbeatInterval = heartbeatInterval
        self.snapshots = snapshots
    }
}

/// Changes from a logical replication slot over the streaming replication protocol with pgoutput: the connection,
/// the decoder, the transaction assembler, type resolution and `key` computation.
///
/// A session resumes from the slot's confirmed position (or creates a temporary slot). The slot's exclusivity
/// makes a second reader a standby (`SourceRecovery.standBy`); a stream that met types it cannot render right
/// reopens at once, in text if needed.
public struct LogicalReplicationSource: ChangeSource {
    public let configuration: LogicalReplicationConfiguration
    private let logger: Logger
    /// Set for good once a stream met a type that renders right only from text.
    private let textFormatNeeded = SharedValue(false)

    public init(configuration: LogicalReplicationConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public var name: String { "slot \(self.configuration.slot)" }

    /// A temporary slot vanishes with its connection: nothing to reopen.
    public var reopensAfterEnd: Bool { !self.configuration.temporarySlot }

    public func recovery(from error: any Error) -> SourceRecovery {
        if error is TypeRestart { return .reopen }
        guard !self.configuration.temporarySlot else { return .fail }
        if let error = error as? SiphonError, error.serverError?.sqlState == "55006" { return .standBy }
        if error is SlotBeingCreated { return .standBy }
        return .forConnectionFailure(error)
    }

    public func withSession(_ body: (inout LogicalReplicationSession) async throws -> Void) async throws {
        let configuration = self.configuration
        if let snapshots = configuration.snapshots, snapshots.chunkSize < 1 || snapshots.parallel < 1 {
            // A chunk of no rows would never reach the end of a table.
            throw SiphonError(
                .invalidConfiguration,
                "snapshot chunks need at least one row and one reader, not \(snapshots.chunkSize) and \(snapshots.parallel)")
        }
        try await ServerConnection.withConnection(settings: configuration.connection, logger: self.logger) {
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
            var binary = configuration.binary && !self.textFormatNeeded.current
            if binary && !preloaded.binarySafe {
                // The JSON must be the same in both formats; these types only render right from text.
                self.logger.notice(
                    "Using the text format: some column types have no known binary layout",
                    metadata: ["types": "\(preloaded.textOnlyTypes)"])
                binary = false
            }
            let options = PgOutputOptions(
                publications: configuration.publications, binary: binary, messages: true,
                protocolVersion: configuration.protocolVersion)
            try await connection.streamChanges(
                slot: configuration.slot, from: .zero, options: options, statusInterval: configuration.statusInterval
            ) { stream in
                let identity = SourceIdentity.logicalSlot(
                    systemID: system.systemID, timeline: system.timeline,
                    database: system.database ?? configuration.connection.database, slot: configuration.slot)
                let wake = stream.wakeHandle
                let exchange = configuration.snapshots.map { _ in
                    SnapshotExchange(slot: configuration.slot, wake: { wake.requestKeepalive() })
                }
                var session = LogicalReplicationSession(
                    source: self, stream: stream, renderer: preloaded.renderer, catalog: catalog, binary: binary,
                    binding: SourceBinding(identity: identity, resumedAt: configuration.temporarySlot ? nil : start),
                    start: start, snapshots: exchange)
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
                    if let options = configuration.snapshots, let exchange {
                        let reader = SnapshotReader(
                            settings: configuration.connection, slot: configuration.slot,
                            publications: configuration.publications, options: options, renderer: preloaded.renderer,
                            exchange: exchange, logger: self.logger)
                        group.addTask { await reader.run() }
                    }
                    defer { group.cancelAll() }
                    try await body(&session)
                }
            }
        }
    }

    fileprivate var log: Logger { self.logger }
    fileprivate func needTextFormat() { self.textFormatNeeded.withLock { $0 = true } }
}

/// One replication stream, decoded into changes in commit order.
public struct LogicalReplicationSession: ChangeSourceSession {
    public let binding: SourceBinding?
    private let source: LogicalReplicationSource
    private let stream: ReplicationStream
    private var decoder: PgOutputDecoder
    private var assembler: ChangeAssembler
    private var catalog: TypeResolver
    private let binary: Bool
    private var assembled: [AssembledEvent] = []
    /// The highest WAL position the server reported sending; no slot created later can start at or below it.
    private var seenUpTo: LSN
    /// Where snapshot readers hand over their chunks; `nil` when the session reads no snapshots.
    private let snapshots: SnapshotExchange?
    private var windows = SnapshotWindows()
    /// The reads of a chunk whose high watermark passed, going out as one transaction at `position`; `pending` is
    /// reversed, so that each read is moved out with `popLast` rather than copied.
    private var reads: (pending: [Change], begun: Bool, position: LSN)?

    fileprivate init(
        source: LogicalReplicationSource, stream: ReplicationStream, renderer: ValueRenderer, catalog: TypeResolver,
        binary: Bool, binding: SourceBinding, start: LSN, snapshots: SnapshotExchange?
    ) {
        self.source = source
        self.stream = stream
        self.binding = binding
        self.decoder = PgOutputDecoder(protocolVersion: stream.protocolVersion)
        self.assembler = ChangeAssembler(
            source: source.configuration.slot, renderer: renderer, heldChanges: SpillingChangeStore())
        let logger = source.log
        self.assembler.valueFallbackObserver = { reason in
            logger.warning("Cannot decode a value", metadata: ["reason": "\(reason)"])
        }
        self.catalog = catalog
        self.binary = binary
        self.seenUpTo = start
        self.snapshots = snapshots
    }

    public var wake: @Sendable () -> Void {
        let handle = self.stream.wakeHandle
        // A keepalive reply wakes a reader waiting for data.
        return { handle.requestKeepalive() }
    }

    public var hasReadyEvents: Bool {
        self.stream.hasBufferedMessages || self.assembler.hasPendingEvents || self.reads != nil
    }

    public mutating func next(into events: inout [SourceEvent], maxChanges: Int) async throws -> Bool {
        do {
            return try await self.read(into: &events, limit: maxChanges)
        } catch let restart as TypeRestart {
            guard !self.source.configuration.temporarySlot else {
                throw SiphonError(
                    .decodingFailed,
                    "\(restart); a temporary slot cannot be read again from where it was, so start over"
                        + (restart.needsTextFormat ? " without the binary format" : ""),
                    underlying: restart)
            }
            if restart.needsTextFormat { self.source.needTextFormat() }
            throw restart
        }
    }

    private mutating func read(into events: inout [SourceEvent], limit: Int) async throws -> Bool {
        try self.snapshots?.checkFailure()
        if self.reads != nil {
            self.appendReads(into: &events, limit: limit)
            return true
        }
        self.assembled.removeAll(keepingCapacity: true)
        // A Stream Commit may complete millions of changes: they come a batch at a time.
        if self.assembler.hasPendingEvents {
            try self.assembler.emitPendingEvents(into: &self.assembled, limit: limit)
            self.append(into: &events)
            return true
        }
        guard let message = try await self.stream.next() else { return false }
        switch message {
        case .xLogData(let data):
            self.seenUpTo = max(self.seenUpTo, data.walEnd)
            try await self.consume(data, limit: limit)
            self.append(into: &events)
        case .primaryKeepalive(let walEnd, _, _):
            self.seenUpTo = max(self.seenUpTo, walEnd)
            // Nothing is pending before a keepalive's position unless a streamed transaction waits for its commit.
            if self.assembler.heldChangeCount == 0 && walEnd > self.stream.acknowledged { events.append(.idle(SourcePosition(walEnd))) }
        }
        return true
    }

    private mutating func consume(_ data: ReplicationMessage.XLogData, limit: Int) async throws {
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
            self.assembler.primaryKeys[relation.oid] = try await self.catalog.primaryKey(of: relation).map(Set.init)
        case .streamCommit(let commit):
            try await self.catalog.streamedTransactionCommitting(
                commit.xid, binary: self.binary, into: &self.assembler.renderer)
        case .streamAbort(let abort):
            if abort.abortsWholeTransaction { self.catalog.streamedTransactionAborted(abort.xid) }
        case .begin, .commit, .origin, .type, .insert, .update, .delete, .truncate, .message, .streamStart, .streamStop:
            break
        }
        do {
            try self.assembler.consume(message, into: &self.assembled, limit: limit)
        } catch let error as SiphonError {
            throw error
        } catch {
            throw SiphonError(.decodingFailed, "\(error)", lsn: data.walStart, underlying: error)
        }
    }

    /// Moves the assembled events into `events`.
    private mutating func append(into events: inout [SourceEvent]) {
        // Swapping a trivial placeholder in moves each event out of the array without retaining or copying it.
        for index in self.assembled.indices {
            var event = AssembledEvent.begin(xid: 0, commitLSN: .zero, commitTime: PostgresTimestamp(rawValue: 0))
            swap(&event, &self.assembled[index])
            switch event {
            case .begin:
                events.append(.begin)
            case .change(let change):
                self.windows.observe(change)
                events.append(.change(change))
            case .commit(_, _, let endLSN, let commitTime):
                self.seenUpTo = max(self.seenUpTo, endLSN)
                events.append(.commit(SourcePosition(endLSN), time: commitTime))
            case .message(let transactional, let prefix, let content, let lsn):
                if !transactional && prefix == SnapshotWatermark.prefix && self.passWatermark(content, at: lsn) {
                    continue
                }
                // Heartbeats (and other non-transactional messages) mark a position with nothing before it pending.
                if !transactional && self.assembler.heldChangeCount == 0 { events.append(.idle(SourcePosition(lsn))) }
            }
        }
    }

    /// Opens or closes a chunk's window at one of this session's watermarks; `false` for anyone else's.
    private mutating func passWatermark(_ content: ByteBuffer, at lsn: LSN) -> Bool {
        guard let exchange = self.snapshots, let watermark = SnapshotWatermark(content: String(buffer: content)),
            var chunk = exchange.chunk(at: watermark)
        else { return false }
        switch watermark.kind {
        case .low:
            self.windows.open(watermark.chunk, table: chunk.table, key: chunk.key)
        case .high:
            guard let outcome = self.windows.close(watermark.chunk, rows: chunk.rows.take() ?? []) else { return false }
            // Consumed, so that the reads below are the only reference to their array and are edited in place.
            switch consume outcome {
            case .readAgain:
                exchange.passed(watermark.chunk, at: lsn, readAgain: true)
            case .deliver(var changes):
                exchange.passed(watermark.chunk, at: lsn, readAgain: false)
                for index in changes.indices {
                    changes[index].id = Change.ID(source: self.source.configuration.slot, commitLSN: lsn, index: index)
                }
                changes.reverse()
                self.reads = (changes, false, lsn)
            }
        }
        return true
    }

    /// The next reads of a chunk, as one transaction at its high watermark: begin, at most `limit` reads per call,
    /// commit.
    private mutating func appendReads(into events: inout [SourceEvent], limit: Int) {
        guard let position = self.reads?.position else { return }
        if self.reads?.begun == false {
            events.append(.begin)
            self.reads?.begun = true
        }
        var taken = 0
        while taken < limit, let read = self.reads?.pending.popLast() {
            events.append(.change(read))
            taken += 1
        }
        if self.reads?.pending.isEmpty ?? true {
            events.append(.commit(SourcePosition(position), time: nil))
            self.reads = nil
        }
    }

    /// Positions are WAL positions: acknowledging one confirms the slot up to it.
    public mutating func acknowledge(upTo position: SourcePosition) async throws {
        try await self.stream.acknowledge(upTo: LSN(rawValue: position.rawValue))
        self.snapshots?.acknowledged(upTo: LSN(rawValue: position.rawValue))
    }

    public func checkpoint(for position: SourcePosition) -> SourceCheckpoint? {
        SourceCheckpoint(confirmed: LSN(rawValue: position.rawValue), seenUpTo: self.seenUpTo)
    }
}
