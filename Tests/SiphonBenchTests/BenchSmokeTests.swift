// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonSystem
import Testing

/// `scripts/bench --smoke` end to end, so the benchmark harness never rots: a throwaway cluster, tiny workloads,
/// every contender that is installed, the report written. The figures themselves are not judged here.
@Suite("Benchmark harness")
struct BenchSmokeTests {
    @Test("scripts/bench --smoke runs every workload, and Siphon delivers every change of each")
    func smokeRun() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let output = FileManager.default.temporaryDirectory.appendingPathComponent(
            "siphon-bench-smoke-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: output) }
        let log = output.appendingPathComponent("bench.log")
        // The harness starts its own cluster; nothing from the test environment may point it elsewhere.
        let environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("PG") && !$0.key.hasPrefix("SIPHON_")
        }
        // Over a minute of work: waited for without holding one of the cooperative pool's threads meanwhile.
        let status = try await ChildProcess(
            [
                "/bin/bash", root.appendingPathComponent("scripts/bench").path, "--smoke", "--siphon",
                try Self.siphonBinary().path, "--output", output.path,
            ],
            standardOutput: log.path, environment: environment
        ).exited()
        let transcript = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        try #require(status == 0, "scripts/bench --smoke exited with \(status):\n\(transcript.suffix(4000))")

        let data = try Data(contentsOf: output.appendingPathComponent("results.json"))
        let results = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let workloads = try #require(results["workloads"] as? [[String: Any]])
        #expect(workloads.compactMap { $0["key"] as? String } == ["batch", "single", "mixed", "wide", "large"])
        for workload in workloads {
            let key = workload["key"] as? String ?? "?"
            let measured = try Self.results(workload)
            for contender in ["pg_recvlogical", "siphon", "siphon-binary"] {
                #expect(measured[contender]?["status"] as? String == "ok", "\(contender) on \(key)")
            }
            for contender in ["siphon", "siphon-binary"] {
                #expect(
                    measured[contender]?["changes_seen"] as? Int == workload["changes"] as? Int,
                    "\(contender) on \(key) delivered \(measured[contender]?["changes_seen"] ?? "nothing")")
            }
        }
        let latency = try #require((results["latency"] as? [[String: Any]])?.first)
        let measured = try Self.results(latency)
        #expect(measured["siphon"]?["status"] as? String == "ok")
        #expect((measured["siphon"]?["changes"] as? Int ?? 0) > 0)
        // Trigger mode's writer overhead: every variant of every capture ran pgbench and measured something.
        let triggers = try #require(results["triggers"] as? [String: Any])
        #expect(triggers["status"] as? String == "ok", "triggers: \(triggers["reason"] ?? "")")
        let captures = try #require(triggers["captures"] as? [[String: Any]])
        #expect(captures.compactMap { $0["key"] as? String } == ["all", "accounts"])
        for capture in captures {
            let variants = try #require(capture["variants"] as? [[String: Any]])
            #expect(variants.compactMap { $0["variant"] as? String } == ["none", "outbox", "notify"])
            for variant in variants {
                #expect((variant["median_tps"] as? Double ?? 0) > 0, "\(capture["key"] ?? "?") \(variant["variant"] ?? "?")")
            }
        }
        // The snapshot workload: every contender measured a rate (Siphon's only once the table was recorded done
        // with every row).
        let snapshot = try #require(results["snapshot"] as? [String: Any])
        #expect(snapshot["status"] == nil, "snapshot: \(snapshot["reason"] ?? "")")
        let snapshotResults = snapshot["results"] as? [[String: Any]] ?? []
        #expect(
            snapshotResults.compactMap { $0["key"] as? String }
                == ["copy-text", "copy-binary", "siphon-jsonl", "siphon-jsonl-2", "siphon-null"])
        for result in snapshotResults {
            #expect((result["rows_per_second"] as? Double ?? 0) > 0, "\(result["key"] ?? "?")")
        }
        // The sync workload: both contenders applied both backlogs and followed a live writer, and every run left
        // the target table equal to the source's. The harness fails the workload on a difference; checked here as
        // well, so a harness that stopped comparing could not pass.
        let sync = try #require(results["sync"] as? [String: Any])
        #expect(sync["status"] as? String == "ok", "sync: \(sync["reason"] ?? "")")
        let syncWorkloads = sync["workloads"] as? [[String: Any]] ?? []
        #expect(syncWorkloads.compactMap { $0["key"] as? String } == ["batch", "single"])
        for workload in syncWorkloads {
            let key = workload["key"] as? String ?? "?"
            let contenders = workload["results"] as? [[String: Any]] ?? []
            #expect(contenders.compactMap { $0["key"] as? String } == ["siphon", "subscription"], "sync \(key)")
            for contender in contenders {
                let name = "sync \(key), \(contender["key"] ?? "?")"
                #expect((contender["changes_per_second"] as? Double ?? 0) > 0, "\(name)")
                let rows = (contender["rows"] as? [Any] ?? []).compactMap { $0 as? Int }
                let digests = (contender["md5"] as? [Any] ?? []).compactMap { $0 as? String }
                #expect(!rows.isEmpty && rows.allSatisfy { $0 == workload["source_rows"] as? Int }, "\(name): \(rows)")
                #expect(
                    !digests.isEmpty && digests.allSatisfy { $0 == workload["source_md5"] as? String },
                    "\(name): \(digests)")
            }
        }
        let lag = sync["lag"] as? [[String: Any]] ?? []
        #expect(lag.compactMap { $0["key"] as? String } == ["siphon", "subscription"])
        for result in lag {
            #expect((result["samples"] as? Int ?? 0) > 0, "lag \(result["key"] ?? "?")")
        }
        let report = try String(contentsOf: output.appendingPathComponent("benchmarks.md"), encoding: .utf8)
        #expect(report.contains("## Sync"))
        #expect(report.contains("## Snapshot"))
        #expect(report.contains("## Goals"))
        #expect(report.contains("## Trigger mode: writer overhead"))
        #expect(report.contains("`synchronous_commit` | `on`"))
        #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent("benchmarks/benchmarks.png").path))
    }

    /// One run's results by contender. Every contender either ran or says why it was skipped: none failed.
    private static func results(_ run: [String: Any]) throws -> [String: [String: Any]] {
        let results = try #require(run["results"] as? [[String: Any]])
        var byContender: [String: [String: Any]] = [:]
        for result in results {
            let status = result["status"] as? String
            #expect(status == "ok" || status == "skipped", "\(result["contender"] ?? "?"): \(result["reason"] ?? "")")
            byContender[result["contender"] as? String ?? "?"] = result
        }
        return byContender
    }

    /// The `siphon` binary built next to the test bundle.
    private static func siphonBinary() throws -> URL {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let binary = [directory, directory.deletingLastPathComponent()].map { $0.appendingPathComponent("siphon") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
        return try #require(binary, "the siphon binary was not built next to \(directory.path)")
    }
}
