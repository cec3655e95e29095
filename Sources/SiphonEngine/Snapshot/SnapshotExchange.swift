// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// What the snapshot readers of one replication session and the session itself hand each other: chunks read (before
/// their high watermark is written), which chunk a watermark names, and when a chunk's reads were acknowledged.
///
/// Readers run beside the session in its task group; the session only takes from here and never waits.
final class SnapshotExchange: Sendable {
    /// A chunk between its low watermark and its acknowledgement.
    struct Chunk: Sendable {
        var table: TableName
        var key: SnapshotKey
        /// The rows read, as reads whose ids the session fills in at the high watermark.
        var rows: [Change]?
    }

    /// How a chunk ended, as its reader learns it.
    enum Resolution: Sendable, Equatable {
        /// Its reads (if any survived the window) were delivered and acknowledged at this position.
        case acknowledged(LSN)
        /// Read it again (see `SnapshotWindows.Outcome.readAgain`).
        case readAgain
    }

    private struct State {
        var nextChunk: UInt64 = 1
        var chunks: [UInt64: Chunk] = [:]
        /// Chunks whose high watermark the session passed, by position, waiting for the acknowledgement.
        var delivering: [(chunk: UInt64, position: LSN)] = []
        var waiting: [UInt64: CheckedContinuation<Resolution, any Error>] = [:]
        var resolved: [UInt64: Resolution] = [:]
        var claimed: Set<Int64> = []
        var failure: (any Error)?
    }

    let slot: String
    /// Names this session's watermarks; another session's are foreign.
    let token = UInt64.random(in: 1...UInt64.max)
    private let state = SharedValue(State())
    /// Wakes the session when a reader failed, so that it ends instead of waiting for data.
    private let wake: @Sendable () -> Void

    init(slot: String, wake: @escaping @Sendable () -> Void) {
        self.slot = slot
        self.wake = wake
    }

    // MARK: Readers

    /// Takes a snapshot request for one reader; `false` when another reader of this session has it.
    func claim(_ request: Int64) -> Bool { self.state.withLock { $0.claimed.insert(request).inserted } }

    func release(_ request: Int64) { self.state.withLock { _ = $0.claimed.remove(request) } }

    /// Numbers a new chunk of `table` and returns its low watermark.
    func begin(table: TableName, key: SnapshotKey) -> SnapshotWatermark {
        let chunk = self.state.withLock { state in
            defer { state.nextChunk += 1 }
            state.chunks[state.nextChunk] = Chunk(table: table, key: key)
            return state.nextChunk
        }
        return SnapshotWatermark(slot: self.slot, token: self.token, chunk: chunk, kind: .low)
    }

    /// Hands over the rows read for `chunk`; call before writing its high watermark.
    func read(_ rows: [Change], chunk: UInt64) {
        self.state.withLock { $0.chunks[chunk]?.rows = rows }
    }

    /// Waits until the session resolved `chunk`, or fails when the session ended or the task was cancelled.
    func resolution(of chunk: UInt64) async throws -> Resolution {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let ready: Result<Resolution, any Error>? = self.state.withLock { state in
                    if let failure = state.failure { return .failure(failure) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if let resolution = state.resolved.removeValue(forKey: chunk) { return .success(resolution) }
                    state.waiting[chunk] = continuation
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            self.end(with: CancellationError())
        }
    }

    /// A reader failed: the session ends with `error` (and reconnects if the source says so).
    func fail(_ error: any Error) {
        self.end(with: error)
        self.wake()
    }

    // MARK: The session

    /// Throws what a reader failed with.
    func checkFailure() throws {
        if let failure = self.state.withLock({ $0.failure }), !(failure is CancellationError) { throw failure }
    }

    /// The chunk a watermark of this session names; `nil` for another session's watermark. At a high watermark the
    /// rows move out to the caller (a copy left here would make the session's edits copy every row).
    func chunk(at watermark: SnapshotWatermark) -> Chunk? {
        guard watermark.token == self.token, watermark.slot == self.slot else { return nil }
        return self.state.withLock { state in
            guard var chunk = state.chunks[watermark.chunk] else { return nil }
            if watermark.kind == .high {
                chunk.rows = state.chunks[watermark.chunk]?.rows.take()
            }
            return chunk
        }
    }

    /// The high watermark of `chunk` arrived at `position`: its surviving reads go out there, or it is to be read
    /// again.
    func passed(_ chunk: UInt64, at position: LSN, readAgain: Bool) {
        if readAgain {
            self.resolve(chunk, .readAgain)
        } else {
            self.state.withLock { $0.delivering.append((chunk, position)) }
        }
    }

    /// The pipeline acknowledged everything up to `position`.
    func acknowledged(upTo position: LSN) {
        let done = self.state.withLock { state -> [UInt64] in
            let done = state.delivering.prefix { $0.position <= position }.map(\.chunk)
            state.delivering.removeFirst(done.count)
            return done
        }
        for chunk in done { self.resolve(chunk, .acknowledged(position)) }
    }

    private func resolve(_ chunk: UInt64, _ resolution: Resolution) {
        let continuation = self.state.withLock { state in
            state.chunks[chunk] = nil
            guard let continuation = state.waiting.removeValue(forKey: chunk) else {
                state.resolved[chunk] = resolution
                return nil as CheckedContinuation<Resolution, any Error>?
            }
            return continuation
        }
        continuation?.resume(returning: resolution)
    }

    /// Fails every waiting reader; later waits fail at once.
    private func end(with error: any Error) {
        let waiting = self.state.withLock { state in
            if state.failure == nil { state.failure = error }
            defer { state.waiting.removeAll() }
            return Array(state.waiting.values)
        }
        for continuation in waiting { continuation.resume(throwing: error) }
    }
}
