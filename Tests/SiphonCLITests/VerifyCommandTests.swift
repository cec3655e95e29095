// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonCore
import SiphonSystem
import SiphonTestSupport
import Testing

/// `siphon verify` through the real binary: its output and exit status against the two test clusters.
@Suite struct VerifyCommandTests {
    /// A double-quoted identifier, written out here rather than with the quoting under test.
    static func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    /// Runs `statements` on both clusters.
    static func both(_ statements: String) async throws {
        _ = try await sql(try TestEnvironment.url(), statements)
        _ = try await sql(try TestEnvironment.targetURL(), statements)
    }

    /// A schema of its own on both clusters, with `items (id int primary key, note text)` holding ids 1…30.
    static func makeSchema() async throws -> String {
        let schema = TestEnvironment.uniqueName("verify_cli")
        try await Self.both(
            """
            CREATE SCHEMA \(schema);
            CREATE TABLE \(schema).items (id int PRIMARY KEY, note text);
            INSERT INTO \(schema).items SELECT g, 'note ' || g FROM generate_series(1, 30) g;
            """)
        return schema
    }

    static func verify(_ arguments: [String]) async throws -> (Int32, String, String) {
        try await SiphonProcess.run(
            ["verify", "--from", try TestEnvironment.url(), "--to", try TestEnvironment.targetURL()] + arguments,
            directory: try makeScratchDirectory())
    }

    @Test func equalTablesExitZeroWithASummary() async throws {
        let schema = try await Self.makeSchema()
        let (status, output, errors) = try await Self.verify(["--table", "\(schema).items", "--chunk-size", "10"])
        #expect(status == 0, "\(errors)")
        #expect(output.hasPrefix("\(schema).items: equal, 30 rows compared in 3 chunks, "), "\(output)")
        try await Self.both("DROP SCHEMA \(schema) CASCADE")
    }

    /// Differences are printed with both rows, and a value that would drive the terminal is shown escaped.
    @Test func differingTablesExitOneAndPrintTheRows() async throws {
        let schema = try await Self.makeSchema()
        _ = try await sql(
            try TestEnvironment.targetURL(),
            """
            UPDATE \(schema).items SET note = E'\\x1b[2Jchanged' WHERE id = 12;
            DELETE FROM \(schema).items WHERE id = 30;
            """)
        let (status, output, errors) = try await Self.verify(["--table", "\(schema).items", "--chunk-size", "10"])
        #expect(status == 1, "\(errors)")
        #expect(
            output.hasPrefix(
                """
                \(schema).items id=12: different
                  source: {"id": 12, "note": "note 12"}
                  target: {"id": 12, "note": "\\u001b[2Jchanged"}
                \(schema).items id=30: only on the source
                  source: {"id": 30, "note": "note 30"}

                """), "\(output)")
        #expect(
            output.contains(
                "\(schema).items: 2 differences (1 only on the source, 0 only on the target, 1 different); "
                    + "30 rows on the source, 29 on the target, in 3 chunks, "),
            "\(output)")
        #expect(!output.contains("\u{1B}"))
        try await Self.both("DROP SCHEMA \(schema) CASCADE")
    }

    @Test func moreDifferencesThanShownAreCounted() async throws {
        let schema = try await Self.makeSchema()
        _ = try await sql(try TestEnvironment.targetURL(), "UPDATE \(schema).items SET note = 'x' WHERE id <= 25")
        let (status, output, _) = try await Self.verify(["--table", "\(schema).items", "--show-differences", "3"])
        #expect(status == 1)
        #expect(output.components(separatedBy: ": different\n").count - 1 == 3, "\(output)")
        #expect(output.contains("\(schema).items: … and 22 more differences\n"), "\(output)")
        try await Self.both("DROP SCHEMA \(schema) CASCADE")
    }

    /// A table name that ends its identifier early and drives the terminal, given as SQL writes it.
    @Test func hostileTableName() async throws {
        let schema = try await Self.makeSchema()
        let name = "it\"ems; DROP TABLE x; --\u{1B}[2J"
        let table = "\(schema).\(Self.quoted(name))"
        try await Self.both(
            "CREATE TABLE \(table) (id int PRIMARY KEY); INSERT INTO \(table) SELECT generate_series(1, 5)")
        _ = try await sql(try TestEnvironment.targetURL(), "DELETE FROM \(table) WHERE id = 2")
        let (status, output, errors) = try await Self.verify(["--table", table])
        #expect(status == 1, "\(errors)")
        #expect(output.contains(#"\#(schema)."it""ems; DROP TABLE x; --\e[2J" id=2: only on the source"#), "\(output)")
        #expect(!output.contains("\u{1B}"))
        try await Self.both("DROP SCHEMA \(schema) CASCADE")
    }

    @Test func aTableThatCannotBeComparedExits64WithTheReason() async throws {
        let schema = try await Self.makeSchema()
        try await Self.both("CREATE TABLE \(schema).no_key (id int, note text)")
        _ = try await sql(try TestEnvironment.url(), "CREATE TABLE \(schema).source_only (id int PRIMARY KEY)")
        _ = try await sql(try TestEnvironment.targetURL(), "ALTER TABLE \(schema).items ALTER COLUMN note TYPE varchar(50)")

        let (noKey, _, noKeyErrors) = try await Self.verify(["--table", "\(schema).no_key"])
        #expect(noKey == 64)
        #expect(noKeyErrors.contains("on the source has no primary key"), "\(noKeyErrors)")
        #expect(noKeyErrors.contains("ADD PRIMARY KEY"), "\(noKeyErrors)")

        let (missing, _, missingErrors) = try await Self.verify(["--table", "\(schema).source_only"])
        #expect(missing == 64)
        #expect(missingErrors.contains("does not exist on the target"), "\(missingErrors)")

        let (columns, _, columnErrors) = try await Self.verify(["--table", "\(schema).items"])
        #expect(columns == 64)
        #expect(
            columnErrors.contains("column note is text on the source but character varying(50) on the target"),
            "\(columnErrors)")

        let (noTable, _, noTableErrors) = try await Self.verify([])
        #expect(noTable == 64)
        #expect(noTableErrors.contains("--table"), "\(noTableErrors)")
        try await Self.both("DROP SCHEMA \(schema) CASCADE")
    }

    /// Both connection strings are masked in `ps`, as `--url` is: `--from URL` and `--to=URL`.
    @Test func psShowsBothURLsWithThePasswordsMasked() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try SilentListener()
        defer { server.close() }
        // The silent server keeps verify connecting (for up to an hour) until the test has looked.
        let url = "postgres://siphon:Pa55from-secret@127.0.0.1:\(server.port)/db?connect_timeout=3600"
        let process = try SiphonProcess(
            ["verify", "--from", url, "--to=postgres://siphon:Pa55to-secret@127.0.0.1:1/db", "--table", "t"],
            directory: directory)
        defer { process.signal(SIGKILL) }
        try await eventually(timeout: .seconds(120), "the passwords to be masked in /proc/PID/cmdline") {
            let commandLine = try ConnectionSecretTests.commandLine(of: process.child.pid)
            return commandLine.contains("127.0.0.1:\(server.port)") && commandLine.contains("127.0.0.1:1/db")
                && !commandLine.contains("from-secret") && !commandLine.contains("to-secret")
        }
        #expect(process.child.poll() == nil, "verify exited early: \(process.errors)")
        process.signal(SIGKILL)
        _ = try await process.wait(timeout: .seconds(60))
    }
}
