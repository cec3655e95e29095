// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore
import Synchronization

/// Closes a channel when the server has not answered in time, and turns the resulting "connection closed" error
/// into one that says so. A silent server otherwise blocks a read forever: TCP sees nothing wrong with a peer that
/// acknowledges packets and never replies.
final class ResponseDeadline: Sendable {
    private final class Flag: Sendable {
        let expired = Atomic<Bool>(false)
    }

    private let flag = Flag()
    private let expiredError: @Sendable () -> SiphonError
    private let task: Scheduled<Void>

    init(channel: any Channel, timeout: Duration, expiredError: @escaping @Sendable () -> SiphonError) {
        self.expiredError = expiredError
        let flag = self.flag
        let (seconds, attoseconds) = timeout.components
        self.task = channel.eventLoop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) {
            flag.expired.store(true, ordering: .releasing)
            channel.close(promise: nil)
        }
    }

    func cancel() { self.task.cancel() }

    /// The timeout error if the deadline passed (the channel was closed because of it), else `error`.
    func error(replacing error: any Error) -> any Error {
        self.flag.expired.load(ordering: .acquiring) ? self.expiredError() : error
    }
}
