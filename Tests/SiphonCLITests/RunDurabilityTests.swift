// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonCore
import SiphonEngine
import SiphonReplication
import SiphonSystem
import SiphonTestSupport
import Testing

/// `siphon run` as a user runs it, killed and restarted, with a jsonl sink; the file is the truth.
@Suite struct RunDurabilityTests {
    struct Pipeline {
        let url: String
        let table: String
        let publication: String
        let slot: String

        /// Creates the table, publication and slot, named like `namesakes`' when given (on another cluster).
        static func make(url: String, like namesakes: Pipeline? = nil) async throws -> Pipeline {
            let pipeline = Pipeline(
                url: url, table: namesakes?.table ?? TestEnvironment.uniqueName("numbered"),
                publication: namesakes?.publication ?? TestEnvironment.uniqueName("pub"),
                slot: namesakes?.slot ?? TestEnvironment.uniqueName("slot"))
            _ = try await sql(url, "CREATE TABLE public.\(pipeline.table) (id bigint PRIMARY KEY, version int NOT NULL)")
            _ = try await sql(url, "CREATE PUBLICATION \(pipeline.publication) FOR TABLE public.\(pipeline.table)")
            _ = try await sql(url, "SELECT pg_create_logical_replication_slot('\(pipeline.slot)', 'pgoutput')")
            return pipeline
        }

        func arguments(sink: String, batchSize: Int = 50) -> [String] {
            ["run", "--url", self.url, "--slot", self.slot, "--publication", self.publication, "--sink", sink,
             "--batch-size", String(batchSize), "--log-level", "info"]
        }

        func drop() async throws {
            _ = try await sql(self.url, "SELECT pg_drop_replication_slot('\(self.slot)')")
            _ = try await sql(self.url, "DROP PUBLICATION \(self.publication)")
            _ = try await sql(self.url, "DROP TABLE public.\(self.table)")
        }
    }

    /// Inserts rows `range` in transactions of varying size, then bumps every tenth row's version.
    static func writeWorkload(
        _ pipeline: Pipeline, rows range: ClosedRange<Int>, pause: Duration = .milliseconds(5)
    ) async throws {
        var next = range.lowerBound
        var size = 1
        while next <= range.upperBound {
            let end = min(range.upperBound, next + size - 1)
            _ = try await sql(
                pipeline.url,
                "INSERT INTO public.\(pipeline.table) SELECT g, 1 FROM generate_series(\(next), \(end)) g;"
                    + "UPDATE public.\(pipeline.table) SET version = version + 1 WHERE id BETWEEN \(next) AND \(end) AND id % 10 = 0")
            next = end + 1
            size = size % 97 + 13  // 1, 14, 27, … up to a few hundred rows: many transactions larger than a batch
            try await Task.sleep(for: pause)
        }
    }

    /// Every row is in the file, in commit order, each change once, versions per key in order.
    static func checkFile(_ file: URL, rows: ClosedRange<Int>) throws {
        let changes = try readChanges(file, whileWriting: false)
        let ids = changes.map(\.id)
        #expect(Set(ids).count == ids.count, "a change appears twice in the file")
        #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 }, "changes are out of commit order")
        var versions: [String: [String]] = [:]
        for change in changes { versions[change.new?["id"] ?? "?", default: []].append(change.new?["version"] ?? "?") }
        let expected = Set(rows.map(String.init))
        #expect(Set(versions.keys) == expected, "missing rows: \(expected.subtracting(versions.keys).sorted().prefix(10))")
        for (id, seen) in versions {
            let wanted = Int(id)! % 10 == 0 ? ["1", "2"] : ["1"]
            #expect(seen == wanted, "row \(id) saw versions \(seen)")
        }
    }

