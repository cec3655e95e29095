// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import Logging
import ServiceLifecycle
import SiphonCore
import SiphonEngine
import SiphonReplication
import Synchronization

/// Everything a `NotifyListener` needs.
public struct NotifyListenerConfiguration: Sendable {
    public var connection: ConnectionSettings
    /// The channels to listen on, as given to `siphon sql --channel` (names as stored).
    public var channels: [String]
    /// Which changes reach the sinks.
    public var filter: ChangeFilter
    /// How long to wait before reconnecting after the connection or the server went away.
    public var reconnectBackoff: Backoff
    /// How to retry a sink that failed, and what to do when it keeps failing.
    public var delivery: DeliveryPolicy
    /// Called each time the listener is subscribed (again): notifications sent from then on will arrive.
    public var subscribed: (@Sendable ([String]) -> Void)?

    public init(
        connection: ConnectionSettings, channels: [String], filter: ChangeFilter = ChangeFilter(),
        reconnectBackoff: Backoff = Backoff(), delivery: DeliveryPolicy = DeliveryPolicy(),
        subscribed: (@Sendable ([String]) -> Void)? = nil
    ) {
        self.connection = connection
        self.channels = channels
        self.filter = filter
        self.reconnectBackoff = reconnectBackoff
        self.delivery = delivery
        self.subscribed = subscribed
    }
}

/// Listens on notify channels and delivers each change to the sinks, the same `Change` the other modes deliver.
///
/// **Best effort.** PostgreSQL keeps no notification for a session that is not listening: whatever is sent while
/// the listener is down or reconnecting is lost, and a change is delivered at most once. Use the outbox when every
/// change matters. The listener reconnects with backoff and listens again after a connection loss.
public final class NotifyListener: Service, Sendable {
    public let configuration: NotifyListenerConfiguration
    private let sinks: [any ChangeSink]
    private let logger: Logger
    private let state = Mutex(SharedState())

    private enum Phase {
        /// Waiting for the next notification: stopping may cut the wait short.
        case waiting
        /// Delivering one: stopping waits for it to finish.
        case delivering
    }

    private struct SharedState {
        var stopRequested = false
        var stopSignal: AsyncStream<Void>.Continuation?
        var phase = Phase.waiting
        var statistics = NotifyListenerStatistics()
        /// The last change id's position, so ids grow even when the clock does not.
        var lastPosition: UInt64 = 0
    }

    public init(configuration: NotifyListenerConfiguration, sinks: [any ChangeSink], logger: Logger) {
        self.configuration = configuration
        self.sinks = sinks
        var logger = logger
        logger[metadataKey: "siphon.channels"] = "\(configuration.channels)"
        self.logger = logger
    }

    /// Counters for status output and tests.
    public var statistics: NotifyListenerStatistics { self.state.withLock { $0.statistics } }

    /// Asks `run()` to finish: a delivery in progress completes first.
    public func stop() {
        let signal = self.state.withLock { state in
            state.stopRequested = true
            return state.stopSignal
        }
        signal?.yield()
    }

    private var stopRequested: Bool { self.state.withLock { $0.stopRequested } }

