// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import Synchronization

/// Records every batch it is given and lets a test wait until what it recorded satisfies a condition.
final class CollectingSink: ChangeSink, Sendable {
    let name = "collecting"
    private let state = Mutex(State())
    /// Runs before a batch is recorded; throwing makes the delivery fail (the batch is not recorded).
    private let beforeDelivery: @Sendable ([Change]) async throws -> Void
    /// Runs after a batch was recorded.
    private let afterDelivery: @Sendable ([Change]) -> Void

    private struct Waiter {
        var condition: @Sendable ([Change]) -> Bool
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var changes: [Change] = []
        var waiters: [Int: Waiter] = [:]
        var nextWaiter = 0
    }

    init(
        beforeDelivery: @escaping @Sendable ([Change]) async throws -> Void = { _ in },
        afterDelivery: @escaping @Sendable ([Change]) -> Void = { _ in }
    ) {
        self.beforeDelivery = beforeDelivery
        self.afterDelivery = afterDelivery
    }

    var changes: [Change] { self.state.withLock { $0.changes } }

    func deliver(_ changes: [Change]) async throws {
        try await self.beforeDelivery(changes)
        let ready = self.state.withLock { state in
            state.changes += changes
            let all = state.changes
            let ready = state.waiters.filter { $0.value.condition(all) }
            for id in ready.keys { state.waiters[id] = nil }
            return ready.values.map(\.continuation)
        }
        for continuation in ready { continuation.resume(returning: true) }
        self.afterDelivery(changes)
    }

    /// Waits until the recorded changes satisfy `condition`; fails after `timeout`, showing what arrived.
    func wait(
        timeout: Duration = .seconds(60), _ what: String = "the expected changes",
        until condition: @escaping @Sendable ([Change]) -> Bool
    ) async throws {
        let id = self.state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let satisfied = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let satisfied = self.state.withLock { state in
                        if condition(state.changes) { return true }
                        state.waiters[id] = Waiter(condition: condition, continuation: continuation)
                        return false
                    }
                    if satisfied { continuation.resume(returning: true) }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                let waiter = self.state.withLock { $0.waiters.removeValue(forKey: id) }
                waiter?.continuation.resume(returning: false)
                return false
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
        guard satisfied else {
            throw SiphonError(
                .cancelled, "\(what) did not arrive within \(timeout); got \(self.changes.count) changes")
        }
    }
}
