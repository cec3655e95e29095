// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonEngine
import SiphonReplication
import SiphonTestSupport
import Testing

/// Streamed transactions larger than the pipeline's memory limit for held changes, through the real server.
@Suite struct SpillingPipelineTests {
    let logger = Logger(label: "test")

    @Test func transactionLargerThanTheMemoryLimitArrivesInOrderExactlyOnce() async throws {
        let fixture = try await StreamFixture.make(prefix: "spill")
        let recorder = ChangeRecorder()
        let pipeline = Pipeline(configuration: fixture.configuration(batch: 1000), sinks: [recorder], logger: self.logger)
        // The kept rows' JSON alone is more than the default memory limit, so most of them go through a file.
        let kept = Array(1...15_000) + Array(20_001...35_000)
        let note = String(repeating: "x", count: 1_200)
        #expect(kept.count * note.utf8.count > SpillingChangeStore.defaultMemoryLimit)
        try await withRunningPipeline(pipeline) {
            try await ServerConnection.withConnection(
                settings: fixture.settings, replication: false, logger: self.logger
            ) { large in
                _ = try await large.simpleQuery(
                    """
                    BEGIN;
                    INSERT INTO \(fixture.table) SELECT g, '\(note)' FROM generate_series(1, 15000) g;
                    SAVEPOINT s;
                    INSERT INTO \(fixture.table) SELECT g, 'rolled back' FROM generate_series(15001, 20000) g;
                    ROLLBACK TO SAVEPOINT s;
                    """)
                // While it is open, a small transaction commits and another streamed one rolls back.
                try await fixture.simpleQuery("INSERT INTO \(fixture.table) VALUES (100000, 'small')")
                try await fixture.simpleQuery(
                    """
                    BEGIN;
                    INSERT INTO \(fixture.table) SELECT g, '\(note)' FROM generate_series(200001, 210000) g;
                    ROLLBACK;
                    """)
                _ = try await large.simpleQuery(
                    """
                    INSERT INTO \(fixture.table) SELECT g, '\(note)' FROM generate_series(20001, 35000) g;
                    COMMIT;
                    """)
            }
            _ = try await recorder.next(timeout: .seconds(120)) { $0.new?["id"] == "35000" }
        }
        let changes = recorder.changes
        #expect(changes.first?.new?["id"] == "100000")
        let large = changes.dropFirst()
        #expect(large.map { Int($0.new?["id"] ?? "") } == kept)
        #expect(large.map(\.id.index) == Array(0..<kept.count))
        #expect(Set(large.map(\.id.commitLSN)).count == 1)
        #expect(large.allSatisfy { $0.new?["note"] == "\"\(note)\"" })
        try await fixture.drop()
    }
}
