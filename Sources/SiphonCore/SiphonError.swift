// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// The one error type Siphon's public API throws. Switch on `code`; print it for a person.
public struct SiphonError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. New kinds are new static lets, so adding one breaks no `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidConfiguration, connectionFailed, authenticationFailed, serverError, protocolViolation
            case slotUnavailable, decodingFailed, sinkRejected, checkpointFailed, changesLost, cancelled
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A URL, flag, config file or environment variable is wrong.
        public static let invalidConfiguration = Self(.invalidConfiguration)
        /// The server could not be reached, or the connection broke.
        public static let connectionFailed = Self(.connectionFailed)
        /// The server rejected the credentials.
        public static let authenticationFailed = Self(.authenticationFailed)
        /// The server answered with an `ErrorResponse`; see `serverError`.
        public static let serverError = Self(.serverError)
        /// The server sent something the protocol does not allow here.
        public static let protocolViolation = Self(.protocolViolation)
        /// The replication slot is missing, active elsewhere, or invalidated.
        public static let slotUnavailable = Self(.slotUnavailable)
        /// Bytes from the server could not be decoded.
        public static let decodingFailed = Self(.decodingFailed)
        /// A sink refused or failed to deliver a change.
        public static let sinkRejected = Self(.sinkRejected)
        /// A position could not be made durable.
        public static let checkpointFailed = Self(.checkpointFailed)
        /// Changes were lost while Siphon was not reading (slot dropped or invalidated).
        public static let changesLost = Self(.changesLost)
        /// The operation was cancelled or the connection was closed by us.
        public static let cancelled = Self(.cancelled)

        public var description: String { self.base.rawValue }
    }

    public var code: Code
    /// What went wrong, in words a person can act on.
    public var message: String
    /// The server's error fields, when the server reported the error.
    public var serverError: ServerErrorFields?
    /// The WAL position the error relates to, if any.
    public var lsn: LSN?
    public var underlying: (any Error)?
    public var file: String
    public var line: Int

    public init(
        _ code: Code, _ message: String, serverError: ServerErrorFields? = nil, lsn: LSN? = nil,
        underlying: (any Error)? = nil, file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.serverError = serverError
        self.lsn = lsn
        self.underlying = underlying
        self.file = file
        self.line = line
    }

    /// The message (which already says what the underlying error was), with the LSN when there is one.
    public var description: String {
        guard let lsn else { return self.message }
        return self.message + " (at LSN \(lsn))"
    }
}

/// The fields of a PostgreSQL `ErrorResponse` that a person or a program needs.
public struct ServerErrorFields: Sendable, Hashable, CustomStringConvertible {
    /// `ERROR`, `FATAL` or `PANIC` (never localized).
    public var severity: String
    /// The SQLSTATE code, e.g. `28P01` for a wrong password.
    public var sqlState: String
    public var message: String
    public var detail: String?
    public var hint: String?

    public init(severity: String, sqlState: String, message: String, detail: String? = nil, hint: String? = nil) {
        self.severity = severity
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
    }

    public var description: String {
        var text = "\(self.severity) \(self.sqlState): \(self.message)"
        if let detail { text += "\nDETAIL: \(detail)" }
        if let hint { text += "\nHINT: \(hint)" }
        return text
    }
}
