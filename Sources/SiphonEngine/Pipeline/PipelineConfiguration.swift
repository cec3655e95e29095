// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Everything a `Pipeline` needs to know: where to read, what to keep, how hard to retry.
public struct PipelineConfiguration: Sendable {
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
    /// Which changes reach the sinks.
    public var filter: ChangeFilter
    /// Changes delivered to the sinks in one call, at most. A transaction larger than this is delivered in parts.
    public var maxBatchSize: Int
    /// How often to tell the server we are alive, whatever the consumer is doing.
    public var statusInterval: Duration
    /// How long to wait before reconnecting after the connection or the server went away.
    public var reconnectBackoff: Backoff
    /// How to retry a sink that failed, and what to do when it keeps failing.
    public var delivery: DeliveryPolicy
    /// While idle, send a heartbeat through the WAL this often, so a slot whose tables see no writes still advances.
    public var heartbeatInterval: Duration?

    public init(
        connection: ConnectionSettings, slot: String, temporarySlot: Bool = false, publications: [String],
        binary: Bool = false,
        protocolVersion: Int? = nil, filter: ChangeFilter = ChangeFilter(), maxBatchSize: Int = 1000,
        statusInterval: Duration = .seconds(10), reconnectBackoff: Backoff = Backoff(),
        delivery: DeliveryPolicy = DeliveryPolicy(), heartbeatInterval: Duration? = .seconds(30)
    ) {
        self.connection = connection
        self.slot = slot
        self.temporarySlot = temporarySlot
        self.publications = publications
        self.binary = binary
        self.protocolVersion = protocolVersion
        self.filter = filter
        self.maxBatchSize = maxBatchSize
        self.statusInterval = statusInterval
        self.reconnectBackoff = reconnectBackoff
        self.delivery = delivery
        self.heartbeatInterval = heartbeatInterval
    }
}

/// Exponential backoff between `initial` and `maximum`.
public struct Backoff: Sendable, Hashable {
    public var initial: Duration
    public var maximum: Duration
    public var multiplier: Double

    public init(initial: Duration = .milliseconds(200), maximum: Duration = .seconds(30), multiplier: Double = 2) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
    }

    /// The delay before attempt `attempt` (0-based).
    public func delay(attempt: Int) -> Duration {
        var delay = self.initial
        for _ in 0..<min(attempt, 64) {
            delay = delay * self.multiplier
            if delay >= self.maximum { return self.maximum }
        }
        return min(delay, self.maximum)
    }

    /// Waits `delay`, or less once `stopped()` holds (checked every 100 ms): a stop request or a shutdown signal
    /// never waits out a reconnect delay of up to `maximum`. Throws `CancellationError` when the task is cancelled.
    public static func wait(_ delay: Duration, unless stopped: () -> Bool) async throws {
        let deadline = ContinuousClock.now + delay
        while !stopped() {
            let left = deadline - ContinuousClock.now
            if left <= .zero { return }
            try await Task.sleep(for: min(left, .milliseconds(100)))
        }
    }
}

/// How sinks are retried and what happens to a change that keeps failing.
public struct DeliveryPolicy: Sendable {
    /// What to do with a change that failed `maxAttempts` times.
    public enum PoisonAction: String, Sendable, CaseIterable {
        /// Stop the pipeline with the error; nothing after the change is acknowledged.
        case stop
        /// Park the change in `siphon.dead_letters` with its error and go on with the next one.
        case deadLetter = "dead-letter"
    }

    public var maxAttempts: Int
    public var backoff: Backoff
    public var poisonAction: PoisonAction

    public init(
        maxAttempts: Int = 5, backoff: Backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(10)),
        poisonAction: PoisonAction = .stop
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.backoff = backoff
        self.poisonAction = poisonAction
    }
}
