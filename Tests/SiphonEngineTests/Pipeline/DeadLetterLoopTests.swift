// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonReplication
import SiphonTestSupport
import Synchronization
import Testing

@testable import SiphonEngine

/// A dead letter is parked once per failed change: never captured and parked again, never parked for a delivery that
/// was only cancelled.
@Suite struct DeadLetterLoopTests {
    let logger = Logger(label: "test")

    /// A sink that refuses everything.
    private struct RefusingSink: ChangeSink {
        let name = "refusing"
        func deliver(_ changes: [Change]) async throws { throw SiphonError(.sinkRejected, "the sink is down") }
    }

    private func deadLetters(source: String, settings: ConnectionSettings) async throws -> [[String?]] {
        try await ServerConnection.withConnection(settings: settings, replication: false, logger: self.logger) {
            try await $0.simpleQuery(DeadLetterStore.createTableSQL)
            return try await $0.simpleQuery(
                """
                SELECT schema_name, change->'new'->>'id' FROM siphon.dead_letters
                WHERE change_id LIKE '\(source)/%' ORDER BY change->'new'->>'id'
                """
            ).rows
        }
    }

    @Test func aWildcardCaptureWithAFailingSinkParksEachFailedChangeOnce() async throws {
        let settings = try ConnectionSettings(url: try TestEnvironment.url(), environment: [:])
        let schema = TestEnvironment.uniqueName("wild")
        let publication = TestEnvironment.uniqueName("pub")
        let slot = TestEnvironment.uniqueName("slot")
        _ = try await self.deadLetters(source: slot, settings: settings)
        // Every table of the application's schema and of Siphon's own, as `FOR ALL TABLES` or a `*.*` selection
        // publishes them.
        try await TestEnvironment.execute(
            "CREATE SCHEMA \(schema)", "CREATE TABLE \(schema).orders (id int PRIMARY KEY)",
            "CREATE PUBLICATION \(publication) FOR TABLES IN SCHEMA \(schema), siphon",
            "SELECT pg_create_logical_replication_slot('\(slot)', 'pgoutput')")
        let configuration = PipelineConfiguration(
            connection: settings, slot: slot, publications: [publication], statusInterval: .seconds(1),
            delivery: DeliveryPolicy(maxAttempts: 1, poisonAction: .deadLetter), heartbeatInterval: .milliseconds(200))
        let pipeline = Pipeline(configuration: configuration, sinks: [RefusingSink()], logger: self.logger)
        try await withRunningPipeline(pipeline) {
            try await TestEnvironment.execute("INSERT INTO \(schema).orders VALUES (1), (2)")
            let deadline = ContinuousClock.now + .seconds(90)
            while try await self.deadLetters(source: slot, settings: settings).count < 2 {
                try #require(ContinuousClock.now < deadline, "the failed changes were never parked")
                try await Task.sleep(for: .milliseconds(100))
            }
            // The pipeline has read past the dead letters' own inserts once it confirms a position after them.
            let parked = try await ServerConnection.withConnection(
                settings: settings, replication: false, logger: self.logger
            ) { LSN(try await $0.simpleQuery("SELECT pg_current_wal_lsn()").rows[0][0]!)! }
            while pipeline.statistics.confirmedLSN < parked {
                try #require(ContinuousClock.now < deadline, "the pipeline never confirmed past the dead letters")
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(try await self.deadLetters(source: slot, settings: settings) == [[schema, "1"], [schema, "2"]])
        try await TestEnvironment.execute(
            "SELECT pg_drop_replication_slot('\(slot)')", "DROP PUBLICATION \(publication)",
            "DROP SCHEMA \(schema) CASCADE", "DELETE FROM siphon.dead_letters WHERE change_id LIKE '\(slot)/%'")
    }

    @Test func aDeliveryCancelledWhileTheSinkFailsParksNothing() async throws {
        let settings = try ConnectionSettings(url: try TestEnvironment.url(), environment: [:])
        let source = TestEnvironment.uniqueName("cancelled")
        let sink = StallingSink()
        let delivery = Delivery(
            sinks: [sink],
            policy: DeliveryPolicy(maxAttempts: 2, backoff: Backoff(initial: .milliseconds(10)), poisonAction: .deadLetter),
            settings: settings, logger: self.logger)
        let changes = (0..<3).map { index in
            Change(
                id: .init(source: source, commitLSN: LSN(rawValue: 100), index: index), operation: .insert,
                schema: "public", table: "orders", xid: 1, commitTime: PostgresTimestamp(rawValue: 0),
                new: Row([.init(name: "id", json: "\(index)")]))
        }
        let delivering = Task { try await delivery.deliver(changes) }
        // The batch failed twice; now the sink holds the first change on its own, and the stop comes.
        await sink.firstSingleChangeArrived()
        delivering.cancel()
        await #expect(throws: CancellationError.self) { try await delivering.value }
        #expect(try await self.deadLetters(source: source, settings: settings) == [])
    }
}

/// Fails batches at once; holds a single change until its task is cancelled, then fails with an error of its own,
/// as a sink whose connection is torn down does.
private final class StallingSink: ChangeSink, Sendable {
    let name = "stalling"
    private let singles: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() { (self.singles, self.continuation) = AsyncStream.makeStream() }

    func deliver(_ changes: [Change]) async throws {
        guard changes.count == 1 else { throw SiphonError(.sinkRejected, "batch refused") }
        self.continuation.yield()
        try? await Task.sleep(for: .seconds(60))
        throw SiphonError(.sinkRejected, "connection closed")
    }

    func firstSingleChangeArrived() async {
        var iterator = self.singles.makeAsyncIterator()
        _ = await iterator.next()
    }
}