    /// Runs until stopped, cancelled or (inside a `ServiceGroup`) shut down gracefully.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await self.runUntilStopped()
        } onGracefulShutdown: {
            self.stop()
        }
    }

    private func runUntilStopped() async throws {
        guard !self.configuration.channels.isEmpty else {
            throw SiphonError(.invalidConfiguration, "no channels to listen on")
        }
        for channel in self.configuration.channels { try TriggerCapture.validateName(channel, as: "channel") }
        let (stops, signal) = AsyncStream.makeStream(of: Void.self)
        let stopped = self.state.withLock { state in
            state.stopSignal = signal
            return state.stopRequested
        }
        defer { self.state.withLock { $0.stopSignal = nil } }
        if !stopped {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    do {
                        try await self.listenUntilStopped()
                    } catch where self.stopRequested {
                        // Stopping cut the wait for a notification short; nothing was in progress.
                    }
                    return false
                }
                group.addTask {
                    for await _ in stops { break }
                    // Cut a wait for the next notification short; a delivery in progress finishes on its own.
                    return self.state.withLock { $0.phase == .waiting }
                }
                for try await listenerIsIdle in group where listenerIsIdle {
                    group.cancelAll()
                }
            }
        }
        for sink in self.sinks { try await sink.close() }
    }

    private func listenUntilStopped() async throws {
        var attempt = 0
        while !self.stopRequested && !Task.isCancelled {
            do {
                try await self.runSession { attempt = 0 }
            } catch let error as SiphonError
                where OutboxReader.isRetryable(error) && !self.stopRequested && !Task.isCancelled
            {
                let delay = self.configuration.reconnectBackoff.delay(attempt: attempt)
                attempt += 1
                self.state.withLock { $0.statistics.reconnects += 1 }
                self.logger.warning(
                    "Lost the notify connection; reconnecting. Notifications sent meanwhile are lost (best effort)",
                    metadata: ["error": "\(error)", "retry.in": "\(delay)"])
                try await Backoff.wait(delay) { self.stopRequested }
            }
        }
    }

    /// One connection's worth of listening, plus a second connection for catalog lookups and fetching rows that
    /// did not fit in their notification.
    private func runSession(subscribed: () -> Void) async throws {
        let settings = self.configuration.connection
        try await ReplicationConnection.withConnection(settings: settings, replication: false, logger: self.logger) {
            queries in
            try await queries.simpleQuery(TriggerCapture.markOwnWritesSQL)
            var session = ListenerSession(listener: self, queries: queries)
            try await ReplicationConnection.withConnection(settings: settings, replication: false, logger: self.logger) {
                connection in
                let early = try await connection.listen(self.configuration.channels)
                subscribed()
                self.logger.info("Listening for changes")
                self.configuration.subscribed?(self.configuration.channels)
                for notification in early { try await self.handle(notification, session: &session) }
                while true {
                    let waiting = self.state.withLock { state -> Bool in
                        guard !state.stopRequested else { return false }
                        state.phase = .waiting
                        return true
                    }
                    guard waiting else { return }
                    let notification = try await connection.nextNotification()
                    self.state.withLock { $0.phase = .delivering }
                    try await self.handle(notification, session: &session)
                }
            }
        }
    }

    private func handle(_ notification: PostgresNotification, session: inout ListenerSession) async throws {
        self.state.withLock { $0.statistics.notifications += 1 }
        let change: Change
        do {
            change = try await session.change(from: notification, position: self.nextPosition())
        } catch let error as SiphonError where error.code == .decodingFailed {
            self.state.withLock { $0.statistics.ignored += 1 }
            self.logger.error(
                "Ignoring a notification that is not a Siphon change",
                metadata: ["channel": "\(notification.channel)", "error": "\(error)"])
            return
        } catch let error as SiphonError where error.code == .serverError && !OutboxReader.isRetryable(error) {
            // Fetching a row that did not fit failed (the table was dropped or renamed, privileges changed).
            self.state.withLock { $0.statistics.ignored += 1 }
            self.logger.error(
                "Skipping a change whose row could not be fetched",
                metadata: ["channel": "\(notification.channel)", "error": "\(error)"])
            return
        }
        guard let kept = self.configuration.filter.apply(change) else {
            self.state.withLock { $0.statistics.changesFiltered += 1 }
            return
        }
        let outcome = try await session.delivery.deliver([kept])
        self.state.withLock {
            $0.statistics.changesDelivered += 1
            $0.statistics.deadLetters += outcome.deadLettered
        }
    }

    /// Microseconds since the Unix epoch, made strictly increasing: the change id's position and its time.
    private func nextPosition() -> UInt64 {
        let now = UInt64(max(0, Date().timeIntervalSince1970 * 1_000_000))
        return self.state.withLock { state in
            state.lastPosition = max(now, state.lastPosition + 1)
            return state.lastPosition
        }
    }

    fileprivate var sinkList: [any ChangeSink] { self.sinks }
    fileprivate var log: Logger { self.logger }
    fileprivate func countFetch() { self.state.withLock { $0.statistics.rowsFetched += 1 } }
}

