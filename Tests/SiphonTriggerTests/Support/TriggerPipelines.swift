// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonEngine
import SiphonTrigger

/// Reconnects fast, so tests that kill connections do not wait for the production backoff.
let testReconnectBackoff = Backoff(initial: .milliseconds(20), maximum: .milliseconds(200))

/// A pipeline over an outbox source, with the source at hand for its statistics.
struct OutboxPipeline {
    let source: OutboxSource
    let pipeline: Pipeline
    let options: PipelineOptions
    let sinks: [any ChangeSink]
    let logger: Logger

    init(
        configuration: OutboxConfiguration, delivery: DeliveryPolicy = DeliveryPolicy(), sinks: [any ChangeSink],
        logger: Logger
    ) {
        self.source = OutboxSource(configuration: configuration, logger: logger)
        self.options = PipelineOptions(
            deadLetters: configuration.connection, reconnectBackoff: testReconnectBackoff, delivery: delivery)
        self.pipeline = Pipeline(source: self.source, options: self.options, sinks: sinks, logger: logger)
        self.sinks = sinks
        self.logger = logger
    }

    func run() async throws { try await self.pipeline.run() }

    func stop() { self.pipeline.stop() }

    /// Delivers everything committed before the call, deletes what every group delivered, closes the sinks and
    /// returns: the same source and sinks, read once to the end.
    func catchUp() async throws {
        var configuration = self.source.configuration
        configuration.endsWhenCaughtUp = true
        let source = OutboxSource(configuration: configuration, logger: self.logger)
        try await Pipeline(source: source, options: self.options, sinks: self.sinks, logger: self.logger).run()
    }
}

/// A pipeline over a notify source, with the source at hand for its statistics.
struct NotifyPipeline {
    let source: NotifySource
    let pipeline: Pipeline

    init(configuration: NotifyConfiguration, sinks: [any ChangeSink], logger: Logger) {
        self.source = NotifySource(configuration: configuration, logger: logger)
        self.pipeline = Pipeline(
            source: self.source,
            options: PipelineOptions(deadLetters: configuration.connection, reconnectBackoff: testReconnectBackoff),
            sinks: sinks, logger: logger)
    }

    func run() async throws { try await self.pipeline.run() }

    func stop() { self.pipeline.stop() }
}
