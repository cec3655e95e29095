// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonReplication
import SiphonTestSupport
import Synchronization
import Testing

@testable import SiphonEngine

/// The pipeline's own behaviour, once, against a source made of values: order, acknowledgement only after
/// delivery, retries, dead letters, reconnects and stopping. Each real source is tested for its own contract
/// against PostgreSQL elsewhere.
@Suite struct PipelineContractTests {
    let logger = Logger(label: "test")

    static func transactions(_ count: Int, changes: Int, source: String = "values") -> [[Change]] {
        (0..<count).map { transaction in
            (0..<changes).map { index in
                Change(
                    id: Change.ID(source: source, commitLSN: LSN(rawValue: UInt64(transaction + 1)), index: index),
                    operation: .insert, schema: "public", table: "t", xid: UInt32(transaction + 1),
                    commitTime: PostgresTimestamp(unixMicroseconds: 0),
                    new: Row([Row.Column(name: "n", json: "\(transaction * 1000 + index)")]),
                    key: Row([Row.Column(name: "n", json: "\(transaction * 1000 + index)")]))
            }
        }
    }

    func options(_ policy: DeliveryPolicy = DeliveryPolicy(), maxBatchSize: Int = 1000) throws -> PipelineOptions {
        PipelineOptions(
            deadLetters: try ConnectionSettings(url: try TestEnvironment.url(), environment: [:]),
            maxBatchSize: maxBatchSize, reconnectBackoff: Backoff(initial: .milliseconds(1), maximum: .milliseconds(5)),
            delivery: policy)
    }

    @Test func deliversInOrderAndAcknowledgesOnlyWhatWasDelivered() async throws {
        // Every transaction is ready at once, so batches of 10 span transactions.
        let script = Self.transactions(20, changes: 7)
        let source = ValueSource(script, readyAhead: true)
        let sink = RecordingSink { _ in source.acknowledged }
        try await Pipeline(source: source, options: try self.options(maxBatchSize: 10), sinks: [sink], logger: self.logger)
            .run()
        #expect(sink.changes.map(\.id) == script.flatMap { $0 }.map(\.id))
        // When a batch arrived, nothing of it (nor anything after it) had been acknowledged yet.
        for (batch, acknowledgedBefore) in sink.batches {
            let firstTransaction = Int(batch[0].id.commitLSN.rawValue)
            #expect(acknowledgedBefore < firstTransaction)
        }
        #expect(source.acknowledged == 20)
        #expect(source.acknowledgements == source.acknowledgements.sorted())
    }

    @Test func aFailingSinkIsRetriedAndNothingIsAcknowledgedPastWhatFailed() async throws {
        let source = ValueSource(Self.transactions(3, changes: 2))
        let flaky = RecordingSink { changes in
            if changes.contains(where: { $0.id.commitLSN == LSN(rawValue: 2) }) { throw Refused() }
            return 0
        }
        let pipeline = Pipeline(
            source: source,
            options: try self.options(DeliveryPolicy(maxAttempts: 3, backoff: Backoff(initial: .milliseconds(1)))),
            sinks: [flaky], logger: self.logger)
        await #expect(throws: SiphonError.self) { try await pipeline.run() }
        #expect(flaky.attempts == 1 + 3)
        #expect(source.acknowledged == 1)
    }

    @Test func aSinkThatRecoversGetsEveryChangeOnce() async throws {
        let source = ValueSource(Self.transactions(5, changes: 3))
        let failures = SharedValue(2)
        let sink = RecordingSink { _ in
            let refuse = failures.withLock { left in
                defer { left -= 1 }
                return left > 0
            }
            if refuse { throw Refused() }
            return 0
        }
        try await Pipeline(
            source: source,
            options: try self.options(DeliveryPolicy(maxAttempts: 5, backoff: Backoff(initial: .milliseconds(1)))),
            sinks: [sink], logger: self.logger
        ).run()
        #expect(sink.changes.count == 15)
        #expect(Set(sink.changes.map(\.id)).count == 15)
        #expect(source.acknowledged == 5)
    }

    @Test func aPoisonChangeIsParkedAndTheRestDelivered() async throws {
        let runID = TestEnvironment.uniqueName("contract")
        let script = Self.transactions(2, changes: 3, source: runID)
        let poison = script[1][1].id
        let source = ValueSource(script)
        let sink = RecordingSink { changes in
            if changes.contains(where: { $0.id == poison }) { throw Refused() }
            return 0
        }
        let pipeline = Pipeline(
            source: source,
            options: try self.options(DeliveryPolicy(maxAttempts: 1, poisonAction: .deadLetter)),
            sinks: [sink], logger: self.logger)
        try await pipeline.run()
        #expect(sink.changes.map(\.id) == script.flatMap { $0 }.map(\.id).filter { $0 != poison })
        #expect(pipeline.statistics.deadLetters == 1)
        #expect(source.acknowledged == 2)
        let parked = try await ServerConnection.withConnection(
            settings: pipeline.options.deadLetters, replication: false, logger: self.logger
        ) {
            try await $0.query(
                "SELECT change_id FROM siphon.dead_letters WHERE starts_with(change_id, $1)", parameters: [runID + "/"]
            ).rows
        }
        #expect(parked == [[poison.description]])
    }

