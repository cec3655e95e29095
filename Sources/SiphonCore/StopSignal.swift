// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Synchronization

/// A latch a stop request sets once; everything waiting on it (a reconnect delay, a standby's retry) wakes at once.
public final class StopSignal: Sendable {
    private struct State {
        var stopped = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public var isStopped: Bool { self.state.withLock { $0.stopped } }

    /// Sets the latch and wakes every waiter. Later calls do nothing.
    public func stop() {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.stopped = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the latch is set, or at once when the task is cancelled.
    public func wait() async {
        let id = self.state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = self.state.withLock { state -> Bool in
                    if state.stopped || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Sleeps for `delay`, or less once the latch is set: a stop never waits out a reconnect delay. Throws
    /// `CancellationError` when the task is cancelled.
    public func sleep(for delay: Duration) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await Task.sleep(for: delay) }
            group.addTask { await self.wait() }
            defer { group.cancelAll() }
            try await group.next()
        }
        try Task.checkCancellation()
    }
}
