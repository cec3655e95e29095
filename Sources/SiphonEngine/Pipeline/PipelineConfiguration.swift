// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// How a pipeline delivers, whatever its source: what to keep, how many changes per delivery, how hard to retry.
public struct PipelineOptions: Sendable {
    /// Which changes reach the sinks.
    public var filter: ChangeFilter
    /// Changes delivered to the sinks in one call, at most. A transaction larger than this is delivered in parts.
    public var maxBatchSize: Int
    /// How long to wait before reconnecting after the connection or the server went away.
    public var reconnectBackoff: Backoff
    /// How to retry a sink that failed, and what to do when it keeps failing.
    public var delivery: DeliveryPolicy
    /// The database that holds `siphon.dead_letters`, for the dead-letter policy.
    public var deadLetters: ConnectionSettings

    public init(
        deadLetters: ConnectionSettings, filter: ChangeFilter = ChangeFilter(), maxBatchSize: Int = 1000,
        reconnectBackoff: Backoff = Backoff(), delivery: DeliveryPolicy = DeliveryPolicy()
    ) {
        self.deadLetters = deadLetters
        self.filter = filter
        self.maxBatchSize = maxBatchSize
        self.reconnectBackoff = reconnectBackoff
        self.delivery = delivery
    }
}

/// A pipeline over a logical replication slot: the source's configuration and the delivery options in one value.
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

    /// The source half of this configuration.
    public var source: LogicalReplicationConfiguration {
        LogicalReplicationConfiguration(
            connection: self.connection, slot: self.slot, temporarySlot: self.temporarySlot,
            publications: self.publications, binary: self.binary, protocolVersion: self.protocolVersion,
            statusInterval: self.statusInterval, heartbeatInterval: self.heartbeatInterval)
    }

    /// The delivery half of this configuration.
    public var options: PipelineOptions {
        PipelineOptions(
            deadLetters: self.connection, filter: self.filter, maxBatchSize: self.maxBatchSize,
            reconnectBackoff: self.reconnectBackoff, delivery: self.delivery)
    }
}