    @Test func aLostSessionIsReopenedFromTheLastAcknowledgedPosition() async throws {
        let script = Self.transactions(6, changes: 2)
        let source = ValueSource(script, failAfter: [2: .reconnect, 4: .reconnect])
        let sink = RecordingSink { _ in 0 }
        let pipeline = Pipeline(source: source, options: try self.options(), sinks: [sink], logger: self.logger)
        try await pipeline.run()
        #expect(sink.changes.map(\.id) == script.flatMap { $0 }.map(\.id))
        #expect(source.sessions == 3)
        #expect(source.sessionStarts == [0, 2, 4])
        #expect(pipeline.statistics.reconnects == 2)
    }

    @Test func aFailureTheSourceCannotRecoverFromEndsThePipelineAndClosesItsSinks() async throws {
        let source = ValueSource(Self.transactions(3, changes: 1), failAfter: [1: .fail])
        let sink = RecordingSink { _ in 0 }
        let pipeline = Pipeline(source: source, options: try self.options(), sinks: [sink], logger: self.logger)
        await #expect(throws: ValueSource.Failure.self) { try await pipeline.run() }
        #expect(source.sessions == 1)
        #expect(source.acknowledged == 1)
        // An app that goes on after the failure gets the sink's files and connections back.
        #expect(sink.closed)
    }

    @Test func aStopWhileWaitingEndsTheSessionCleanly() async throws {
        let source = ValueSource(Self.transactions(2, changes: 2), waitsAtEnd: true)
        let sink = RecordingSink { _ in 0 }
        let pipeline = Pipeline(source: source, options: try self.options(), sinks: [sink], logger: self.logger)
        // The stop arrives once the session has nothing more and is about to wait.
        source.onWait = { pipeline.stop() }
        try await pipeline.run()
        #expect(sink.changes.count == 4)
        #expect(source.acknowledged == 2)
        #expect(source.finished)
        #expect(sink.closed)
    }

    @Test func aStopMidTransactionAbandonsWhatNoSinkHasSeen() async throws {
        // One transaction of 50 changes, handed out 10 at a time; the stop comes after the first 10 were read but
        // before any was delivered (the batch holds 1000).
        let source = ValueSource(Self.transactions(1, changes: 50), chunk: 10)
        let sink = RecordingSink { _ in 0 }
        let pipeline = Pipeline(source: source, options: try self.options(), sinks: [sink], logger: self.logger)
        source.onRead = { read in if read == 10 { pipeline.stop() } }
        try await pipeline.run()
        #expect(sink.changes.isEmpty)
        #expect(source.acknowledged == 0)
    }

    @Test func aBatchSizeBelowOneIsRefusedBeforeReading() async throws {
        let source = ValueSource(Self.transactions(1, changes: 1))
        let pipeline = Pipeline(
            source: source, options: try self.options(maxBatchSize: 0), sinks: [RecordingSink { _ in 0 }],
            logger: self.logger)
        let error = await #expect(throws: SiphonError.self) { try await pipeline.run() }
        #expect(error?.message == "the batch size must be positive, not 0")
        #expect(source.sessions == 0)
    }

    @Test func aStopMidTransactionFinishesOneASinkHasPartlySeen() async throws {
        // Batches of 10: the first part of the transaction reached the sink before the stop, so it is finished (a
        // sink that cannot drop repeats would otherwise show that part twice after the restart).
        let source = ValueSource(Self.transactions(2, changes: 50), chunk: 10)
        let sink = RecordingSink { _ in 0 }
        let pipeline = Pipeline(
            source: source, options: try self.options(maxBatchSize: 10), sinks: [sink], logger: self.logger)
        source.onRead = { read in if read == 20 { pipeline.stop() } }
        try await pipeline.run()
        #expect(sink.changes.count == 50)
        #expect(source.acknowledged == 1)
    }
}

private struct Refused: Error {}

/// A source that hands out a fixed list of transactions (positions 1, 2, …) and records what was acknowledged.
private final class ValueSource: ChangeSource, Sendable {
    typealias Session = ValueSession

    struct State {
        var acknowledged = 0
        var acknowledgements: [Int] = []
        var sessionStarts: [Int] = []
        var changesRead = 0
        var finished = false
        var failAfter: [Int: SourceRecovery]
        var onRead: (@Sendable (Int) -> Void)?
        var onWait: (@Sendable () -> Void)?
    }

    let script: [[Change]]
    /// Whether the next transaction counts as ready (a backlog) or not (each one is delivered at its commit).
    let readyAhead: Bool
    let waitsAtEnd: Bool
    let chunk: Int
    let state: Mutex<State>

