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
    /// The schema of Siphon's notify function and keys (`siphon sql --trigger-schema`).
    public var schema: String
    /// Which changes reach the sinks.
    public var filter: ChangeFilter
    /// How long to wait before reconnecting after the connection or the server went away.
    public var reconnectBackoff: Backoff
    /// How to retry a sink that failed, and what to do when it keeps failing.
    public var delivery: DeliveryPolicy
    /// Called each time the listener is subscribed (again): notifications sent from then on will arrive.
    public var subscribed: (@Sendable ([String]) -> Void)?

    public init(
        connection: ConnectionSettings, channels: [String], schema: String = TriggerCapture.defaultSchema,
        filter: ChangeFilter = ChangeFilter(),
        reconnectBackoff: Backoff = Backoff(), delivery: DeliveryPolicy = DeliveryPolicy(),
        subscribed: (@Sendable ([String]) -> Void)? = nil
    ) {
        self.connection = connection
        self.channels = channels
        self.schema = schema
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
///
/// **Untrusted channels.** Any role that can connect may `pg_notify` any channel, so the listener accepts only
/// changes of tables that carry Siphon's triggers for the channel, and, when the channel has a key (every channel
/// set up by this version), only payloads whose HMAC the trigger function computed. It never builds SQL from a
/// payload: a row that did not fit is fetched by the table's catalog name and its key columns.
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
        try TriggerCapture.validateIdentifier(self.configuration.schema, as: "schema")
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
            var session = try await ListenerSession.start(listener: self, queries: queries)
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
        } catch let rejection as NotificationRejection {
            self.state.withLock { $0.statistics.rejected += 1 }
            self.logger.warning(
                "Rejecting a notification that is not a genuine Siphon change",
                metadata: [
                    "channel": "\(notification.channel)", "sender.pid": "\(notification.processID)",
                    "reason": "\(rejection.reason)",
                ])
            return
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
    /// Notifications refused as forged: a table not configured for the channel, or a missing or wrong signature.
    /// Nothing is read from the database for them.
    public var rejected = 0
    /// Rows fetched because they did not fit in their notification.
    public var rowsFetched = 0
    public var reconnects = 0
    public var deadLetters = 0
}

/// Why a notification was refused as forged (counted in `rejected`, logged, never delivered).
struct NotificationRejection: Error {
    var reason: String
}

/// Turns notifications into changes, with the catalog and fetching done over the listener's query connection.
private struct ListenerSession {
    let listener: NotifyListener
    let queries: ReplicationConnection
    let delivery: Delivery
    var catalog: NotifyCatalog
    var loadedAt: ContinuousClock.Instant
    var columns = ColumnOrder()

    /// Unauthenticated notifications may make the listener look at the catalog again (a table configured since it
    /// started) at most this often, so a flood of forged ones cannot keep it busy.
    static let unauthenticatedReloadInterval = Duration.seconds(1)

    static func start(listener: NotifyListener, queries: ReplicationConnection) async throws -> ListenerSession {
        let configuration = listener.configuration
        let catalog = try await NotifyCatalog.load(
            channels: configuration.channels, schema: configuration.schema, connection: queries)
        for channel in configuration.channels where catalog.tables[channel]?.isEmpty ?? true {
            listener.log.warning(
                """
                No table carries Siphon's triggers for this channel: its notifications are rejected until setup \
                creates them. Check that --trigger-schema names the schema the SQL was generated for
                """,
                metadata: ["channel": "\(channel)", "schema": "\(configuration.schema)"])
        }
        for channel in configuration.channels where catalog.authentication[channel] == .unsigned {
            listener.log.warning(
                """
                Changes on this channel are not authenticated: any role that can connect could forge them. Run \
                siphon setup --mode trigger --channel (or apply siphon sql --channel) again to give it a key
                """,
                metadata: ["channel": "\(channel)"])
        }
        var session = ListenerSession(
            listener: listener, queries: queries,
            delivery: Delivery(
                sinks: listener.sinkList, policy: configuration.delivery, settings: configuration.connection,
                logger: listener.log),
            catalog: catalog, loadedAt: .now)
        session.learnColumns()
        return session
    }

