// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonReplication
import Synchronization

/// One SQL connection kept open across calls: `ServerConnection` only lives inside `withConnection`, so a task holds
/// that scope open and runs the work handed to it, one piece at a time, in order.
///
/// A piece of work that fails with a connection failure ends the connection; the next call opens a new one. Work is
/// never retried here: the caller knows whether it may be.
final class HeldConnection: Sendable {
    private struct Job: Sendable {
        let run: @Sendable (ServerConnection) async -> Bool
        let fail: @Sendable (any Error) -> Void
    }

    private struct State {
        var jobs: AsyncStream<Job>.Continuation?
        var worker: Task<Void, Never>?
        /// Counts connections, so a worker that ends leaves its successor's queue alone.
        var generation = 0
    }

    private let settings: ConnectionSettings
    /// Runs once on every new connection before any work (session settings).
    private let prepare: @Sendable (ServerConnection) async throws -> Void
    private let logger: Logger
    private let state = Mutex(State())

    init(
        settings: ConnectionSettings, logger: Logger,
        prepare: @escaping @Sendable (ServerConnection) async throws -> Void = { _ in }
    ) {
        self.settings = settings
        self.logger = logger
        self.prepare = prepare
    }

    /// Runs `work` on the held connection, connecting first if there is none.
    @discardableResult
    func run<Result: Sendable>(_ work: @escaping @Sendable (ServerConnection) async throws -> Result) async throws
        -> Result
    {
        try await withCheckedThrowingContinuation { continuation in
            let job = Job(
                run: { connection in
                    do {
                        continuation.resume(returning: try await work(connection))
                        return true
                    } catch {
                        continuation.resume(throwing: error)
                        // A connection that failed is not used again.
                        return (error as? SiphonError)?.code != .connectionFailed
                    }
                },
                fail: { continuation.resume(throwing: $0) })
            if case .terminated = self.jobs().yield(job) {
                continuation.resume(throwing: SiphonError(.connectionFailed, "the connection to \(self.settings) is closed"))
            }
        }
    }

    /// Closes the connection once the work handed out so far is done.
    func close() async {
        let worker = self.state.withLock { state in
            state.jobs?.finish()
            state.jobs = nil
            return state.worker
        }
        await worker?.value
    }

    /// The open job queue, or a new one with a worker that connects for it.
    private func jobs() -> AsyncStream<Job>.Continuation {
        self.state.withLock { state in
            if let jobs = state.jobs { return jobs }
            let (stream, jobs) = AsyncStream<Job>.makeStream()
            state.generation += 1
            let generation = state.generation
            state.jobs = jobs
            state.worker = Task { await self.serve(stream, generation: generation) }
            return jobs
        }
    }

    private func serve(_ stream: AsyncStream<Job>, generation: Int) async {
        var failure: (any Error)?
        do {
            try await ServerConnection.withConnection(settings: self.settings, replication: false, logger: self.logger) {
                connection in
                try await self.prepare(connection)
                for await job in stream {
                    guard await job.run(connection) else { break }
                }
            }
        } catch {
            failure = error
        }
        // This connection is done: later calls get a new one; work already queued for it fails with its error.
        let queue = self.state.withLock { state -> AsyncStream<Job>.Continuation? in
            guard state.generation == generation else { return nil }
            defer { state.jobs = nil }
            return state.jobs
        }
        queue?.finish()
        let error = failure ?? SiphonError(.connectionFailed, "the connection to \(self.settings) was closed")
        for await job in stream { job.fail(error) }
    }
}