    init(
        _ script: [[Change]], failAfter: [Int: SourceRecovery] = [:], readyAhead: Bool = false,
        waitsAtEnd: Bool = false, chunk: Int = .max
    ) {
        self.script = script
        self.readyAhead = readyAhead
        self.waitsAtEnd = waitsAtEnd
        self.chunk = chunk
        self.state = Mutex(State(failAfter: failAfter))
    }

    var name: String { "values" }
    var reopensAfterEnd: Bool { false }
    var acknowledged: Int { self.state.withLock { $0.acknowledged } }
    var acknowledgements: [Int] { self.state.withLock { $0.acknowledgements } }
    var sessions: Int { self.sessionStarts.count }
    var sessionStarts: [Int] { self.state.withLock { $0.sessionStarts } }
    var finished: Bool { self.state.withLock { $0.finished } }
    /// Called with the number of changes read so far, after each read.
    var onRead: (@Sendable (Int) -> Void)? {
        get { self.state.withLock { $0.onRead } }
        set { self.state.withLock { $0.onRead = newValue } }
    }
    /// Called when a session has handed out everything and is about to wait.
    var onWait: (@Sendable () -> Void)? {
        get { self.state.withLock { $0.onWait } }
        set { self.state.withLock { $0.onWait = newValue } }
    }

    struct Failure: Error {
        var recovery: SourceRecovery
    }

    func recovery(from error: any Error) -> SourceRecovery { (error as? Failure)?.recovery ?? .fail }

    func withSession(_ body: (inout ValueSession) async throws -> Void) async throws {
        let (wakeUps, wakeUp) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let start = self.state.withLock { state in
            state.sessionStarts.append(state.acknowledged)
            return state.acknowledged
        }
        var session = ValueSession(
            source: self, next: start, wakeUps: wakeUps.makeAsyncIterator(), wake: { wakeUp.yield() })
        try await body(&session)
    }
}

private struct ValueSession: ChangeSourceSession {
    let source: ValueSource
    /// The transaction to hand out next (0-based), and how much of it was handed out.
    var next: Int
    var offset = 0
    var wakeUps: AsyncStream<Void>.Iterator
    let wake: @Sendable () -> Void

    init(source: ValueSource, next: Int, wakeUps: AsyncStream<Void>.Iterator, wake: @escaping @Sendable () -> Void) {
        self.source = source
        self.next = next
        self.wakeUps = wakeUps
        self.wake = wake
    }

    var binding: SourceBinding? { nil }
    var hasReadyEvents: Bool {
        self.offset > 0 || (self.source.readyAhead && self.next < self.source.script.count)
    }

    mutating func next(into events: inout [SourceEvent], maxChanges: Int) async throws -> Bool {
        let failure = self.source.state.withLock { state -> SourceRecovery? in
            guard let failure = state.failAfter[self.next], self.offset == 0 else { return nil }
            state.failAfter[self.next] = nil
            return failure
        }
        if let failure { throw ValueSource.Failure(recovery: failure) }
        guard self.next < self.source.script.count else {
            guard self.source.waitsAtEnd else { return false }
            self.source.onWait?()
            _ = await self.wakeUps.next(isolation: #isolation)
            return true
        }
        let transaction = self.source.script[self.next]
        if self.offset == 0 { events.append(.begin) }
        let end = min(transaction.count, self.offset + min(maxChanges, self.source.chunk))
        for change in transaction[self.offset..<end] { events.append(.change(change)) }
        let read = self.source.state.withLock { state -> Int in
            state.changesRead += end - self.offset
            return state.changesRead
        }
        self.offset = end
        if end == transaction.count {
            self.next += 1
            self.offset = 0
            events.append(.commit(SourcePosition(rawValue: UInt64(self.next)), time: nil))
        }
        self.source.onRead?(read)
        return true
    }

    mutating func acknowledge(upTo position: SourcePosition) async throws {
        self.source.state.withLock {
            $0.acknowledged = Int(position.rawValue)
            $0.acknowledgements.append(Int(position.rawValue))
        }
    }

    mutating func finish() async throws {
        self.source.state.withLock { $0.finished = true }
    }
}

/// Records every batch with a value computed when it arrived (e.g. the source's acknowledged position); the
/// closure may throw to refuse the batch.
private final class RecordingSink: ChangeSink, Sendable {
    private struct State {
        var batches: [([Change], Int)] = []
        var attempts = 0
        var closed = false
    }

    private let state = Mutex(State())
    private let onDelivery: @Sendable ([Change]) throws -> Int

    init(_ onDelivery: @escaping @Sendable ([Change]) throws -> Int) { self.onDelivery = onDelivery }

    var name: String { "recording" }
    var batches: [([Change], Int)] { self.state.withLock { $0.batches } }
    var changes: [Change] { self.batches.flatMap(\.0) }
    var attempts: Int { self.state.withLock { $0.attempts } }
    var closed: Bool { self.state.withLock { $0.closed } }

    func deliver(_ changes: [Change]) async throws {
        self.state.withLock { $0.attempts += 1 }
        let value = try self.onDelivery(changes)
        self.state.withLock { $0.batches.append((changes, value)) }
    }

    func close() async throws { self.state.withLock { $0.closed = true } }
}
