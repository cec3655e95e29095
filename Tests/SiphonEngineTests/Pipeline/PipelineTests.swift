// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import Logging
import SiphonCore
import SiphonEngine
import SiphonReplication
import SiphonTestSupport
import Synchronization
import Testing

/// A table, publication and slot made for one test and dropped after it.
struct StreamFixture {
    let table: String
    let publication: String
    let slot: String
    let settings: ConnectionSettings

    static func make(columns: String = "id int PRIMARY KEY, note text", prefix: String = "pipe") async throws -> StreamFixture {
        let fixture = StreamFixture(
            table: TestEnvironment.uniqueName(prefix), publication: TestEnvironment.uniqueName("pub"),
            slot: TestEnvironment.uniqueName("slot"),
            settings: try ConnectionSettings(url: try TestEnvironment.url(), environment: [:]))
        try await TestEnvironment.execute(
            "CREATE TABLE public.\(fixture.table) (\(columns))",
            "CREATE PUBLICATION \(fixture.publication) FOR TABLE \(fixture.table)",
            "SELECT pg_create_logical_replication_slot('\(fixture.slot)', 'pgoutput')")
        return fixture
    }

    func configuration(
        batch: Int = 100, delivery: DeliveryPolicy = DeliveryPolicy(), filter: ChangeFilter = ChangeFilter()
    ) -> PipelineConfiguration {
        PipelineConfiguration(
            connection: self.settings, slot: self.slot, publications: [self.publication], filter: filter,
            maxBatchSize: batch, statusInterval: .seconds(1), delivery: delivery)
    }

    func confirmedFlush() async throws -> LSN {
        let result = try await ServerConnection.withConnection(
            settings: self.settings, replication: false, logger: Logger(label: "test")
        ) {
            try await $0.simpleQuery("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '\(self.slot)'")
        }
        return LSN(result.rows[0][0]!)!
    }

    /// Runs statements through the simple query protocol (several per call, explicit transactions allowed).
    func simpleQuery(_ statements: String) async throws {
        try await ServerConnection.withConnection(settings: self.settings, replication: false, logger: Logger(label: "test")) {
            try await $0.simpleQuery(statements)
        }
    }

    func drop() async throws {
        try await TestEnvironment.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '\(self.slot)'",
            "DROP PUBLICATION IF EXISTS \(self.publication)", "DROP TABLE IF EXISTS \(self.table)",
            // The dead-letter table appears with the first dead letter, which a test running alongside may not have
            // parked yet.
            """
            DO $$ BEGIN
                IF to_regclass('siphon.dead_letters') IS NOT NULL THEN
                    DELETE FROM siphon.dead_letters WHERE change_id LIKE '\(self.slot)/%';
                END IF;
            END $$
            """)
    }
}

/// Runs `pipeline` in the background while `body` runs, then stops it and waits for it.
func withRunningPipeline<Result: Sendable>(
    _ pipeline: Pipeline, _ body: () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await pipeline.run() }
        let result: Result
        do {
            result = try await body()
        } catch {
            pipeline.stop()
            try? await group.waitForAll()
            throw error
        }
        pipeline.stop()
        try await group.waitForAll()
        return result
    }
}

@Suite struct PipelineTests {
    let logger = Logger(label: "test")

