// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonCore
import SiphonTestSupport
import Testing

/// Snapshots through the command line: `siphon run --snapshot` killed and restarted, and `siphon snapshot` asking a
/// running `siphon run` for a backfill.
@Suite struct SnapshotCommandTests {
    typealias Pipeline = RunDurabilityTests.Pipeline

    /// Applies every change of the file in order; returns `id → version`, as a consumer would hold them.
    static func replay(_ file: URL) throws -> [String: String] {
        var rows: [String: String] = [:]
        for change in try readChanges(file, whileWriting: false) {
            switch change.operation {
            case .insert, .update, .read: rows[change.new?["id"] ?? "?"] = change.new?["version"] ?? "?"
            case .delete: rows[change.key["id"] ?? "?"] = nil
            case .truncate: rows.removeAll()
            }
        }
        return rows
    }

    static func table(_ pipeline: Pipeline) async throws -> [String: String] {
        let rows = try await sql(pipeline.url, "SELECT id, version FROM public.\(pipeline.table)").rows
        return Dictionary(uniqueKeysWithValues: rows.map { ($0[0] ?? "", $0[1] ?? "") })
    }

    /// Makes the rows in the table predate the slot, as when Siphon is added to a database that has data: the stream
    /// then carries none of them.
    static func recreateSlot(_ pipeline: Pipeline) async throws {
        _ = try await sql(pipeline.url, "SELECT pg_drop_replication_slot('\(pipeline.slot)')")
        _ = try await sql(pipeline.url, "SELECT pg_create_logical_replication_slot('\(pipeline.slot)', 'pgoutput')")
    }

    static func snapshotState(_ pipeline: Pipeline) async throws -> String? {
        try await Self.snapshotProgress(pipeline)?.state
    }

    /// The snapshot's state and rows done, from `siphon.snapshots`.
    static func snapshotProgress(_ pipeline: Pipeline) async throws -> (state: String, rowsDone: Int)? {
        // A statement naming a table that does not exist fails as a whole: ask whether it exists first.
        guard try await sql(pipeline.url, "SELECT to_regclass('siphon.snapshots') IS NOT NULL").rows == [["t"]] else {
            return nil
        }
        let row = try await sql(
            pipeline.url, "SELECT state, rows_done FROM siphon.snapshots WHERE slot = '\(pipeline.slot)'"
        ).rows.first
        return row.map { ($0[0] ?? "", Int($0[1] ?? "") ?? 0) }
    }

