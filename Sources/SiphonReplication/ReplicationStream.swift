// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import NIOCore
import SiphonCore
import SiphonWire
import Synchronization

/// Options of `START_REPLICATION … LOGICAL` for the `pgoutput` plugin ("Logical Streaming Replication Parameters").
public struct PgOutputOptions: Sendable, Hashable {
    public var publications: [String]
    /// Column values in binary (`send`) format instead of text (PostgreSQL 14+).
    public var binary: Bool
    /// Include `pg_logical_emit_message` messages (PostgreSQL 14+); Siphon's heartbeats use them.
    public var messages: Bool
    /// Protocol version; `nil` picks 2 with streaming on PostgreSQL 14+, 1 before.
    public var protocolVersion: Int?

    public init(publications: [String], binary: Bool = false, messages: Bool = true, protocolVersion: Int? = nil) {
        self.publications = publications
        self.binary = binary
        self.messages = messages
        self.protocolVersion = protocolVersion
    }
}

extension ServerConnection {
    /// Runs `START_REPLICATION SLOT slot LOGICAL start (…)` and hands the copy-both stream to `body`.
    ///
    /// While `body` runs, a standby status update goes out every `statusInterval`, even when the consumer is busy,
    /// so a slow sink never makes the server drop us (`wal_sender_timeout`). The flushed position in every update
    /// is only what `body` acknowledged. When `body` returns, the stream ends with `CopyDone`.
    public func streamChanges<Result>(
        slot: String,
        from start: LSN = .zero,
        options: PgOutputOptions,
        statusInterval: Duration = .seconds(10),
        _ body: (ReplicationStream) async throws -> Result
    ) async throws -> Result {
        let version = options.protocolVersion ?? (self.serverVersionNumber >= 140000 ? 2 : 1)
        var arguments = ["proto_version '\(version)'"]
        let publications = options.publications.map { SQLQuoting.identifier($0) }.joined(separator: ",")
        arguments.append("publication_names '\(SQLQuoting.doubling("'", in: publications))'")
        if self.serverVersionNumber >= 140000 {
            if options.binary { arguments.append("binary 'true'") }
            if options.messages { arguments.append("messages 'true'") }
            if version >= 2 { arguments.append("streaming 'on'") }
        } else if options.binary {
            throw SiphonError(.invalidConfiguration, "binary mode needs PostgreSQL 14 or later")
        }
        let command =
            "START_REPLICATION SLOT \(SQLQuoting.identifier(slot)) LOGICAL \(start) ("
            + arguments.joined(separator: ", ") + ")"
        var encoder = FrontendEncoder(allocator: self.channel.allocator)
        encoder.query(command)
        try await self.write(encoder.flushBuffer())

        let stream = ReplicationStream(connection: self, start: start, protocolVersion: version)
        try await stream.waitForCopyBoth()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [reporter = stream.reporter] in
                while true {
                    try await Task.sleep(for: statusInterval)
                    try await reporter.statusIntervalElapsed()
                }
            }
            defer { group.cancelAll() }
            let result = try await body(stream)
            group.cancelAll()
            try await stream.finish()
            return result
        }
    }
}

/// The copy-both stream of one `START_REPLICATION`: XLogData and keepalives in, status updates out.
public final class ReplicationStream {
    private let connection: ServerConnection
    let reporter: StatusReporter
    /// The pgoutput protocol version the server was asked for.
    public let protocolVersion: Int
    private var ended = false
    /// The server already said `ReadyForQuery` after ending the stream.
    private var serverIdle = false

    init(connection: ServerConnection, start: LSN, protocolVersion: Int) {
        self.connection = connection
        self.reporter = StatusReporter(channel: connection.channel, start: start)
        self.protocolVersion = protocolVersion
    }

