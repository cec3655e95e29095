// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

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