    @Test func deliversEveryOperationInCommitOrderAndConfirmsAfterDelivery() async throws {
        // Tests running at once may create it too: the loser of that race gets a unique violation.
        try await TestEnvironment.execute(
            """
            DO $$ BEGIN CREATE SCHEMA IF NOT EXISTS siphon;
            EXCEPTION WHEN unique_violation OR duplicate_schema THEN NULL; END $$
            """)
        let fixture = try await StreamFixture.make()
        let recorder = ChangeRecorder()
        let pipeline = Pipeline(configuration: fixture.configuration(), sinks: [recorder], logger: self.logger)
        let before = try await fixture.confirmedFlush()
        try await withRunningPipeline(pipeline) {
            try await TestEnvironment.execute(
                "INSERT INTO \(fixture.table) VALUES (1, 'one'), (2, 'two')",
                "UPDATE \(fixture.table) SET note = 'uno' WHERE id = 1",
                "DELETE FROM \(fixture.table) WHERE id = 2",
                "TRUNCATE \(fixture.table)")
            _ = try await recorder.next(timeout: .seconds(90)) { $0.operation == .truncate }
        }
        let changes = recorder.changes
        #expect(changes.map(\.operation) == [.insert, .insert, .update, .delete, .truncate])
        #expect(changes[0].new == Row([.init(name: "id", json: "1"), .init(name: "note", json: "\"one\"")]))
        #expect(changes[2].new?["note"] == "\"uno\"")
        #expect(changes[3].old == Row([.init(name: "id", json: "2")]))
        #expect(changes.map(\.id.index) == [0, 1, 0, 0, 0])
        #expect(zip(changes, changes.dropFirst()).allSatisfy { $0.id < $1.id })
        #expect(changes.allSatisfy { $0.table == fixture.table && $0.schema == "public" }, "\(changes.map { "\($0.schema).\($0.table)" })")
        // The slot moved past everything delivered.
        #expect(try await fixture.confirmedFlush() > changes.last!.lsn)
        #expect(try await fixture.confirmedFlush() > before)
        try await fixture.drop()
    }

    @Test func aSlotStillBeingCreatedIsWaitedForAsAStandby() async throws {
        let table = TestEnvironment.uniqueName("creating")
        let publication = TestEnvironment.uniqueName("pub")
        let slot = TestEnvironment.uniqueName("slot")
        let settings = try ConnectionSettings(url: try TestEnvironment.url(), environment: [:])
        try await TestEnvironment.execute(
            "CREATE TABLE public.\(table) (id int PRIMARY KEY)", "CREATE PUBLICATION \(publication) FOR TABLE \(table)")
        let recorder = ChangeRecorder()
        let pipeline = Pipeline(
            configuration: PipelineConfiguration(
                connection: settings, slot: slot, publications: [publication], statusInterval: .seconds(1)),
            sinks: [recorder], logger: self.logger)
        // A transaction that stays open keeps the slot's creation waiting, and the slot listed without a position.
        try await ServerConnection.withConnection(settings: settings, replication: false, logger: self.logger) {
            blocker in
            try await blocker.simpleQuery("BEGIN; SELECT txid_current()")
            let creation = Task {
                try await TestEnvironment.execute("SELECT pg_create_logical_replication_slot('\(slot)', 'pgoutput')")
            }
            try await withRunningPipeline(pipeline) {
                while try await !self.slotListedWithoutPosition(slot, settings: settings) {
                    try await Task.sleep(for: .milliseconds(50))
                }
                try await Task.sleep(for: .seconds(2))
                #expect(recorder.changes.isEmpty)
                // The creation ends once the transaction does and the server logs which transactions run.
                try await blocker.simpleQuery("COMMIT; CHECKPOINT")
                try await creation.value
                try await TestEnvironment.execute("INSERT INTO \(table) VALUES (1)")
                _ = try await recorder.next(timeout: .seconds(120)) { $0.table == table }
            }
        }
        #expect(recorder.changes.map(\.operation) == [.insert])
        try await TestEnvironment.execute(
            "SELECT pg_drop_replication_slot('\(slot)')", "DROP PUBLICATION \(publication)", "DROP TABLE \(table)")
    }

    func slotListedWithoutPosition(_ slot: String, settings: ConnectionSettings) async throws -> Bool {
        try await ServerConnection.withConnection(settings: settings, replication: false, logger: self.logger) {
            try await $0.simpleQuery(
                "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '\(slot)' AND confirmed_flush_lsn IS NULL")
        }.rows.first?.first == "1"
    }

