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
    /// Fail instead of retrying when the very first session cannot be opened (for supervisors that restart a
    /// process and report its failures better than its logs).
    public var exitOnStartFailure: Bool

    public init(
        deadLetters: ConnectionSettings, filter: ChangeFilter = ChangeFilter(), maxBatchSize: Int = 1000,
        reconnectBackoff: Backoff = Backoff(), delivery: DeliveryPolicy = DeliveryPolicy(),
        exitOnStartFailure: Bool = false
    ) {
        self.deadLetters = deadLetters
        self.exitOnStartFailure = exitOnStartFailure
        self.filter = filter
        self.maxBatchSize = maxBatchSize
        self.reconnectBackoff = reconnectBackoff
        self.delivery = delivery
    }
}

/// A pipeline over a logical replication slot: the source's configuration and the delivery options in one value,
/// with one initializer that takes them all.
public struct PipelineConfiguration: Sendable {
    /// Where to read.
    public var source: LogicalReplicationConfiguration
    /// What to keep, how many changes per delivery, how hard to retry.
    public var options: PipelineOptions

    public init(source: LogicalReplicationConfiguration, options: PipelineOptions) {
        self.source = source
        self.options = options
    }

    /// See `LogicalReplicationConfiguration` and `PipelineOptions` for each setting; dead letters go to the slot's
    /// database.
    public init(
        connection: ConnectionSettings, slot: String, temporarySlot: Bool = false, publications: [String],
        binary: Bool = false,
        protocolVersion: Int? = nil, filter: ChangeFilter = ChangeFilter(), maxBatchSize: Int = 1000,
        statusInterval: Duration = .seconds(10), reconnectBackoff: Backoff = Backoff(),
        delivery: DeliveryPolicy = DeliveryPolicy(), heartbeatInterval: Duration? = .seconds(30)
    ) {
        self.source = LogicalReplicationConfiguration(
            connection: connection, slot: slot, temporarySlot: temporarySlot, publications: publications,
            binary: binary, protocolVersion: protocolVersion, statusInterval: statusInterval,
            heartbeatInterval: heartbeatInterval)
        self.options = PipelineOptions(
            deadLetters: connection, filter: filter, maxBatchSize: maxBatchSize, reconnectBackoff: reconnectBackoff,
            delivery: delivery)
    }
}
