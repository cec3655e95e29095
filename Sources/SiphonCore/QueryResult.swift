// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// The rows of a query, as text.
public struct QueryResult: Sendable, Equatable {
    public var columns: [String] = []
    public var rows: [[String?]] = []
    public var commandTag: String = ""

    public init(columns: [String] = []) { self.columns = columns }
}

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
