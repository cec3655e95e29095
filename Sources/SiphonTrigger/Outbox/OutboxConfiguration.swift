// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Everything an `OutboxSource` needs: which outbox, which consumer group, how to look for changes.
public struct OutboxConfiguration: Sendable {
    public var connection: ConnectionSettings
    /// The schema that holds the outbox.
    public var schema: String
    /// The outbox's name (`siphon setup --mode trigger` creates `outbox`); also the `source` of change ids.
    public var outbox: String
    /// The consumer group this reader belongs to. Its partition count must match the group's registration; a
    /// group that does not exist yet is registered, and starts with whatever the outbox still holds.
    public var group: ConsumerGroup
    /// Read an existing group with the partition count it was registered with (`siphon setup --group NAME:COUNT`),
    /// so a reader needs only the group's name; `group.partitions` then applies only when the reader registers the
    /// group itself. Off: a group registered with another count is an error.
    public var partitionsFromRegistration: Bool
    /// Outbox rows read (and delivered, and recorded as delivered) at a time, at most.
    public var batchSize: Int
    /// Look for changes this often even without a wake-up notification (and rebalance partitions between readers).
    public var pollInterval: Duration
    /// Wake up on the outbox's notifications; without it the reader only polls.
    public var listensForWakeUps: Bool
    /// How soon to look again when there was nothing to deliver but writers that sent no wake-up (because a reader
    /// was busy when they wrote) have not committed yet.
    public var busyPollInterval: Duration
    /// How long to find nothing (looking every `busyPollInterval`) before waiting for wake-ups: writers send a
    /// wake-up only while a reader waits, so under steady load none of them pays for one.
    public var idleAfter: Duration
    /// Keep delivered changes this long before deleting them, so the outbox doubles as an audit log; `nil` deletes
    /// them as soon as every consumer group delivered them.
    public var retention: Duration?
    /// Delete delivered changes at most this often.
    public var cleanupInterval: Duration
    /// End the session once everything committed before it is delivered (and the outbox cleaned up), instead of
    /// waiting for more: for batch jobs and a last look after a run.
    public var endsWhenCaughtUp: Bool
    /// Called each time the reader has delivered everything and starts waiting for a wake-up.
    public var caughtUp: (@Sendable () -> Void)?

    public init(
        connection: ConnectionSettings, schema: String = TriggerCapture.defaultSchema, outbox: String = "outbox",
        group: ConsumerGroup = ConsumerGroup(), partitionsFromRegistration: Bool = false, batchSize: Int = 1000,
        pollInterval: Duration = .seconds(2), listensForWakeUps: Bool = true,
        busyPollInterval: Duration = .milliseconds(50), idleAfter: Duration = .milliseconds(250),
        retention: Duration? = nil, cleanupInterval: Duration = .seconds(1), endsWhenCaughtUp: Bool = false,
        caughtUp: (@Sendable () -> Void)? = nil
    ) {
        self.connection = connection
        self.schema = schema
        self.outbox = outbox
        self.group = group
        self.partitionsFromRegistration = partitionsFromRegistration
        self.batchSize = batchSize
        self.pollInterval = pollInterval
        self.listensForWakeUps = listensForWakeUps
        self.busyPollInterval = busyPollInterval
        self.idleAfter = idleAfter
        self.retention = retention
        self.cleanupInterval = cleanupInterval
        self.endsWhenCaughtUp = endsWhenCaughtUp
        self.caughtUp = caughtUp
    }
}