    @Test func sigkillDuringAnInitialSnapshotResumesAtTheLastChunkAndEndsExact() async throws {
        let url = try TestEnvironment.url()
        let pipeline = try await Pipeline.make(url: url)
        let existing = 100_000
        // Small chunks make the snapshot long (about a thousand round trips), so kills land in it even when a loaded
        // machine runs this test slowly.
        let chunk = 100
        _ = try await sql(url, "INSERT INTO public.\(pipeline.table) SELECT g, 1 FROM generate_series(1, \(existing)) g")
        try await Self.recreateSlot(pipeline)
        let directory = try makeScratchDirectory()
        let file = directory.appendingPathComponent("changes.jsonl")
        let arguments = pipeline.arguments(sink: "jsonl:\(file.path)", batchSize: 333) + [
            "--snapshot", "--snapshot-chunk-size", String(chunk),
        ]
        var random = SeededGenerator.forFaultInjection("sigkillDuringAnInitialSnapshot")
        let kills = 8
        var resumed = 0
        var rowsDoneAtLastKill = 0
        try await withThrowingTaskGroup(of: Void.self) { group in
            // New rows and updates of old ones while the snapshot runs and dies.
            group.addTask {
                try await RunDurabilityTests.writeWorkload(
                    pipeline, rows: (existing + 1)...(existing + 3_000), pause: .milliseconds(40))
            }
            group.addTask {
                var random = SeededGenerator.forFaultInjection("sigkillDuringAnInitialSnapshot updates")
                for _ in 0..<300 {
                    let id = Int.random(in: 1...existing, using: &random)
                    _ = try await sql(url, "UPDATE public.\(pipeline.table) SET version = version + 1 WHERE id = \(id)")
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            for _ in 0..<kills {
                let process = try SiphonProcess(arguments, directory: directory)
                // Killed at a seeded moment after it recorded progress of its own (or found the snapshot done).
                try await eventually(timeout: .seconds(60), "the run to move the snapshot on") {
                    guard let progress = try await Self.snapshotProgress(pipeline) else { return false }
                    return progress.state == "done" || progress.rowsDone > rowsDoneAtLastKill
                }
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...150, using: &random)))
                process.signal(SIGKILL)
                _ = try await process.wait(timeout: .seconds(10))
                if process.errors.contains("Snapshot resumed") { resumed += 1 }
                rowsDoneAtLastKill = try await Self.snapshotProgress(pipeline)?.rowsDone ?? 0
            }
            try await group.waitForAll()
        }
        let final = try SiphonProcess(arguments, directory: directory)
        try await eventually(timeout: .seconds(180), "the snapshot to finish") {
            try await Self.snapshotState(pipeline) == "done"
        }
        let expected = try await Self.table(pipeline)
        try await eventually(timeout: .seconds(120), "the file to hold the table") {
            (try? Self.replay(file)) == expected
        }
        final.signal(SIGTERM)
        #expect(try await final.wait(timeout: .seconds(60)) == 0, "\(final.errors)")
        #expect(try Self.replay(file) == expected)
        let reads = try readChanges(file, whileWriting: false).filter { $0.operation == .read }.count
        // Each kill repeats at most the chunks in flight (two, read ahead) and one acknowledged but not yet recorded,
        // never the table.
        #expect(resumed > 0, "no run was killed mid-snapshot and resumed it")
        #expect(reads >= existing)
        #expect(reads <= existing + 3_000 + 3 * chunk * kills, "\(reads) reads")
        print("sigkillDuringAnInitialSnapshot: \(reads) reads for \(existing) rows, \(resumed) runs resumed")
        try await pipeline.drop()
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func aBackfillOfARunningPipelineShowsProgressAndDeliversTheRows() async throws {
        let url = try TestEnvironment.url()
        let pipeline = try await Pipeline.make(url: url)
        _ = try await sql(url, "INSERT INTO public.\(pipeline.table) SELECT g, 7 FROM generate_series(1, 2500) g")
        try await Self.recreateSlot(pipeline)
        let directory = try makeScratchDirectory()
        let file = directory.appendingPathComponent("changes.jsonl")
        let run = try SiphonProcess(pipeline.arguments(sink: "jsonl:\(file.path)"), directory: directory)
        try await eventually("the run to stream") { run.errors.contains("Streaming changes") }
        #expect(try readChanges(file).isEmpty, "without --snapshot, existing rows are not delivered")
        let (status, _, errors) = try await SiphonProcess.run(
            ["snapshot", "--url", url, "--slot", pipeline.slot, "--publication", pipeline.publication,
             "--table", "public.\(pipeline.table)"], directory: directory)
        #expect(status == 0, "\(errors)")
        #expect(errors.contains("done: 2500 rows"), "\(errors)")
        try await eventually("the reads in the file") {
            try readChanges(file).filter { $0.operation == .read }.count == 2500
        }
        #expect(try Self.replay(file) == (try await Self.table(pipeline)))
        // The doctor reports it too.
        let (_, report, _) = try await SiphonProcess.run(
            ["doctor", "--url", url, "--slot", pipeline.slot, "--publication", pipeline.publication,
             "--table", "public.\(pipeline.table)"], directory: directory)
        #expect(report.contains("public.\(pipeline.table) was snapshotted (2500"), "\(report)")
        run.signal(SIGTERM)
        #expect(try await run.wait(timeout: .seconds(60)) == 0)
        try await pipeline.drop()
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func aTableWithoutAPrimaryKeyIsRefusedWithTheFix() async throws {
        let url = try TestEnvironment.url()
        let table = TestEnvironment.uniqueName("nokey")
        let publication = TestEnvironment.uniqueName("pub")
        _ = try await sql(url, "CREATE TABLE public.\(table) (id int, note text)")
        _ = try await sql(url, "CREATE PUBLICATION \(publication) FOR TABLE public.\(table)")
        let directory = try makeScratchDirectory()
        let arguments = ["snapshot", "--url", url, "--publication", publication, "--table", table, "--no-wait"]
        let slot = TestEnvironment.uniqueName("slot")
        let (noSlot, _, noSlotErrors) = try await SiphonProcess.run(arguments + ["--slot", slot], directory: directory)
        #expect(noSlot != 0)
        #expect(noSlotErrors.contains("replication slot \(slot) does not exist"), "\(noSlotErrors)")
        _ = try await sql(url, "SELECT pg_create_logical_replication_slot('\(slot)', 'pgoutput')")
        let (status, _, errors) = try await SiphonProcess.run(arguments + ["--slot", slot], directory: directory)
        #expect(status != 0)
        #expect(errors.contains("has no primary key"), "\(errors)")
        #expect(errors.contains("ALTER TABLE public.\(table) ADD PRIMARY KEY"), "\(errors)")
        _ = try await sql(url, "SELECT pg_drop_replication_slot('\(slot)')")
        _ = try await sql(url, "DROP PUBLICATION \(publication)")
        _ = try await sql(url, "DROP TABLE public.\(table)")
    }
}