    @Test func typedHandlersDecodeRowsIntoCodableStructs() async throws {
        struct Account: Decodable, Sendable, Equatable {
            var id: Int
            var email: String
            var balance: Decimal
            var createdAt: Date
            var tags: [String]

            enum CodingKeys: String, CodingKey {
                case id, email, balance, tags
                case createdAt = "created_at"
            }
        }
        let fixture = try await StreamFixture.make(
            columns: "id int PRIMARY KEY, email text NOT NULL, balance numeric, created_at timestamptz, tags text[]")
        try await TestEnvironment.execute("ALTER TABLE \(fixture.table) REPLICA IDENTITY FULL")
        let events = Mutex<[String]>([])
        var handlers = ChangeHandlers()
        try handlers.on(fixture.table, as: Account.self) { event in
            let line =
                switch event {
                case .insert(let account): "insert \(account.email) \(account.balance) \(account.tags)"
                case .update(let old, let new): "update \(old?.email ?? "?") -> \(new.email)"
                case .delete(let old, _): "delete \(old?.id ?? -1)"
                case .truncate: "truncate"
                case .read(let account): "read \(account.email)"
                }
            events.withLock { $0.append(line) }
        }
        let recorder = ChangeRecorder()
        let pipeline = Pipeline(
            configuration: fixture.configuration(), sinks: [HandlerSink(handlers), recorder], logger: self.logger)
        try await withRunningPipeline(pipeline) {
            try await TestEnvironment.execute(
                "INSERT INTO \(fixture.table) VALUES (7, 'a@example.com', 12.50, '2026-11-21 23:00:00.5+00', '{x,y}')",
                "UPDATE \(fixture.table) SET email = 'b@example.com' WHERE id = 7",
                "DELETE FROM \(fixture.table) WHERE id = 7")
            _ = try await recorder.next(timeout: .seconds(90)) { $0.operation == .delete }
        }
        #expect(events.withLock { $0 } == ["insert a@example.com 12.5 [\"x\", \"y\"]", "update a@example.com -> b@example.com", "delete 7"])
        // REPLICA IDENTITY FULL sends every column as key; `key` is still the primary key.
        #expect(recorder.changes.allSatisfy { $0.key == Row([.init(name: "id", json: "7")]) })
        try await fixture.drop()
    }

    @Test func decodingErrorsNameTableColumnAndValue() throws {
        struct Strict: Decodable { var id: Int; var note: Int }
        let change = Change(
            id: .init(source: "s", commitLSN: LSN(rawValue: 1), index: 0), operation: .insert, schema: "public",
            table: "things", xid: 1, commitTime: PostgresTimestamp(rawValue: 0),
            new: Row([.init(name: "id", json: "1"), .init(name: "note", json: "\"hello\"")]))
        do {
            _ = try TableChange<Strict>(change)
            Issue.record("decoding must fail")
        } catch let error as SiphonError {
            #expect(error.code == .decodingFailed)
            #expect(error.message.contains("public.things"))
            #expect(error.message.contains("column \"note\" holds \"hello\""))
        }
    }

    @Test func filtersTablesOperationsAndColumnsButStillAdvancesTheSlot() async throws {
        let fixture = try await StreamFixture.make(columns: "id int PRIMARY KEY, note text, secret text")
        let recorder = ChangeRecorder()
        let filter = ChangeFilter(operations: [.insert], columns: ["note"])
        let pipeline = Pipeline(configuration: fixture.configuration(filter: filter), sinks: [recorder], logger: self.logger)
        try await withRunningPipeline(pipeline) {
            try await TestEnvironment.execute(
                "INSERT INTO \(fixture.table) VALUES (1, 'a', 's1')", "UPDATE \(fixture.table) SET note = 'b'",
                "INSERT INTO \(fixture.table) VALUES (2, 'c', 's2')")
            _ = try await recorder.next(timeout: .seconds(90)) { $0.new?["id"] == "2" }
        }
        #expect(recorder.changes.map(\.operation) == [.insert, .insert])
        #expect(recorder.changes.allSatisfy { $0.new?.names == ["id", "note"] })
        #expect(pipeline.statistics.changesFiltered == 1)
        try await fixture.drop()
    }

