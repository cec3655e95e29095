// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import Logging
import SiphonCore
import SiphonReplication

/// Everything a `NotifySource` needs.
public struct NotifyConfiguration: Sendable {
    public var connection: ConnectionSettings
    /// The channels to listen on, as given to `siphon sql --channel` (names as stored).
    public var channels: [String]
    /// The schema of Siphon's notify function and keys (`siphon sql --trigger-schema`).
    public var schema: String
    /// Called each time the source is subscribed (again): notifications sent from then on will arrive.
    public var subscribed: (@Sendable ([String]) -> Void)?

    public init(
        connection: ConnectionSettings, channels: [String], schema: String = TriggerCapture.defaultSchema,
        subscribed: (@Sendable ([String]) -> Void)? = nil
    ) {
        self.connection = connection
        self.channels = channels
        self.schema = schema
        self.subscribed = subscribed
    }
}

/// Changes that notify-channel triggers send: the same `Change` the other modes deliver.
///
/// **Best effort.** PostgreSQL keeps no notification for a session that is not listening: whatever is sent while
/// the source is down or reconnecting is lost, and a change is delivered at most once. Use the outbox when every
/// change matters.
///
/// **Untrusted channels.** Any role that can connect may `pg_notify` any channel, so the source accepts only
/// changes of tables that carry Siphon's triggers for the channel, and, when the channel has a key (every channel
/// set up by this version), only payloads whose HMAC the trigger function computed. It never builds SQL from a
/// payload: a row that did not fit is fetched by the table's catalog name and its key columns.
public struct NotifySource: ChangeSource {
    public let configuration: NotifyConfiguration
    private let logger: Logger
    private let counters = SharedValue(NotifyStatistics())
    /// The last change id's position, so ids grow across sessions even when the clock does not.
    private let lastPosition = SharedValue<UInt64>(0)

    public init(configuration: NotifyConfiguration, logger: Logger) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "siphon.channels"] = "\(configuration.channels)"
        self.logger = logger
    }

    public var name: String { "notify channels \(self.configuration.channels)" }

    public var reopensAfterEnd: Bool { true }

    /// Reconnecting listens again; notifications sent meanwhile are lost (best effort).
    public func recovery(from error: any Error) -> SourceRecovery { .forConnectionFailure(error) }

    /// What the source has done so far (besides what the pipeline counts).
    public var statistics: NotifyStatistics { self.counters.current }

    /// One connection to listen on, and a second for catalog lookups and fetching rows that did not fit in their
    /// notification.
    public func withSession(_ body: (inout NotifySession) async throws -> Void) async throws {
        guard !self.configuration.channels.isEmpty else {
            throw SiphonError(.invalidConfiguration, "no channels to listen on")
        }
        for channel in self.configuration.channels { try TriggerCapture.validateName(channel, as: "channel") }
        try TableName.validateIdentifier(self.configuration.schema, as: "schema")
        let settings = self.configuration.connection
        try await ServerConnection.withConnection(settings: settings, replication: false, logger: self.logger) {
            queries in
            try await queries.simpleQuery(TriggerCapture.markOwnWritesSQL)
            let reader = try await NotificationReader.start(source: self, queries: queries)
            let woken = SharedValue(false)
            do {
                try await ServerConnection.withConnection(
                    settings: settings, replication: false, logger: self.logger
                ) { connection in
                    let early = try await connection.listen(self.configuration.channels)
                    self.logger.info("Listening for changes")
                    self.configuration.subscribed?(self.configuration.channels)
                    let close = connection.closeFromAnyThread
                    var session = NotifySession(
                        source: self, connection: connection, reader: reader, early: early, woken: woken,
                        wake: {
                            woken.withLock { $0 = true }
                            close()
                        })
                    try await body(&session)
                }
            } catch where woken.current {
                // Waking closed the listening connection on purpose.
            }
        }
    }

    fileprivate var log: Logger { self.logger }
    fileprivate func record(_ update: (inout NotifyStatistics) -> Void) { self.counters.withLock(update) }

    /// Microseconds since the Unix epoch, made strictly increasing: the change id's position and its time.
    fileprivate func nextPosition() -> UInt64 {
        let now = UInt64(max(0, Date().timeIntervalSince1970 * 1_000_000))
        return self.lastPosition.withLock { last in
            last = max(now, last + 1)
            return last
        }
    }
}

/// What a notify source has done so far; deliveries, filtering and reconnects are the pipeline's statistics.
public struct NotifyStatistics: Sendable, Hashable {
    public var notifications = 0
    /// Notifications that were not Siphon changes, or whose row could not be fetched (logged and skipped).
    public var ignored = 0
    /// Notifications refused as forged: a table not configured for the channel, or a missing or wrong signature.
    /// Nothing is read from the database for them.
    public var rejected = 0
    /// Rows fetched because they did not fit in their notification.
    public var rowsFetched = 0
}

/// One subscription: each notification becomes a one-change transaction, positioned by its arrival time.
///
/// Positions are microseconds since the Unix epoch, made strictly increasing: each change's id and time.
public struct NotifySession: ChangeSourceSession {
    public var binding: SourceBinding? { nil }
    public let wake: @Sendable () -> Void
    public var hasReadyEvents: Bool { !self.early.isEmpty }

