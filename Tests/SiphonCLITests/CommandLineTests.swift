// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonCore
import SiphonReplication
import SiphonTestSupport
import Testing

/// What a person typing `siphon …` sees: clear messages and exit codes for mistakes, and the commands working.
@Suite struct CommandLineTests {
    @Test func configFileTypoPointsAtTheLine() async throws {
        let directory = try makeScratchDirectory()
        let config = directory.appendingPathComponent("siphon.yaml")
        try "url: postgres://localhost/x\nslto: orders\nsinks: [stdout]\n".write(to: config, atomically: true, encoding: .utf8)
        let (status, _, errors) = try await SiphonProcess.run(["run", "--config", config.path], directory: directory)
        #expect(status == 64)
        #expect(errors.contains("siphon.yaml:2: unknown setting 'slto' (did you mean 'slot'?)"), "\(errors)")
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func configFileWithAWrongTypeOrBrokenYAMLIsRefused() async throws {
        let directory = try makeScratchDirectory()
        let config = directory.appendingPathComponent("bad.yaml")
        try "slot: a\nbatch_size: lots\n".write(to: config, atomically: true, encoding: .utf8)
        var (status, _, errors) = try await SiphonProcess.run(["run", "--config", config.path], directory: directory)
        #expect(status == 64)
        #expect(errors.contains("bad.yaml:2: 'batch_size' must be a positive whole number"), "\(errors)")
        try "slot: [unclosed\n".write(to: config, atomically: true, encoding: .utf8)
        (status, _, errors) = try await SiphonProcess.run(["run", "--config", config.path], directory: directory)
        #expect(status == 64)
        #expect(errors.contains("not valid YAML"), "\(errors)")
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func flagMistakesAreExplained() async throws {
        let directory = try makeScratchDirectory()
        let cases: [([String], String)] = [
            (["run", "--sink", "kafka:x"], "unknown sink \"kafka:x\"; valid sinks: stdout, jsonl:PATH, null"),
            (["run", "--format", "xml"], "The value 'xml' is invalid for '--format <format>'"),
            (["run", "--url", "mysql://h/d"], "must start with postgres:// or postgresql://"),
            (["run", "--table", "a.b.c.d"], "too many dots"),
            (["tail", "--format", "yaml"], "Please provide one of 'pretty', 'jsonl' or 'debezium'"),
            (["setup"], "name the tables with --table"),
            (["run", "--batch-size", "0"], "--batch-size must be positive"),
            (["frobnicate"], "Unexpected argument 'frobnicate'"),
        ]
        for (arguments, message) in cases {
            let (status, _, errors) = try await SiphonProcess.run(arguments, directory: directory)
            #expect(status != 0, "\(arguments) must fail")
            #expect(errors.contains(message), "\(arguments): \(errors)")
        }
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func setupWithAMissingTableCreatesNothing() async throws {
        let directory = try makeScratchDirectory()
        let slot = TestEnvironment.uniqueName("slot")
        let (status, _, errors) = try await SiphonProcess.run(
            ["setup", "--url", try TestEnvironment.url(), "--slot", slot, "--publication", slot, "--table", "public.no_such_table"],
            directory: directory)
        #expect(status != 0)
        #expect(errors.contains("no_such_table"), "\(errors)")
        let slots = try await sql(try TestEnvironment.url(), "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '\(slot)'")
        let publications = try await sql(try TestEnvironment.url(), "SELECT count(*) FROM pg_publication WHERE pubname = '\(slot)'")
        #expect(slots.rows == [["0"]])
        #expect(publications.rows == [["0"]])
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func doctorExitsNonZeroWhenRunningWouldFail() async throws {
        let directory = try makeScratchDirectory()
        let (status, output, _) = try await SiphonProcess.run(
            ["doctor", "--url", try TestEnvironment.value("SIPHON_TEST_REPLICA_URL"), "--slot", "nothing_here"],
            directory: directory)
        #expect(status == 1)
        #expect(output.contains("wal_level"))
        #expect(output.contains("ALTER SYSTEM SET wal_level = logical"))
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func everyHelpTextReadsAsParagraphsAt80Columns() async throws {
        let directory = try makeScratchDirectory()
        for command in [
            [], ["demo"], ["setup"], ["run"], ["snapshot"], ["sync"], ["verify"], ["tail"], ["doctor"], ["teardown"],
            ["sql"], ["listen"],
        ] {
            let (_, output, _) = try await SiphonProcess.run(command + ["--help"], directory: directory)
            // The discussion: after the overview's paragraph, before USAGE.
            let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            guard let usage = lines.firstIndex(where: { $0.hasPrefix("USAGE:") }),
                let overviewEnd = lines.firstIndex(where: \.isEmpty), overviewEnd < usage
            else {
                Issue.record("siphon \(command.joined(separator: " ")) --help has no overview and usage: \(output)")
                continue
            }
            let discussion = Array(lines[(overviewEnd + 1)..<usage])
            // A short line followed by more of the same paragraph is a hard line break the parser wrapped again.
            for (line, next) in zip(discussion, discussion.dropFirst()) where !line.isEmpty && !next.isEmpty {
                #expect(line.count >= 50, "siphon \(command.joined(separator: " ")) --help breaks a line early: \(line)")
            }
            #expect(discussion.allSatisfy { $0.count <= 80 })
        }
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func aRunWhoseFirstConnectionFailsSaysSoOnceOrExitsWhenAsked() async throws {
        let directory = try makeScratchDirectory()
        let unreachable = ["run", "--url", "postgres://siphon@127.0.0.1:1/db?sslmode=disable", "--slot", "s", "--sink", "null"]
        let (status, _, errors) = try await SiphonProcess.run(unreachable + ["--exit-on-start-failure"], directory: directory)
        #expect(status == 1)
        #expect(
            errors.contains(
                #"connection to server at "127.0.0.1", port 1 failed: Connection refused. Is the server running on that host and accepting TCP/IP connections?"#),
            "\(errors)")
        let waiting = try SiphonProcess(unreachable, directory: directory)
        try await eventually(timeout: .seconds(30), "the run to retry") {
            waiting.errors.components(separatedBy: "Reading interrupted; reconnecting").count > 2
        }
        waiting.signal(SIGTERM)
        #expect(try await waiting.wait(timeout: .seconds(30)) == 0, "\(waiting.errors)")
        #expect(waiting.errors.components(separatedBy: "Could not start; retrying until the source can be reached").count == 2)
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func wrongPasswordIsOneClearLine() async throws {
        let directory = try makeScratchDirectory()
        let url = "postgres://siphon:wrong@\(try TestEnvironment.host()):\(try TestEnvironment.port())/\(try TestEnvironment.database())?sslmode=disable"
        let (status, _, errors) = try await SiphonProcess.run(["tail", "--url", url, "--timeout", "1"], directory: directory)
        #expect(status == 1)
        #expect(errors.contains("password authentication failed for user \"siphon\""), "\(errors)")
        #expect(!errors.contains("wrong@"))
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func tailShowsChangesAndLeavesNothingBehind() async throws {
        let url = try TestEnvironment.url()
        let table = TestEnvironment.uniqueName("tailed")
        _ = try await sql(url, "CREATE TABLE public.\(table) (id int PRIMARY KEY, note text)")
        let directory = try makeScratchDirectory()
        let tail = try SiphonProcess(
            ["tail", "--url", url, "--table", table, "--format", "jsonl", "--max-changes", "2", "--timeout", "60"],
            directory: directory)
        // Created, not only listed: a slot is listed while it waits for its consistent point, and rows committed
        // before that point are not streamed to it (a busy cluster makes that wait long enough to matter).
        try await eventually("tail to create its slot") {
            try await sql(
                url,
                "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'siphon_tail_%' "
                    + "AND confirmed_flush_lsn IS NOT NULL"
            ).rows != [["0"]]
        }
        _ = try await sql(url, "INSERT INTO public.\(table) VALUES (1, 'a'), (2, 'b'), (3, 'c')")
        #expect(try await tail.wait(timeout: .seconds(60)) == 0)
        let lines = tail.output.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first?.contains("\"new\":{\"id\":1,\"note\":\"a\"}") == true)
        // Other tests' tails may still be running: wait for theirs to end too, rather than count them as leftovers.
        try await eventually("no tail slot or publication left") {
            try await sql(
                url,
                "SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'siphon_tail_%') + "
                    + "(SELECT count(*) FROM pg_publication WHERE pubname LIKE 'siphon_tail_%')"
            ).rows == [["0"]]
        }
        _ = try await sql(url, "DROP TABLE public.\(table)")
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func demoRunsAgainstAGivenDatabaseAndCleansUp() async throws {
        let url = try TestEnvironment.url()
        let directory = try makeScratchDirectory()
        let (status, output, errors) = try await SiphonProcess.run(
            ["demo", "--url", url, "--transactions", "8", "--pause-milliseconds", "50"], directory: directory)
        #expect(status == 0, "\(errors)")
        #expect(output.contains("INSERT   siphon_demo.users"))
        #expect(output.contains("UPDATE   siphon_demo.orders"))
        #expect(output.contains("DELETE   siphon_demo.orders"))
        #expect(try await demoLeftovers(url) == [["0"]])
        try? FileManager.default.removeItem(at: directory)
    }
}