    /// The next message from the walsender: XLogData or a keepalive; `nil` once the server ended the stream.
    ///
    /// Not reading is the backpressure: while nobody calls `next()`, the socket is not read.
    public func next() async throws -> ReplicationMessage? {
        while !self.ended {
            let message = try await self.connection.nextMessage()
            switch message {
            case .copyData(var payload):
                let replicationMessage: ReplicationMessage
                do {
                    replicationMessage = try ReplicationMessage.decode(&payload)
                } catch {
                    throw SiphonError(.decodingFailed, "\(error)", underlying: error)
                }
                switch replicationMessage {
                case .xLogData(let data):
                    try self.reporter.received(data)
                case .primaryKeepalive(let walEnd, _, let replyRequested):
                    try await self.reporter.keepaliveReceived(walEnd: walEnd, replyRequested: replyRequested)
                }
                return replicationMessage
            case .copyDone:
                try await self.reporter.copyDoneReceived()
                self.ended = true
            case .commandComplete, .readyForQuery:
                // A walsender shutting down ends the command without a CopyDone of its own.
                self.ended = true
                self.serverIdle = message == .readyForQuery(transactionStatus: UInt8(ascii: "I"))
            case .errorResponse(let fields):
                throw ServerErrorTranslation.error(for: fields.serverError, user: self.connection.settings.user)
            case .noticeResponse, .parameterStatus:
                continue
            case let other:
                throw SiphonError(.protocolViolation, "unexpected message in the replication stream: \(other)")
            }
        }
        return nil
    }

    /// Every sink made everything up to `lsn` durable: the slot may advance to it. Sends a status update when the
    /// position moved.
    public func acknowledge(upTo lsn: LSN) async throws {
        try self.reporter.flushed(upTo: lsn)
    }

    /// The position acknowledged so far.
    public var acknowledged: LSN { self.reporter.flushedPosition }

    /// Whether more messages from the last socket read are ready; when `false`, the next `next()` may wait.
    ///
    /// Consumers flush their batches when this turns `false`, so latency stays low without a timer.
    public var hasBufferedMessages: Bool { self.connection.hasBufferedMessages }

    /// A handle other tasks may use to wake the stream (e.g. on shutdown).
    public var wakeHandle: ReplicationWakeHandle { ReplicationWakeHandle(reporter: self.reporter) }

    func waitForCopyBoth() async throws {
        var failure: SiphonError?
        while true {
            switch try await self.connection.nextMessage() {
            case .copyBothResponse:
                if let failure { throw failure }
                self.reporter.copyBothResponseReceived()
                return
            case .errorResponse(let fields):
                failure = ServerErrorTranslation.error(for: fields.serverError, user: self.connection.settings.user)
            case .readyForQuery:
                throw failure ?? SiphonError(.protocolViolation, "START_REPLICATION ended without streaming")
            case .noticeResponse, .parameterStatus:
                continue
            case let other:
                throw SiphonError(.protocolViolation, "unexpected reply to START_REPLICATION: \(other)")
            }
        }
    }

    /// Ends the stream cleanly: final status, `CopyDone`, then read until the server is idle again.
    func finish() async throws {
        if !self.ended {
            try await self.reporter.stop()
            while true {
                switch try await self.connection.nextMessage() {
                case .copyDone:
                    self.ended = true
                case .copyData, .noticeResponse, .parameterStatus, .commandComplete, .rowDescription, .dataRow:
                    continue
                case .readyForQuery:
                    return
                case .errorResponse(let fields):
                    throw ServerErrorTranslation.error(for: fields.serverError, user: self.connection.settings.user)
                case let other:
                    throw SiphonError(.protocolViolation, "unexpected message while ending replication: \(other)")
                }
            }
        }
        while !self.serverIdle {
            switch try await self.connection.nextMessage() {
            case .readyForQuery: return
            case .errorResponse(let fields):
                throw ServerErrorTranslation.error(for: fields.serverError, user: self.connection.settings.user)
            default: continue
            }
        }
    }
}

