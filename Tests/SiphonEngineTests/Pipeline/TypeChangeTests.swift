// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonEngine
import SiphonTestSupport
import Testing

/// Types that change or appear while changes wait in the slot or stream: every change still arrives, rendered as
/// `to_jsonb()` would have rendered it, and the slot moves on.
@Suite struct TypeChangeTests {
    let logger = Logger(label: "test")

    @Test(arguments: [false, true])
    func changesFromBeforeAndAfterAlterTypeAllArriveAndTheSlotAdvances(binary: Bool) async throws {
        let grown = TestEnvironment.uniqueName("grown")
        let reshaped = TestEnvironment.uniqueName("reshaped")
        try await TestEnvironment.execute(
            "CREATE TYPE public.\(grown) AS (a int, b text)", "CREATE TYPE public.\(reshaped) AS (a int, b text, c int)")
        let fixture = try await StreamFixture.make(
            columns: "id int PRIMARY KEY, x public.\(grown), y public.\(reshaped)", prefix: "alter_type")
        // All of it waits in the slot before the pipeline starts, which renders with today's catalog.
        try await TestEnvironment.execute(
            "INSERT INTO \(fixture.table) VALUES (1, ROW(1, 'one'), ROW(1, 'one', 10))",
            "ALTER TYPE public.\(grown) ADD ATTRIBUTE n int", "ALTER TYPE public.\(reshaped) DROP ATTRIBUTE b",
            "INSERT INTO \(fixture.table) VALUES (2, ROW(2, 'two', 20), ROW(2, 20))",
            "ALTER TYPE public.\(reshaped) ADD ATTRIBUTE d text",
            "INSERT INTO \(fixture.table) VALUES (3, ROW(3, 'three', 30), ROW(3, 30, 'three'))")
        var configuration = fixture.configuration()
        configuration.source.binary = binary
        let recorder = ChangeRecorder()
        let pipeline = Pipeline(configuration: configuration, sinks: [recorder], logger: self.logger)
        let last = try await withRunningPipeline(pipeline) {
            try await recorder.next(timeout: .seconds(90)) { $0.new?["id"] == "3" }
        }
        let rows = recorder.changes.compactMap { change in change.new.map { [$0["id"], $0["x"], $0["y"]] } }
        #expect(
            rows == [
                // x: the fields the record had when written. y: fields today's catalog cannot name, as its text.
                ["1", #"{"a": 1, "b": "one"}"#, #""(1,one,10)""#],
                ["2", #"{"a": 2, "b": "two", "n": 20}"#, #""(2,20)""#],
                ["3", #"{"a": 3, "b": "three", "n": 30}"#, #"{"a": 3, "c": 30, "d": "three"}"#],
            ])
        #expect(try await fixture.confirmedFlush() > last.lsn)
        try await fixture.drop()
        try await TestEnvironment.execute("DROP TYPE public.\(grown)", "DROP TYPE public.\(reshaped)")
    }

    @Test func aRegclassColumnAddedWhileStreamingBinaryRendersAsItsName() async throws {
        let fixture = try await StreamFixture.make(prefix: "regclass")
        var configuration = fixture.configuration()
        configuration.source.binary = true
        let recorder = ChangeRecorder()
        let pipeline = Pipeline(configuration: configuration, sinks: [recorder], logger: self.logger)
        try await withRunningPipeline(pipeline) {
            try await TestEnvironment.execute("INSERT INTO \(fixture.table) VALUES (1, 'before')")
            _ = try await recorder.next(timeout: .seconds(90)) { $0.new?["id"] == "1" }
            try await TestEnvironment.execute(
                "ALTER TABLE \(fixture.table) ADD COLUMN r regclass",
                "INSERT INTO \(fixture.table) VALUES (2, 'after', 'pg_class')")
            _ = try await recorder.next(timeout: .seconds(90)) { $0.new?["id"] == "2" }
        }
        let after = recorder.changes.filter { $0.new?["id"] == "2" }
        #expect(after.map { $0.new?["r"] } == [#""pg_class""#])
        try await fixture.drop()
    }

    @Test(arguments: [false, true])
    func aDomainCreatedInsideAStreamedTransactionRendersAsItsBaseType(binary: Bool) async throws {
        let fixture = try await StreamFixture.make(prefix: "new_domain")
        let domain = TestEnvironment.uniqueName("amount")
        var configuration = fixture.configuration(batch: 1000)
        configuration.source.binary = binary
        let recorder = ChangeRecorder()
        let pipeline = Pipeline(configuration: configuration, sinks: [recorder], logger: self.logger)
        try await withRunningPipeline(pipeline) {
            // Far larger than logical_decoding_work_mem (64kB in the test cluster): streamed before it commits. It stays
            // open while the pipeline reads the stream, so the domain is invisible to any other session meanwhile.
            try await fixture.simpleQuery(
                """
                BEGIN;
                CREATE DOMAIN public.\(domain) AS int;
                ALTER TABLE \(fixture.table) ADD COLUMN amount public.\(domain);
                INSERT INTO \(fixture.table) SELECT g, repeat('x', 50), 5 FROM generate_series(1, 3000) g;
                SELECT pg_sleep(3);
                COMMIT;
                """)
            // After the commit the stream restarts and the server decodes everything since the slot's restart point
            // again, which on a loaded machine takes longer than reading it once.
            _ = try await recorder.next(timeout: .seconds(300)) { $0.new?["id"] == "3000" }
        }
        let changes = recorder.changes
        #expect(changes.count == 3000)
        #expect(Set(changes.compactMap { $0.new?["amount"] }) == ["5"])
        #expect(changes.map(\.id.index) == Array(0..<3000))
        try await fixture.drop()
        try await TestEnvironment.execute("DROP DOMAIN public.\(domain)")
    }
}