    private mutating func learnColumns() {
        for tables in self.catalog.tables.values {
            for table in tables.values { self.columns.set(table.name, columns: table.columns) }
        }
    }

    private mutating func reloadCatalog() async throws {
        let configuration = self.listener.configuration
        self.catalog = try await NotifyCatalog.load(
            channels: configuration.channels, schema: configuration.schema, connection: self.queries)
        self.loadedAt = .now
        self.learnColumns()
    }

    /// The change a notification describes; `position` (microseconds since the epoch) is its id and time. Throws
    /// `NotificationRejection` for a forgery, before anything is read from the database for it.
    mutating func change(from notification: PostgresNotification, position: UInt64) async throws -> Change {
        let channel = notification.channel
        let text: String
        let authenticated: Bool
        switch self.catalog.authentication[channel] ?? .unsigned {
        case .signed(let key):
            switch NotificationSignature.verify(notification.payload, key: key) {
            case .authentic(let payload): text = payload
            case .unsigned: throw NotificationRejection(reason: "it carries no signature, and the channel has a key")
            case .forged: throw NotificationRejection(reason: "its signature does not match the channel's key")
            }
            authenticated = true
        case .unsigned:
            text = notification.payload
            authenticated = false
        }
        var payload = try NotificationPayload(json: text)
        var table = self.catalog.table(payload.table, channel: channel)
        if table == nil && (authenticated || ContinuousClock.now - self.loadedAt >= Self.unauthenticatedReloadInterval) {
            // Maybe configured since the catalog was read.
            try await self.reloadCatalog()
            table = self.catalog.table(payload.table, channel: channel)
        }
        guard let table else {
            throw NotificationRejection(reason: "no Siphon trigger sends changes of \(payload.table) on this channel")
        }
        if payload.truncated && payload.operation != .truncate {
            try await self.fetchRow(of: &payload, table: table)
        }
        var (change, complete) = try self.change(from: payload, channel: channel, position: position)
        if !complete && (authenticated || ContinuousClock.now - self.loadedAt >= Self.unauthenticatedReloadInterval) {
            // A column added since the order was loaded.
            try await self.reloadCatalog()
            change = try self.change(from: payload, channel: channel, position: position).change
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
    /// newer than the change, or gone), the key as the old row of a delete. Reads only `table`, found in the
    /// catalog, by its key columns.
    private func fetchRow(of payload: inout NotificationPayload, table: NotifyCatalog.Table) async throws {
        if payload.operation == .delete {
            payload.old = payload.key
            return
        }
        let key: String
        do {
            let members = try JSONObjectText.members(of: payload.key)
            if table.key.isEmpty {
                key = payload.key
            } else {
                guard members.map(\.name).sorted() == table.key.sorted() else {
                    throw SiphonError(
                        .decodingFailed,
                        "the key of a truncated notification names \(members.map(\.name)), but the key of "
                            + "\(table.name) is \(table.key)")
                }
                key = "{" + members.map { JSONText.string($0.name) + ":" + $0.value }.joined(separator: ",") + "}"
            }
        } catch let error as SiphonError {
            throw error
        } catch {
            throw SiphonError(.decodingFailed, "malformed key in a notification: \(error)")
        }
        let result = try await self.queries.query(table.fetchSQL, parameters: [key])
        self.listener.countFetch()
        payload.new = result.rows.first?[0] ?? nil
        if payload.new == nil {
            self.listener.log.warning(
                "The row of a truncated notification is gone; delivering the change without it",
                metadata: ["pg.relation": "\(table.name)", "key": "\(payload.key)"])
        }
    }
}
