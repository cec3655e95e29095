// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore

/// Reads the server's answer to one command up to `ReadyForQuery`: its rows as text, its command tag, and the
/// notifications that arrived meanwhile ("Simple Query" and "Extended Query", PostgreSQL docs 55.2.2–55.2.3).
///
/// A value type: it takes messages, returns what to do, and does no I/O. An error is reported only once the server
/// is ready again, so the session stays usable. The extended protocol adds acknowledgements (`ParseComplete`,
/// `BindComplete`, `NoData`) that carry nothing. A COPY or replication answer is a protocol violation here: those
/// have their own machines.
public struct QueryStateMachine {
    public enum Action {
        /// Read the next message.
        case read
        /// A row of the answer, for a machine made with `streamingRows` (the others collect rows in the result).
        case row([ByteBuffer?])
        /// The answer is complete and the session idle.
        case finished(QueryResult)
        /// The command failed (reported once the session was idle again), or the server broke the protocol.
        case failed(SiphonError)
    }

    private let command: String
    private let user: String
    private let streamingRows: Bool
    private var result = QueryResult()
    private var failure: SiphonError?
    /// Notifications that arrived before `ReadyForQuery`, oldest first (a `LISTEN` may see one right away).
    public private(set) var notifications: [PostgresNotification] = []

    /// `command` names the command in protocol-violation messages; `user` goes into error translations. With
    /// `streamingRows`, each row is handed out as it arrives (as the server's bytes) instead of collected, so a
    /// large answer is never held whole.
    public init(command: String, user: String, streamingRows: Bool = false) {
        self.command = command
        self.user = user
        self.streamingRows = streamingRows
    }

    public mutating func messageReceived(_ message: BackendMessage) -> Action {
        switch message {
        case .rowDescription(let columns):
            self.result = QueryResult(columns: columns.map(\.name))
        case .dataRow(let values):
            // After an error the server sends no rows; a row then would be a protocol violation worth ignoring.
            if self.streamingRows { return self.failure == nil ? .row(values) : .read }
            self.result.rows.append(values.map { $0.map { String(buffer: $0) } })
        case .commandComplete(let tag):
            self.result.commandTag = tag
        case .parseComplete, .bindComplete, .noData, .emptyQueryResponse, .noticeResponse, .parameterStatus:
            break
        case .notificationResponse(let processID, let channel, let payload):
            self.notifications.append(PostgresNotification(processID: processID, channel: channel, payload: payload))
        case .errorResponse(let fields):
            self.failure = ServerErrorTranslation.error(for: fields.serverError, user: self.user)
        case .readyForQuery:
            if let failure = self.failure { return .failed(failure) }
            return .finished(self.result)
        case .copyBothResponse, .copyOutResponse, .copyInResponse:
            return .failed(SiphonError(.protocolViolation, "\(self.command) cannot run a COPY or START_REPLICATION command"))
        default:
            return .failed(SiphonError(.protocolViolation, "unexpected message during \(self.command): \(message)"))
        }
        return .read
    }

    /// What a message means to a session that runs no command and waits for notifications: one to hand out, one to
    /// skip (`nil`), or the end of the session (the server's error, or a protocol violation).
    public static func idleMessageReceived(
        _ message: BackendMessage, user: String
    ) -> Result<PostgresNotification?, SiphonError> {
        switch message {
        case .notificationResponse(let processID, let channel, let payload):
            return .success(PostgresNotification(processID: processID, channel: channel, payload: payload))
        case .noticeResponse, .parameterStatus:
            return .success(nil)
        case .errorResponse(let fields):
            return .failure(ServerErrorTranslation.error(for: fields.serverError, user: user))
        default:
            return .failure(
                SiphonError(.protocolViolation, "unexpected message while waiting for notifications: \(message)"))
        }
    }
}
