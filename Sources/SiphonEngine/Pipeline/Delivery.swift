// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore

/// Hands a batch to every sink, retrying with backoff; a change that keeps failing stops the pipeline or is parked
/// as a dead letter, by policy. Never dropped silently. Every capture mode delivers through it.
public struct Delivery: Sendable {
    let sinks: [any ChangeSink]
    let policy: DeliveryPolicy
    let deadLetters: DeadLetterStore
    let logger: Logger

    public struct Outcome: Sendable {
        /// Changes parked in `siphon.dead_letters` instead of delivered.
        public var deadLettered = 0
    }

    public init(sinks: [any ChangeSink], policy: DeliveryPolicy, settings: ConnectionSettings, logger: Logger) {
        self.sinks = sinks
        self.policy = policy
        self.deadLetters = DeadLetterStore(settings: settings, logger: logger)
        self.logger = logger
    }

    /// Returns once every sink made `changes` durable (or parked the ones it refused, by policy).
    ///
    /// A cancellation is never a refusal: it ends delivery with `CancellationError` and parks nothing, whatever the
    /// sink threw while being cancelled.
    public func deliver(_ changes: [Change]) async throws -> Outcome {
        var outcome = Outcome()
        for sink in self.sinks {
            do {
                try await self.withRetries(sink: sink) { try await sink.deliver(changes) }
            } catch let error where self.policy.poisonAction == .deadLetter && !(error is CancellationError) {
                // Find the poison: deliver one by one, parking only the changes that still fail.
                for change in changes {
                    do {
                        try await self.withRetries(sink: sink) { try await sink.deliver([change]) }
                    } catch let error where !(error is CancellationError) {
                        try await self.deadLetters.park(
                            change, sink: sink.name, error: error, attempts: self.policy.maxAttempts)
                        outcome.deadLettered += 1
                    }
                }
            }
        }
        return outcome
    }

    /// Runs `attempt` until it succeeds or failed `maxAttempts` times. Throws `CancellationError` when the task is
    /// cancelled, also when the sink failed with an error of its own because of it.
    private func withRetries(sink: any ChangeSink, _ attempt: () async throws -> Void) async throws {
        var failures = 0
        while true {
            do {
                try await attempt()
                return
            } catch let error where error is CancellationError || Task.isCancelled {
                throw CancellationError()
            } catch {
                failures += 1
                if failures >= self.policy.maxAttempts {
                    if error is SiphonError { throw error }
                    throw SiphonError(
                        .sinkRejected, "sink \(sink.name) failed \(failures) times; last error: \(error)", underlying: error)
                }
                let delay = self.policy.backoff.delay(attempt: failures - 1)
                self.logger.warning(
                    "Sink failed; retrying", metadata: ["sink.name": "\(sink.name)", "error": "\(error)", "retry.in": "\(delay)"])
                try await Task.sleep(for: delay)
            }
        }
    }
}