    private let source: NotifySource
    private let connection: ServerConnection
    private var reader: NotificationReader
    /// Notifications that arrived with the `LISTEN` itself, oldest first.
    private var early: [PostgresNotification]
    private let woken: SharedValue<Bool>

    fileprivate init(
        source: NotifySource, connection: ServerConnection, reader: NotificationReader,
        early: [PostgresNotification], woken: SharedValue<Bool>, wake: @escaping @Sendable () -> Void
    ) {
        self.source = source
        self.connection = connection
        self.reader = reader
        self.early = early
        self.woken = woken
        self.wake = wake
    }

    public mutating func next(into events: inout [SourceEvent], maxChanges: Int) async throws -> Bool {
        let notification: PostgresNotification
        if !self.early.isEmpty {
            notification = self.early.removeFirst()
        } else {
            do {
                notification = try await self.connection.nextNotification()
            } catch where self.woken.current {
                return false
            }
        }
        self.source.record { $0.notifications += 1 }
        let position = self.source.nextPosition()
        guard let change = try await self.change(from: notification, position: position) else { return true }
        events.append(.begin)
        events.append(.change(change))
        events.append(.commit(SourcePosition(rawValue: position), time: change.commitTime))
        return true
    }

    /// Nothing to record: PostgreSQL keeps no notification once it was sent.
    public mutating func acknowledge(upTo position: SourcePosition) async throws {}

    /// The change a notification describes, or `nil` for one that is refused (forged) or skipped (not a change,
    /// or a row that cannot be fetched any more), logged and counted.
    private mutating func change(from notification: PostgresNotification, position: UInt64) async throws -> Change? {
        do {
            return try await self.reader.change(from: notification, position: position)
        } catch let rejection as NotificationRejection {
            self.source.record { $0.rejected += 1 }
            self.source.log.warning(
                "Rejecting a notification that is not a genuine Siphon change",
                metadata: [
                    "channel": "\(notification.channel)", "sender.pid": "\(notification.processID)",
                    "reason": "\(rejection.reason)",
                ])
        } catch let error as SiphonError where error.code == .decodingFailed {
            self.source.record { $0.ignored += 1 }
            self.source.log.error(
                "Ignoring a notification that is not a Siphon change",
                metadata: ["channel": "\(notification.channel)", "error": "\(error)"])
        } catch let error as SiphonError where error.code == .serverError && SourceRecovery.forConnectionFailure(error) == .fail {
            // Fetching a row that did not fit failed (the table was dropped or renamed, privileges changed).
            self.source.record { $0.ignored += 1 }
            self.source.log.error(
                "Skipping a change whose row could not be fetched",
                metadata: ["channel": "\(notification.channel)", "error": "\(error)"])
        }
        return nil
    }
}

/// Why a notification was refused as forged (counted in `rejected`, logged, never delivered).
struct NotificationRejection: Error {
    var reason: String
}

/// Turns notifications into changes, with the catalog and fetching done over the session's query connection.
private struct NotificationReader {
    let source: NotifySource
    let queries: ServerConnection
    var catalog: NotifyCatalog
    var loadedAt: ContinuousClock.Instant
    var columns = ColumnOrder()

    /// Unauthenticated notifications may make the listener look at the catalog again (a table configured since it
    /// started) at most this often, so a flood of forged ones cannot keep it busy.
    static let unauthenticatedReloadInterval = Duration.seconds(1)

    static func start(source: NotifySource, queries: ServerConnection) async throws -> NotificationReader {
        let configuration = source.configuration
        let catalog = try await NotifyCatalog.load(
            channels: configuration.channels, schema: configuration.schema, connection: queries)
        for channel in configuration.channels where catalog.tables[channel]?.isEmpty ?? true {
            source.log.warning(
                """
                No table carries Siphon's triggers for this channel: its notifications are rejected until setup \
                creates them. Check that --trigger-schema names the schema the SQL was generated for
                """,
                metadata: ["channel": "\(channel)", "schema": "\(configuration.schema)"])
        }
        for channel in configuration.channels where catalog.authentication[channel] == .unsigned {
            source.log.warning(
                """
                Changes on this channel are not authenticated: any role that can connect could forge them. Run \
                siphon setup --mode trigger --channel (or apply siphon sql --channel) again to give it a key
                """,
                metadata: ["channel": "\(channel)"])
        }
        var reader = NotificationReader(source: source, queries: queries, catalog: catalog, loadedAt: .now)
        reader.learnColumns()
        return reader
    }

    private mutating func learnColumns() {
        for tables in self.catalog.tables.values {
            for table in tables.values { self.columns.set(table.name, columns: table.columns) }
        }
    }

    private mutating func reloadCatalog() async throws {
        let configuration = self.source.configuration
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
        self.source.record { $0.rowsFetched += 1 }
        payload.new = result.rows.first?[0] ?? nil
        if payload.new == nil {
            self.source.log.warning(
                "The row of a truncated notification is gone; delivering the change without it",
                metadata: ["pg.relation": "\(table.name)", "key": "\(payload.key)"])
        }
    }
}