/// Lets another task ask the server for a keepalive, so a consumer waiting in `next()` wakes up promptly.
public struct ReplicationWakeHandle: Sendable {
    let reporter: StatusReporter

    /// Sends a standby status update asking the server to reply; the reply arrives as a keepalive from `next()`.
    /// Does not wait for the write, so it can be called from synchronous code such as a signal handler.
    public func requestKeepalive() {
        self.reporter.requestReply()
    }
}

/// Owns the stream's state machine and sends status updates; shared by the consumer and the status timer.
final class StatusReporter: Sendable {
    private let machine: Mutex<ReplicationStreamStateMachine>
    private let channel: any Channel

    init(channel: any Channel, start: LSN) {
        self.channel = channel
        self.machine = Mutex(ReplicationStreamStateMachine(start: start))
    }

    var flushedPosition: LSN { self.machine.withLock { $0.flushed } }

    func copyBothResponseReceived() {
        _ = self.machine.withLock { $0.copyBothResponseReceived() }
    }

    func received(_ data: ReplicationMessage.XLogData) throws {
        let action = self.machine.withLock { $0.xLogDataReceived(data) }
        if case .fail(let reason) = action { throw SiphonError(.protocolViolation, reason) }
    }

    func keepaliveReceived(walEnd: LSN, replyRequested: Bool) async throws {
        try await self.run(self.machine.withLock { $0.keepaliveReceived(walEnd: walEnd, replyRequested: replyRequested) })
    }

    /// Sends the status update without waiting for the write: the consumer goes straight back to reading, which saves
    /// a thread hop per acknowledged transaction. A write that fails closes the channel, which the next read reports.
    func flushed(upTo lsn: LSN) throws {
        if let update = try self.encode(self.machine.withLock { $0.flushed(upTo: lsn) }) {
            self.channel.writeAndFlush(update, promise: nil)
        }
    }

    func statusIntervalElapsed() async throws {
        try await self.run(self.machine.withLock { $0.statusIntervalElapsed() })
    }

    func requestReply() {
        let (received, flushed) = self.machine.withLock { ($0.received, $0.flushed) }
        var encoder = FrontendEncoder(allocator: self.channel.allocator)
        encoder.standbyStatusUpdate(
            written: received, flushed: flushed, applied: flushed, clock: Self.postgresClock(), replyRequested: true)
        self.channel.writeAndFlush(encoder.flushBuffer(), promise: nil)
    }

    func stop() async throws {
        try await self.run(self.machine.withLock { $0.statusIntervalElapsed() })
        try await self.run(self.machine.withLock { $0.stopRequested() })
    }

    func copyDoneReceived() async throws {
        try await self.run(self.machine.withLock { $0.copyDoneReceived() })
    }

    private func run(_ action: ReplicationStreamStateMachine.Action) async throws {
        guard let message = try self.encode(action) else { return }
        do {
            try await self.channel.writeAndFlush(message)
        } catch {
            throw SiphonError(.connectionFailed, "lost the replication connection: \(error)", underlying: error)
        }
    }

    /// The message `action` asks to send, if any.
    private func encode(_ action: ReplicationStreamStateMachine.Action) throws -> ByteBuffer? {
        var encoder = FrontendEncoder(allocator: self.channel.allocator)
        switch action {
        case .none, .forward, .finished:
            return nil
        case .sendStandbyStatus(let received, let flushed, let replyRequested):
            encoder.standbyStatusUpdate(
                written: received, flushed: flushed, applied: flushed, clock: Self.postgresClock(),
                replyRequested: replyRequested)
        case .sendCopyDone:
            encoder.copyDone()
        case .fail(let reason):
            throw SiphonError(.protocolViolation, reason)
        }
        return encoder.flushBuffer()
    }

    /// Microseconds since 2000-01-01 UTC, the clock the protocol uses.
    static func postgresClock() -> Int64 {
        PostgresTimestamp(unixMicroseconds: Int64(Date().timeIntervalSince1970 * 1_000_000)).rawValue
    }
}