/// What a notify listener has done so far.
public struct NotifyListenerStatistics: Sendable, Hashable {
    public var notifications = 0
    public var changesDelivered = 0
    public var changesFiltered = 0
    /// Notifications that were not Siphon changes, or whose row could not be fetched (logged and skipped).
    public var ignored = 0
    /// Rows fetched because they did not fit in their notification.
    public var rowsFetched = 0
    public var reconnects = 0
    public var deadLetters = 0
}

/// Turns notifications into changes, with the catalog and fetching done over the listener's query connection.
private struct ListenerSession {
    let listener: NotifyListener
    let queries: ReplicationConnection
    let delivery: Delivery
    var columns = ColumnOrder()

    init(listener: NotifyListener, queries: ReplicationConnection) {
        self.listener = listener
        self.queries = queries
        self.delivery = Delivery(
            sinks: listener.sinkList, policy: listener.configuration.delivery,
            settings: listener.configuration.connection, logger: listener.log)
    }

    /// The change a notification describes; `position` (microseconds since the epoch) is its id and time.
    mutating func change(from notification: PostgresNotification, position: UInt64) async throws -> Change {
        var payload = try NotificationPayload(json: notification.payload)
        if payload.truncated && payload.operation != .truncate {
            try await self.fetchRow(of: &payload)
        }
        if !self.columns.knows(payload.table) {
            try await self.columns.load([payload.table], connection: self.queries)
        }
        var (change, complete) = try self.change(from: payload, channel: notification.channel, position: position)
        if !complete {
            // A column added since the order was loaded.
            try await self.columns.load([payload.table], connection: self.queries)
            change = try self.change(from: payload, channel: notification.channel, position: position).change
        }
        return change
    }

    private func change(
        from payload: NotificationPayload, channel: String, position: UInt64
    ) throws(SiphonError) -> (change: Change, complete: Bool) {
        var complete = true
        func row(_ json: String) throws(JSONObjectTextError) -> Row {
            let (row, known) = try self.columns.row(fromJSON: json, of: payload.table)
            complete = complete && known
            return row
        }
        do {
            let change = Change(
                id: Change.ID(source: channel, commitLSN: LSN(rawValue: position), index: 0),
                operation: payload.operation, schema: payload.table.schema, table: payload.table.table, xid: nil,
                commitTime: PostgresTimestamp(unixMicroseconds: Int64(position)),
                new: try payload.new.map { json throws(JSONObjectTextError) in try row(json) },
                old: try payload.old.map { json throws(JSONObjectTextError) in try row(json) },
                key: try row(payload.key))
            return (change, complete)
        } catch {
            throw SiphonError(.decodingFailed, "malformed row in a notification: \(error)", underlying: error)
        }
    }

    /// Fills in what a truncated notification left out: the current row for inserts and updates (which may be
    /// newer than the change, or gone), the key as the old row of a delete.
    private func fetchRow(of payload: inout NotificationPayload) async throws {
        if payload.operation == .delete {
            payload.old = payload.key
            return
        }
        let keyColumns: [String]
        do {
            keyColumns = try JSONObjectText.members(of: payload.key).map(\.name)
        } catch {
            throw SiphonError(.decodingFailed, "malformed key in a notification: \(error)")
        }
        let table = payload.table.description
        let match =
            keyColumns.isEmpty
            ? "to_jsonb(t) = \(SQLQuoting.literal(payload.key))::jsonb"
            : keyColumns.map { "t.\(SQLQuoting.identifier($0)) = k.\(SQLQuoting.identifier($0))" }.joined(separator: " AND ")
        let result = try await self.queries.simpleQuery(
            "SELECT to_jsonb(t) FROM \(table) AS t, jsonb_populate_record(NULL::\(table), "
                + "\(SQLQuoting.literal(payload.key))::jsonb) AS k WHERE \(match)")
        self.listener.countFetch()
        payload.new = result.rows.first?[0] ?? nil
        if payload.new == nil {
            self.listener.log.warning(
                "The row of a truncated notification is gone; delivering the change without it",
                metadata: ["pg.relation": "\(table)", "key": "\(payload.key)"])
        }
    }
}
