// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import ServiceLifecycle
import SiphonCore
import SiphonEngine
import SiphonTrigger
import UnixSignals

/// Where a service captures changes from: one of the three capture modes.
public enum SourceConfiguration: Sendable {
    /// A logical replication slot (the default mode).
    case logical(LogicalReplicationConfiguration)
    /// The trigger outbox, for hosts without logical replication.
    case outbox(OutboxConfiguration)
    /// Notify channels (best effort).
    case notify(NotifyConfiguration)
}

/// A capture service as one value: a source, how to deliver, and the sinks. `run` builds the pipeline and runs it
/// until it ends or the process gets SIGTERM/SIGINT, which stop it cleanly at a transaction boundary.
///
/// The `siphon` commands are this plus argument parsing; an app embeds it the same way, or builds a `Pipeline` and
/// adds it to its own `ServiceGroup`.
public struct SiphonService: Sendable {
    public var source: SourceConfiguration
    public var options: PipelineOptions
    /// Opens the sinks; called once the source's first session is open (for a slot: once it is held).
    public var openSinks: @Sendable () throws -> [any ChangeSink]

    public init(
        source: SourceConfiguration, options: PipelineOptions,
        openSinks: @escaping @Sendable () throws -> [any ChangeSink]
    ) {
        self.source = source
        self.options = options
        self.openSinks = openSinks
    }

    public func makePipeline(logger: Logger) -> Pipeline {
        switch self.source {
        case .logical(let configuration):
            Pipeline(
                source: LogicalReplicationSource(configuration: configuration, logger: logger), options: self.options,
                logger: logger, openSinks: self.openSinks)
        case .outbox(let configuration):
            Pipeline(
                source: OutboxSource(configuration: configuration, logger: logger), options: self.options,
                logger: logger, openSinks: self.openSinks)
        case .notify(let configuration):
            Pipeline(
                source: NotifySource(configuration: configuration, logger: logger), options: self.options,
                logger: logger, openSinks: self.openSinks)
        }
    }

    /// Runs `pipeline` and `alongside` until the pipeline ends, one of them fails, or SIGTERM/SIGINT asks for a
    /// graceful shutdown.
    public static func run(_ pipeline: Pipeline, alongside: [any Service] = [], logger: Logger) async throws {
        let services = ([pipeline] + alongside).map {
            ServiceGroupConfiguration.ServiceConfiguration(service: $0, successTerminationBehavior: .gracefullyShutdownGroup)
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
