// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore
import SiphonWire

/// A notification sent with `NOTIFY` or `pg_notify()` on a channel the session listens on ("Asynchronous
/// Notification" in the PostgreSQL protocol documentation).
public struct PostgresNotification: Sendable, Hashable {
    /// The process id of the session that sent it.
    public var processID: Int32
    public var channel: String
    public var payload: String

    public init(processID: Int32, channel: String, payload: String) {
        self.processID = processID
        self.channel = channel
        self.payload = payload
    }
}

extension ReplicationConnection {
    /// Runs `LISTEN` for every channel (names as stored, quoted here) in one command.
    ///
    /// Returns the notifications that arrived before the command finished: the server may send one as soon as the
    /// `LISTEN` committed, and it must not be lost.
    public func listen(_ channels: [String]) async throws -> [PostgresNotification] {
        try await self.withQueryDeadline { try await self.runListen(channels) }
    }

    private func runListen(_ channels: [String]) async throws -> [PostgresNotification] {
        let sql = channels.map { "LISTEN \(TableName.quoteIdentifier($0))" }.joined(separator: "; ")
        var encoder = FrontendEncoder(allocator: self.channel.allocator)
        encoder.query(sql)
        try await self.write(encoder.flushBuffer())
        var early: [PostgresNotification] = []
        var failure: SiphonError?
        while true {
            switch try await self.nextMessage() {
            case .notificationResponse(let processID, let channel, let payload):
                early.append(PostgresNotification(processID: processID, channel: channel, payload: payload))
            case .commandComplete, .emptyQueryResponse, .noticeResponse, .parameterStatus:
                continue
            case .errorResponse(let fields):
                failure = ServerErrorTranslation.error(for: fields.serverError, user: self.settings.user)
            case .readyForQuery:
                if let failure { throw failure }
                return early
            case let other:
                throw SiphonError(.protocolViolation, "unexpected reply to LISTEN: \(other)")
            }
        }
    }

    /// Waits for the next notification. Call it only while no command is running: the session must be idle.
    ///
    /// A server that ends the session (shutdown, `pg_terminate_backend`) makes it throw `connectionFailed` or the
    /// server's error; reconnect and `listen` again.
    public func nextNotification() async throws -> PostgresNotification {
        while true {
            switch try await self.nextMessage() {
            case .notificationResponse(let processID, let channel, let payload):
                return PostgresNotification(processID: processID, channel: channel, payload: payload)
            case .noticeResponse, .parameterStatus:
                continue
            case .errorResponse(let fields):
                throw ServerErrorTranslation.error(for: fields.serverError, user: self.settings.user)
            case let other:
                throw SiphonError(.protocolViolation, "unexpected message while waiting for notifications: \(other)")
            }
        }
    }

    /// Closes the connection from any task: a `nextNotification()` waiting on it throws at once. For a listener
    /// that is told to stop while it waits.
    public var closeFromAnyThread: @Sendable () -> Void {
        let channel = self.channel
        return { channel.close(promise: nil) }
    }
}