    @Test func failingHandlerIsRetriedThenDeadLetteredAndTheStreamGoesOn() async throws {
        let fixture = try await StreamFixture.make()
        let attempts = Mutex(0)
        var handlers = ChangeHandlers()
        handlers.onChange { change in
            if change.new?["note"] == "\"poison\"" {
                attempts.withLock { $0 += 1 }
                throw SiphonError(.sinkRejected, "cannot handle poison")
            }
        }
        let recorder = ChangeRecorder()
        let policy = DeliveryPolicy(maxAttempts: 3, backoff: Backoff(initial: .milliseconds(10)), poisonAction: .deadLetter)
        let pipeline = Pipeline(
            configuration: fixture.configuration(delivery: policy), sinks: [HandlerSink(handlers), recorder],
            logger: self.logger)
        try await withRunningPipeline(pipeline) {
            try await TestEnvironment.execute(
                "INSERT INTO \(fixture.table) VALUES (1, 'fine'), (2, 'poison'), (3, 'fine too')")
            _ = try await recorder.next(timeout: .seconds(90)) { $0.new?["id"] == "3" }
        }
        #expect(pipeline.statistics.deadLetters == 1)
        // 3 tries for the batch, then 3 for the change on its own.
        #expect(attempts.withLock { $0 } == 6)
        let parked = try await ServerConnection.withConnection(
            settings: fixture.settings, replication: false, logger: self.logger
        ) {
            try await $0.simpleQuery(
                "SELECT change->'new'->>'note', error, attempts FROM siphon.dead_letters WHERE change_id LIKE '\(fixture.slot)/%'")
        }
        #expect(parked.rows == [["poison", "cannot handle poison", "3"]])
        try await fixture.drop()
    }

    @Test func failingHandlerUnderStopPolicyStopsWithoutAcknowledging() async throws {
        let fixture = try await StreamFixture.make()
        var handlers = ChangeHandlers()
        handlers.onChange { _ in throw SiphonError(.sinkRejected, "always down") }
        let policy = DeliveryPolicy(maxAttempts: 2, backoff: Backoff(initial: .milliseconds(10)), poisonAction: .stop)
        let failing = Pipeline(
            configuration: fixture.configuration(delivery: policy), sinks: [HandlerSink(handlers)], logger: self.logger)
        try await TestEnvironment.execute("INSERT INTO \(fixture.table) VALUES (1, 'x')")
        let error = await #expect(throws: SiphonError.self) { try await failing.run() }
        #expect(error?.message == "always down")
        // Other tests' transactions may let the slot advance up to ours, never past it: a working sink gets the row.
        let recorder = ChangeRecorder()
        let working = Pipeline(configuration: fixture.configuration(), sinks: [recorder], logger: self.logger)
        let change = try await withRunningPipeline(working) { try await recorder.next(timeout: .seconds(90)) }
        #expect(change.new?["id"] == "1")
        try await fixture.drop()
    }

