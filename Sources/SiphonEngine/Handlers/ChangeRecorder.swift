// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import Synchronization

/// A sink for an application's own tests: records changes and lets a test `await` the change its code caused.
///
/// ```swift
/// let recorder = ChangeRecorder()
/// // run a Pipeline with sinks: [recorder] in a task group, then:
/// try await app.signUp(email: "a@example.com")
/// let change = try await recorder.next(timeout: .seconds(5)) { $0.table == "users" && $0.operation == .insert }
/// ```
public final class ChangeRecorder: ChangeSink, Sendable {
    public let name = "recorder"

    private struct Waiter {
        let predicate: @Sendable (Change) -> Bool
        let continuation: CheckedContinuation<Change, any Error>
    }

    private struct State {
        var changes: [Change] = []
        /// Changes recorded but not yet handed to a waiter.
        var unclaimed: [Change] = []
        var waiters: [Int: Waiter] = [:]
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Every change recorded so far, in delivery order.
    public var changes: [Change] { self.state.withLock { $0.changes } }

    public func deliver(_ changes: [Change]) async throws {
        var resumed: [(CheckedContinuation<Change, any Error>, Change)] = []
        self.state.withLock { state in
            for change in changes {
                state.changes.append(change)
                if let (id, waiter) = state.waiters.sorted(by: { $0.key < $1.key }).first(where: { $0.value.predicate(change) }) {
                    state.waiters[id] = nil
                    resumed.append((waiter.continuation, change))
                } else {
                    state.unclaimed.append(change)
                }
            }
        }
        for (continuation, change) in resumed { continuation.resume(returning: change) }
    }

    /// The first not-yet-claimed change matching `predicate`, waiting up to `timeout` for it to arrive.
    public func next(
        timeout: Duration = .seconds(10), where predicate: @escaping @Sendable (Change) -> Bool = { _ in true }
    ) async throws -> Change {
        let id = self.state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return try await withThrowingTaskGroup(of: Change.self) { group in
            group.addTask {
                try await withCheckedThrowingContinuation { continuation in
                    let ready = self.state.withLock { state -> Change? in
                        if let index = state.unclaimed.firstIndex(where: predicate) {
                            return state.unclaimed.remove(at: index)
                        }
                        state.waiters[id] = Waiter(predicate: predicate, continuation: continuation)
                        return nil
                    }
                    if let ready { continuation.resume(returning: ready) }
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                let waiter = self.state.withLock { $0.waiters.removeValue(forKey: id) }
                let error = SiphonError(.cancelled, "no matching change arrived within \(timeout)")
                waiter?.continuation.resume(throwing: error)
                throw error
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}