    @Test func sigkillAtRandomMomentsLosesNothingAndRepeatsNothing() async throws {
        let url = try TestEnvironment.url()
        let pipeline = try await Pipeline.make(url: url)
        let directory = try makeScratchDirectory()
        let file = directory.appendingPathComponent("changes.jsonl")
        let rows = 1...6000
        var random = SeededGenerator.forFaultInjection("sigkillAtRandomMoments")
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Slow enough that the writer is still writing while most of the kills happen.
            group.addTask { try await Self.writeWorkload(pipeline, rows: rows, pause: .milliseconds(60)) }
            for round in 0..<20 {
                let process = try SiphonProcess(
                    pipeline.arguments(sink: "jsonl:\(file.path)", batchSize: [7, 50, 333][round % 3]), directory: directory)
                try await Task.sleep(for: .milliseconds(Int.random(in: 150...700, using: &random)))
                process.signal(SIGKILL)
                _ = try await process.wait(timeout: .seconds(10))
            }
            try await group.waitForAll()
        }
        let final = try SiphonProcess(pipeline.arguments(sink: "jsonl:\(file.path)"), directory: directory)
        // The file may end in a line torn by the last kill until the final run holds the slot and opens it.
        try await eventually("the final run to stream") { final.errors.contains("Streaming changes") }
        try await eventually(timeout: .seconds(120), "every row in the file") {
            try readChanges(file).count == rows.count + rows.count / 10
        }
        final.signal(SIGTERM)
        #expect(try await final.wait(timeout: .seconds(60)) == 0)
        try Self.checkFile(file, rows: rows)
        try await pipeline.drop()
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func sigtermThenRestartRepeatsNothing() async throws {
        let url = try TestEnvironment.url()
        let pipeline = try await Pipeline.make(url: url)
        let directory = try makeScratchDirectory()
        let file = directory.appendingPathComponent("changes.jsonl")
        let first = try SiphonProcess(pipeline.arguments(sink: "jsonl:\(file.path)"), directory: directory)
        try await Self.writeWorkload(pipeline, rows: 1...300)
        try await eventually("the first run to deliver everything") { try readChanges(file).count == 330 }
        first.signal(SIGTERM)
        #expect(try await first.wait(timeout: .seconds(60)) == 0)

        // A second run writing to stdout shows exactly what the slot still holds: nothing but the new row.
        let second = try SiphonProcess(pipeline.arguments(sink: "stdout"), directory: directory)
        _ = try await sql(url, "INSERT INTO public.\(pipeline.table) VALUES (100000, 1)")
        try await eventually("the new row") { second.output.contains("\"id\":100000") }
        second.signal(SIGTERM)
        #expect(try await second.wait(timeout: .seconds(60)) == 0)
        let lines = second.output.split(separator: "\n")
        #expect(lines.count == 1, "repeated after a clean stop: \(lines.count - 1) lines")
        try await pipeline.drop()
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func standbyOnTheSameFileTakesOverWhenTheLeaderDies() async throws {
        let url = try TestEnvironment.url()
        let pipeline = try await Pipeline.make(url: url)
        let directory = try makeScratchDirectory()
        let file = directory.appendingPathComponent("changes.jsonl")
        let leader = try SiphonProcess(pipeline.arguments(sink: "jsonl:\(file.path)"), directory: directory)
        _ = try await sql(url, "INSERT INTO public.\(pipeline.table) VALUES (1, 1)")
        try await eventually("the leader to stream") { try readChanges(file).count == 1 }
        let standby = try SiphonProcess(pipeline.arguments(sink: "jsonl:\(file.path)"), directory: directory)
        try await eventually("the standby to wait") { standby.errors.contains("waiting as a standby") }
        #expect(standby.child.poll() == nil, "the standby exited: \(standby.errors)")
        _ = try await sql(url, "INSERT INTO public.\(pipeline.table) VALUES (2, 1)")
        try await eventually("the leader to deliver") { try readChanges(file).count == 2 }
        leader.signal(SIGKILL)
        _ = try await leader.wait(timeout: .seconds(10))
        try await Self.writeWorkload(pipeline, rows: 3...200)
        try await eventually(timeout: .seconds(60), "the standby to take over") { try readChanges(file).count == 220 }
        standby.signal(SIGTERM)
        #expect(try await standby.wait(timeout: .seconds(60)) == 0)
        try Self.checkFile(file, rows: 1...200)
        try await pipeline.drop()
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func aSlotDroppedAndCreatedAgainIsLostChangesAndTheFileStaysAsItWas() async throws {
        let url = try TestEnvironment.url()
        let pipeline = try await Pipeline.make(url: url)
        let directory = try makeScratchDirectory()
        let file = directory.appendingPathComponent("changes.jsonl")
        let first = try SiphonProcess(pipeline.arguments(sink: "jsonl:\(file.path)"), directory: directory)
        _ = try await sql(url, "INSERT INTO public.\(pipeline.table) VALUES (1, 1)")
        try await eventually("the first run to deliver") { try readChanges(file).count == 1 }
        first.signal(SIGTERM)
        #expect(try await first.wait(timeout: .seconds(60)) == 0)
        let before = try Data(contentsOf: file)

        _ = try await sql(url, "SELECT pg_drop_replication_slot('\(pipeline.slot)')")
        _ = try await sql(url, "INSERT INTO public.\(pipeline.table) VALUES (2, 1)")  // lost with the old slot
        _ = try await sql(url, "SELECT pg_create_logical_replication_slot('\(pipeline.slot)', 'pgoutput')")
        _ = try await sql(url, "INSERT INTO public.\(pipeline.table) VALUES (3, 1)")

        let (status, _, errors) = try await SiphonProcess.run(
            pipeline.arguments(sink: "jsonl:\(file.path)"), directory: directory)
        #expect(status == 1)
        #expect(errors.contains("dropped and created again"), "\(errors)")
        #expect(errors.contains("Re-snapshot"))
        #expect(try Data(contentsOf: file) == before)
        try await pipeline.drop()
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func aTriggerModeFileRecordsItsOutboxAndRefusesAnother() async throws {
        let url = try TestEnvironment.url()
        let schema = TestEnvironment.uniqueName("trg")
        let table = TestEnvironment.uniqueName("t")
        _ = try await sql(url, "CREATE TABLE public.\(table) (id int PRIMARY KEY)")
        let directory = try makeScratchDirectory()
        let file = directory.appendingPathComponent("changes.jsonl")
        let generate = ["sql", "--url", url, "--table", "public.\(table)", "--trigger-schema", schema]
        let (_, up, _) = try await SiphonProcess.run(generate, directory: directory)
        let (_, down, _) = try await SiphonProcess.run(generate + ["--down"], directory: directory)
        _ = try await sql(url, up)
        let run = ["run", "--url", url, "--mode", "trigger", "--trigger-schema", schema, "--sink", "jsonl:\(file.path)"]
        let reader = try SiphonProcess(run, directory: directory)
        _ = try await sql(url, "INSERT INTO public.\(table) VALUES (1)")
        try await eventually("the change") { try readChanges(file).count == 1 }
        reader.signal(SIGTERM)
        #expect(try await reader.wait(timeout: .seconds(60)) == 0)
        let record = try String(contentsOf: URL(fileURLWithPath: file.path + ".siphon"), encoding: .utf8)
        #expect(record.contains("database=siphon_test\noutbox=\(schema).outbox\n"), "\(record)")
        #expect(record.contains("system_identifier="))

        // Another outbox of the same database, which exists: the file still belongs to the first one.
        let other = generate + ["--outbox", "other_outbox"]
        let (_, otherUp, _) = try await SiphonProcess.run(other, directory: directory)
        let (_, otherDown, _) = try await SiphonProcess.run(other + ["--down"], directory: directory)
        _ = try await sql(url, otherUp)
        let before = try Data(contentsOf: file)
        let (status, _, errors) = try await SiphonProcess.run(run + ["--outbox", "other_outbox"], directory: directory)
        #expect(status != 0)
        #expect(errors.contains(#"outbox "\#(schema).outbox" recorded vs "\#(schema).other_outbox" now"#), "\(errors)")
        #expect(try Data(contentsOf: file) == before)
        _ = try await sql(url, otherDown)
        _ = try await sql(url, down)
        _ = try await sql(url, "DROP TABLE public.\(table)")
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func standbyTakesOverWhenTheLeaderDies() async throws {
        let url = try TestEnvironment.url()
        let pipeline = try await Pipeline.make(url: url)
        let directory = try makeScratchDirectory()
        let leaderFile = directory.appendingPathComponent("leader.jsonl")
        let standbyFile = directory.appendingPathComponent("standby.jsonl")
        let leader = try SiphonProcess(pipeline.arguments(sink: "jsonl:\(leaderFile.path)"), directory: directory)
        _ = try await sql(url, "INSERT INTO public.\(pipeline.table) VALUES (1, 1)")
        try await eventually("the leader to stream") { try readChanges(leaderFile).count == 1 }
        let standby = try SiphonProcess(pipeline.arguments(sink: "jsonl:\(standbyFile.path)"), directory: directory)
        try await eventually("the standby to wait") { standby.errors.contains("waiting as a standby") }
        leader.signal(SIGKILL)
        _ = try await leader.wait(timeout: .seconds(10))
        _ = try await sql(url, "INSERT INTO public.\(pipeline.table) VALUES (2, 1)")
        try await eventually(timeout: .seconds(30), "the standby to take over") {
            try readChanges(standbyFile).contains { $0.new?["id"] == "2" }
        }
        standby.signal(SIGTERM)
        #expect(try await standby.wait(timeout: .seconds(60)) == 0)
        try await pipeline.drop()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Tests that restart or reconfigure the server: they get a cluster of their own and run one at a time.
@Suite(.serialized) struct RestartableClusterTests {
    @Test func serverRestartsMidStreamLoseNothing() async throws {
        let url = try TestEnvironment.value("SIPHON_TEST_RESTARTABLE_URL")
        let data = try TestEnvironment.value("SIPHON_TEST_RESTARTABLE_PG_DATA")
        let bin = try TestEnvironment.value("SIPHON_TEST_PG_BIN")
        let pipeline = try await RunDurabilityTests.Pipeline.make(url: url)
        let directory = try makeScratchDirectory()
        let file = directory.appendingPathComponent("changes.jsonl")
        let process = try SiphonProcess(pipeline.arguments(sink: "jsonl:\(file.path)"), directory: directory)
        try await RunDurabilityTests.writeWorkload(pipeline, rows: 1...200)
        for mode in ["fast", "immediate"] {
            let status = try await ChildProcess(
                ["/usr/sbin/runuser", "-u", "postgres", "--", "\(bin)/pg_ctl", "-D", data, "-m", mode, "-w", "restart"]
            ).exited()
            #expect(status == 0)
        }
        try await RunDurabilityTests.writeWorkload(pipeline, rows: 201...400)
        try await eventually(timeout: .seconds(120), "every row after the restarts") { try readChanges(file).count == 440 }
        process.signal(SIGTERM)
        #expect(try await process.wait(timeout: .seconds(60)) == 0)
        #expect(process.errors.contains("reconnecting"))
        try RunDurabilityTests.checkFile(file, rows: 1...400)
        try await pipeline.drop()
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func aFileOfOneClusterRefusesAnotherClustersSlotOfTheSameName() async throws {
        let mainURL = try TestEnvironment.url()
        let otherURL = try TestEnvironment.value("SIPHON_TEST_RESTARTABLE_URL")
        let original = try await RunDurabilityTests.Pipeline.make(url: mainURL)
        let directory = try makeScratchDirectory()
        let file = directory.appendingPathComponent("changes.jsonl")
        let first = try SiphonProcess(original.arguments(sink: "jsonl:\(file.path)"), directory: directory)
        try await RunDurabilityTests.writeWorkload(original, rows: 1...50)
        try await eventually("the first cluster's changes") { try readChanges(file).count == 55 }
        first.signal(SIGTERM)
        #expect(try await first.wait(timeout: .seconds(60)) == 0)
        let before = try Data(contentsOf: file)

        // A restore or migration: the same slot name on another cluster, at lower positions.
        let namesake = try await RunDurabilityTests.Pipeline.make(url: otherURL, like: original)
        _ = try await sql(otherURL, "INSERT INTO public.\(namesake.table) VALUES (1, 7)")
        let slotQuery = "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '\(namesake.slot)'"
        let confirmedBefore = try await sql(otherURL, slotQuery).rows
        let (status, _, errors) = try await SiphonProcess.run(
            namesake.arguments(sink: "jsonl:\(file.path)"), directory: directory)
        #expect(status != 0)
        #expect(errors.contains("holds changes of another source"), "\(errors)")
        #expect(errors.contains("system_identifier"))
        #expect(errors.contains("Write to a new file"))
        #expect(try Data(contentsOf: file) == before)
        #expect(try await sql(otherURL, slotQuery).rows == confirmedBefore, "the second slot was acknowledged")
        try await namesake.drop()
        try await original.drop()
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func ctrlCEndsTheDemoCleanly() async throws {
        let url = try TestEnvironment.value("SIPHON_TEST_RESTARTABLE_URL")
        let directory = try makeScratchDirectory()
        let demo = try SiphonProcess(["demo", "--url", url, "--pause-milliseconds", "100"], directory: directory)
        try await eventually("the demo to stream") { demo.output.contains("INSERT") }
        demo.signal(SIGINT)
        #expect(try await demo.wait(timeout: .seconds(60)) == 0, "\(demo.errors)")
        #expect(!demo.errors.contains("Error"), "\(demo.errors)")
        #expect(demo.errors.contains("siphon demo: Stopped"))
        #expect(try await demoLeftovers(url) == [["0"]])
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func invalidatedSlotIsReportedAsLostChanges() async throws {
        let url = try TestEnvironment.value("SIPHON_TEST_RESTARTABLE_URL")
        let pipeline = try await RunDurabilityTests.Pipeline.make(url: url)
        _ = try await sql(url, "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'")
        _ = try await sql(url, "SELECT pg_reload_conf()")
        // Write WAL the slot would need while nobody reads it, until the server gives up on it.
        try await eventually(timeout: .seconds(90), "the slot to be invalidated") {
            _ = try await sql(
                url,
                "INSERT INTO public.\(pipeline.table) SELECT g, 1 FROM generate_series(1, 20000) g "
                    + "ON CONFLICT (id) DO UPDATE SET version = \(pipeline.table).version + 1")
            _ = try await sql(url, "SELECT pg_switch_wal()")
            _ = try await sql(url, "CHECKPOINT")
            return try await sql(url, "SELECT wal_status FROM pg_replication_slots WHERE slot_name = '\(pipeline.slot)'").rows
                == [["lost"]]
        }
        _ = try await sql(url, "ALTER SYSTEM RESET max_slot_wal_keep_size")
        _ = try await sql(url, "SELECT pg_reload_conf()")
        let directory = try makeScratchDirectory()
        let (status, _, errors) = try await SiphonProcess.run(pipeline.arguments(sink: "stdout"), directory: directory)
        #expect(status == 1)
        #expect(errors.contains("wal_status = lost"), "\(errors)")
        #expect(errors.contains("changes were lost"))
        #expect(errors.contains("Re-snapshot"))
        try await pipeline.drop()
        try? FileManager.default.removeItem(at: directory)
    }
}
