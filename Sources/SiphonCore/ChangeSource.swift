// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// Where changes come from: a logical replication slot, a trigger outbox, notify channels.
///
/// The pipeline opens a session, reads events from it, delivers their changes to the sinks and acknowledges
/// positions back to it; when a session fails it asks the source what to do (`recovery(from:)`) and opens another.
/// A source knows nothing about sinks, retries of deliveries or stopping: those belong to the pipeline, once.
public protocol ChangeSource: Sendable {
    associatedtype Session: ChangeSourceSession

    /// Names the source in logs, e.g. `slot siphon` or `outbox siphon.outbox`.
    var name: String { get }

    /// Connects, resumes from the position the source recorded (a slot's confirmed position, an outbox cursor) and
    /// runs `body` with the session, which is valid only inside `body`. Returns when `body` returns.
    func withSession(_ body: (inout Session) async throws -> Void) async throws

    /// What the pipeline should do after `error` ended a session.
    func recovery(from error: any Error) -> SourceRecovery

    /// Whether a session that ended by itself (`next` returned `false`) is followed by a new one. A temporary slot
    /// or a catch-up read ends the pipeline instead.
    var reopensAfterEnd: Bool { get }
}

/// One connection's worth of reading, in order.
///
/// The pipeline's contract: it calls `acknowledge` only with positions of events it was given, in order, and only
/// once every change before them reached every sink. When `hasReadyEvents` is `false` right after a `commit`, it
/// delivers and acknowledges before calling `next` again.
public protocol ChangeSourceSession {
    /// What the changes are bound to, for sinks that check they keep reading the same source; `nil` for none.
    var binding: SourceBinding? { get }

    /// Appends the next events to `events`, waiting until there is at least one or `wake` was called (then it may
    /// append none). Returns `false` when the source has ended (the server closed the stream, a catch-up is done).
    mutating func next(into events: inout [SourceEvent], maxChanges: Int) async throws -> Bool

    /// Whether more events can be read without waiting: a transaction that ends with none ready is delivered at
    /// once, while a backlog fills whole batches.
    var hasReadyEvents: Bool { get }

    /// Makes a `next` that waits for data return soon; called from any thread when the pipeline stops.
    var wake: @Sendable () -> Void { get }

    /// Everything up to and including `position` reached every sink: record it (confirm the slot, move the cursor).
    mutating func acknowledge(upTo position: SourcePosition) async throws

    /// The slot positions a sink bound to this source records before `position` is acknowledged: the position
    /// itself and the furthest one the server reported sending. `nil` for sources without slot positions.
    func checkpoint(for position: SourcePosition) -> SourceCheckpoint?

    /// The pipeline stops: leave the source tidy (the session ends after this).
    mutating func finish() async throws
}

extension ChangeSourceSession {
    public func checkpoint(for position: SourcePosition) -> SourceCheckpoint? { nil }
    public mutating func finish() async throws {}
}

/// Where a source stands, as the source numbers it: a WAL position for a slot, a batch number for the outbox,
/// microseconds for notifications. Positions of one session only grow; the pipeline only compares them.
///
/// One concrete type rather than a type per source, so the pipeline's per-change loop is not generic code.
public struct SourcePosition: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public init(_ lsn: LSN) { self.rawValue = lsn.rawValue }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(self.rawValue) }
}

/// What a session reads, in commit order.
public enum SourceEvent: Sendable {
    /// A transaction starts; its changes follow.
    case begin
    case change(Change)
    /// The open transaction ended at `position`: once its changes are delivered, `position` may be acknowledged.
    case commit(SourcePosition, time: PostgresTimestamp?)
    /// Nothing is pending before `position` (a keepalive, a heartbeat): deliver what is held, and acknowledge it
    /// when no transaction is open.
    case idle(SourcePosition)
}

/// A source as the sinks see it: who it is, and for a slot, where it resumed.
public struct SourceBinding: Sendable, Hashable {
    public var identity: SourceIdentity
    /// The position the slot resumed from; a sink that recorded an earlier confirmed position lost changes.
    public var resumedAt: LSN?

    public init(identity: SourceIdentity, resumedAt: LSN?) {
        self.identity = identity
        self.resumedAt = resumedAt
    }
}

/// Slot positions for a sink to record before an acknowledgement (see `ChangeSourceSession.checkpoint(for:)`).
public struct SourceCheckpoint: Sendable, Hashable {
    public var confirmed: LSN
    /// The furthest position the server reported sending; no slot created later starts at or below it.
    public var seenUpTo: LSN

    public init(confirmed: LSN, seenUpTo: LSN) {
        self.confirmed = confirmed
        self.seenUpTo = seenUpTo
    }
}

/// What the pipeline does after a session failed.
public enum SourceRecovery: Sendable, Hashable {
    /// End the pipeline with the error: reconnecting cannot fix it (credentials, a missing slot, lost changes).
    case fail
    /// Connect again after the pipeline's reconnect backoff.
    case reconnect
    /// Another process holds the source: wait as a standby, trying every second.
    case standBy
    /// Open a new session at once: the source changed how it reads (e.g. a stream restarted in text).
    case reopen

    /// The classification every source shares: connection trouble and a server that comes back are worth a
    /// reconnect (shutdown, crash recovery, too many connections, a serialization failure or deadlock that
    /// ended a transaction); everything else is not.
    public static func forConnectionFailure(_ error: any Error) -> Self {
        guard let error = error as? SiphonError else { return .fail }
        switch error.code {
        case .connectionFailed: return .reconnect
        case .serverError:
            let state = error.serverError?.sqlState ?? ""
            let comesBack =
                state.hasPrefix("57P") || state.hasPrefix("08") || state == "53300" || state == "40001"
                || state == "40P01"
            return comesBack ? .reconnect : .fail
        default: return .fail
        }
    }
}
