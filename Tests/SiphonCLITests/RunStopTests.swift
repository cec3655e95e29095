// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonCore
import SiphonEngine
import SiphonSystem
import SiphonTestSupport
import Testing

/// How `siphon run` stops: at a transaction boundary whatever the sink, and on a signal however it was started.
@Suite struct RunStopTests {
    /// Transactions of 300 rows (decoded in memory, sent change by change) and of 3,000 rows (streamed before they
    /// commit: the test cluster has logical_decoding_work_mem = 64kB), `transactions` of them in turn.
    static func writeLargeTransactions(
        _ pipeline: RunDurabilityTests.Pipeline, from first: Int, transactions: Int, pause: Duration
    ) async throws -> Int {
        var next = first
        for round in 0..<transactions {
            let size = round % 4 == 3 ? 3000 : 300
            _ = try await sql(
                pipeline.url,
                "INSERT INTO public.\(pipeline.table) SELECT g, 1 FROM generate_series(\(next), \(next + size - 1)) g")
            next += size
            try await Task.sleep(for: pause)
        }
        return next - first
    }

    @Test func sigtermMidTransactionWithStdoutRepeatsNothingAfterRestart() async throws {
        let url = try TestEnvironment.url()
        let pipeline = try await RunDurabilityTests.Pipeline.make(url: url)
        let directory = try makeScratchDirectory()
        // A backlog first, so every run starts in the middle of a drain: small batches (each written and fsynced
        // on its own) make most stops land inside a transaction.
        let backlog = try await Self.writeLargeTransactions(pipeline, from: 1, transactions: 80, pause: .zero)
        var rows = backlog
        let arguments = pipeline.arguments(sink: "stdout", batchSize: 7)
        var runs = try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                try await Self.writeLargeTransactions(
                    pipeline, from: backlog + 1, transactions: 40, pause: .milliseconds(100))
            }
            var runs: [SiphonProcess] = []
            var random = SeededGenerator.forFaultInjection("sigtermMidTransaction")
            for _ in 0..<8 {
                let run = try SiphonProcess(arguments, directory: directory)
                runs.append(run)
                try await eventually("the run to stream") { run.output.contains("\n") }
                try await Task.sleep(for: .milliseconds(Int.random(in: 100...600, using: &random)))
                run.signal(SIGTERM)
                #expect(try await run.wait(timeout: .seconds(60)) == 0, "\(run.errors)")
            }
            rows += try await group.next() ?? 0
            return runs
        }
        let last = try SiphonProcess(arguments, directory: directory)
        runs.append(last)
        try await eventually(timeout: .seconds(180), "every row delivered") {
            runs.reduce(0) { $0 + $1.output.split(separator: "\n").count } >= rows
        }
        last.signal(SIGTERM)
        #expect(try await last.wait(timeout: .seconds(60)) == 0)
        let ids = try runs.flatMap { run in
            try run.output.split(separator: "\n").map { try ChangeEnvelope.decode(line: String($0)).id }
        }
        #expect(ids.count == rows, "lines across runs: \(ids.count), committed changes: \(rows)")
        #expect(Set(ids).count == ids.count, "\(ids.count - Set(ids).count) changes were written twice")
        try await pipeline.drop()
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func aStopDuringAHugeStreamedTransactionDoesNotWaitForAllOfIt() async throws {
        let url = try TestEnvironment.url()
        let pipeline = try await RunDurabilityTests.Pipeline.make(url: url)
        let directory = try makeScratchDirectory()
        let file = directory.appendingPathComponent("changes.jsonl")
        let rows = 100_000
        _ = try await sql(url, "INSERT INTO public.\(pipeline.table) SELECT g, 1 FROM generate_series(1, \(rows)) g")
        func lines() -> Int { ((try? Data(contentsOf: file)) ?? Data()).reduce(0) { $1 == 10 ? $0 + 1 : $0 } }

        let first = try SiphonProcess(pipeline.arguments(sink: "jsonl:\(file.path)", batchSize: 50), directory: directory)
        try await eventually("the transaction to start arriving") { lines() > 0 }
        first.signal(SIGTERM)
        #expect(try await first.wait(timeout: .seconds(60)) == 0, "\(first.errors)")
        #expect(lines() < rows, "the stop waited for the whole transaction")

        // Nothing of it was acknowledged: it comes again whole, and the file drops the part it holds.
        let second = try SiphonProcess(pipeline.arguments(sink: "jsonl:\(file.path)", batchSize: 1000), directory: directory)
        try await eventually(timeout: .seconds(180), "the whole transaction") { lines() == rows }
        second.signal(SIGTERM)
        #expect(try await second.wait(timeout: .seconds(60)) == 0)
        let ids = try readChanges(file, whileWriting: false).map(\.id)
        #expect(ids.count == rows && Set(ids).count == rows)
        try await pipeline.drop()
        try? FileManager.default.removeItem(at: directory)
    }

    @Test(arguments: [SIGINT, SIGTERM])
    func stopsGracefullyWhenStartedWithStopSignalsIgnored(signal: Int32) async throws {
        let url = try TestEnvironment.url()
        let pipeline = try await RunDurabilityTests.Pipeline.make(url: url)
        let directory = try makeScratchDirectory()
        let file = directory.appendingPathComponent("changes.jsonl")
        // What a non-interactive shell does for `siphon run &` (and a `trap '' TERM` before `exec` passes on).
        let run = try SiphonProcess(
            pipeline.arguments(sink: "jsonl:\(file.path)"), directory: directory,
            launcher: ["/bin/sh", "-c", #"trap '' INT QUIT TERM; exec "$0" "$@""#])
        _ = try await sql(url, "INSERT INTO public.\(pipeline.table) VALUES (1, 1)")
        try await eventually("the change") { try readChanges(file).count == 1 }
        run.signal(signal)
        #expect(try await run.wait(timeout: .seconds(30)) == 0, "\(run.errors)")
        #expect(run.errors.contains("siphon run stopped"))
        try await pipeline.drop()
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func stopsGracefullyWhenStartedWithStopSignalsBlocked() async throws {
        let url = try TestEnvironment.url()
        let pipeline = try await RunDurabilityTests.Pipeline.make(url: url)
        let directory = try makeScratchDirectory()
        let run = try SiphonProcess(
            pipeline.arguments(sink: "stdout"), directory: directory, blockedSignals: [SIGINT, SIGTERM])
        try await eventually("the run to stream") { run.errors.contains("Streaming changes") }
        run.signal(SIGTERM)
        #expect(try await run.wait(timeout: .seconds(30)) == 0, "\(run.errors)")
        #expect(run.errors.contains("siphon run stopped"))
        try await pipeline.drop()
        try? FileManager.default.removeItem(at: directory)
    }
}