    @Test func largeTransactionsStreamThroughAndAbortedOnesDeliverNothing() async throws {
        let fixture = try await StreamFixture.make()
        let recorder = ChangeRecorder()
        let pipeline = Pipeline(configuration: fixture.configuration(batch: 1000), sinks: [recorder], logger: self.logger)
        try await withRunningPipeline(pipeline) {
            // Each is far larger than logical_decoding_work_mem (64kB in the test cluster): protocol 2 streams them.
            try await fixture.simpleQuery(
                "BEGIN; INSERT INTO \(fixture.table) SELECT g, repeat('x', 50) FROM generate_series(1, 5000) g; ROLLBACK;")
            try await fixture.simpleQuery(
                """
                BEGIN;
                INSERT INTO \(fixture.table) SELECT g, 'kept' FROM generate_series(1, 8000) g;
                SAVEPOINT s;
                INSERT INTO \(fixture.table) SELECT g, 'rolled back' FROM generate_series(8001, 12000) g;
                ROLLBACK TO SAVEPOINT s;
                INSERT INTO \(fixture.table) VALUES (20000, 'last');
                COMMIT;
                """)
            _ = try await recorder.next(timeout: .seconds(90)) { $0.new?["id"] == "20000" }
        }
        let changes = recorder.changes
        #expect(changes.count == 8001)
        #expect(changes.allSatisfy { $0.new?["note"] != "\"rolled back\"" })
        #expect(changes.map(\.id.index) == Array(0..<8001))
        #expect(Set(changes.map(\.id.commitLSN)).count == 1)
        try await fixture.drop()
    }

    @Test func heartbeatsAdvanceASlotWhoseTablesSeeNoWrites() async throws {
        let fixture = try await StreamFixture.make()
        let other = TestEnvironment.uniqueName("unpublished")
        try await TestEnvironment.execute("CREATE TABLE public.\(other) (id int PRIMARY KEY)")
        var configuration = fixture.configuration()
        configuration.source.heartbeatInterval = .milliseconds(500)
        let pipeline = Pipeline(configuration: configuration, sinks: [ChangeRecorder()], logger: self.logger)
        let target = try await withRunningPipeline(pipeline) {
            try await TestEnvironment.execute("INSERT INTO public.\(other) SELECT generate_series(1, 1000)")
            let written = try await ServerConnection.withConnection(
                settings: fixture.settings, replication: false, logger: self.logger
            ) { LSN(try await $0.simpleQuery("SELECT pg_current_wal_lsn()").rows[0][0]!)! }
            let deadline = ContinuousClock.now + .seconds(120)
            while try await fixture.confirmedFlush() < written, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            return written
        }
        #expect(try await fixture.confirmedFlush() >= target)
        try await TestEnvironment.execute("DROP TABLE public.\(other)")
        try await fixture.drop()
    }

    @Test func missingSlotSaysChangesMayBeLostAndHowToRecover() async throws {
        let settings = try ConnectionSettings(url: try TestEnvironment.url(), environment: [:])
        let pipeline = Pipeline(
            configuration: PipelineConfiguration(connection: settings, slot: "no_such_slot", publications: ["x"]),
            sinks: [ChangeRecorder()], logger: self.logger)
        let error = await #expect(throws: SiphonError.self) { try await pipeline.run() }
        #expect(error?.code == .slotUnavailable)
        #expect(error?.message.contains("changes made since then are lost") == true)
        #expect(error?.message.contains("siphon setup") == true)
    }

    @Test func stopDuringAReconnectDelayEndsTheRunAtOnce() async throws {
        // Nothing listens on port 1: every attempt fails and is followed by a one-hour delay. The bound below only
        // tells "returned at once" from "waited out the delay"; a loaded machine cannot make the first look like the
        // second.
        let settings = try ConnectionSettings(url: "postgres://siphon@127.0.0.1:1/none", environment: [:])
        let pipeline = Pipeline(
            configuration: PipelineConfiguration(
                connection: settings, slot: "unreachable", publications: ["x"],
                reconnectBackoff: Backoff(initial: .seconds(3600), maximum: .seconds(3600))),
            sinks: [ChangeRecorder()], logger: self.logger)
        let run = Task { try await pipeline.run() }
        let deadline = ContinuousClock.now + .seconds(30)
        while pipeline.statistics.reconnects == 0 {
            try #require(ContinuousClock.now < deadline, "the first connection attempt never failed")
            try await Task.sleep(for: .milliseconds(20))
        }
        let stopped = ContinuousClock.now
        pipeline.stop()
        try await run.value
        #expect(ContinuousClock.now - stopped < .seconds(600), "stop waited out the reconnect delay")
    }
}
