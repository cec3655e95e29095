// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonCore
import SiphonEngine
import SiphonReplication
import SiphonSystem
import SiphonTestSupport
import Testing

/// Table names and values written by an attacker, through the real binary: quoting must not let a name end its
/// identifier early (issue 9 item 1), and `siphon tail` must not let a name or value drive the terminal (item 6).
///
/// Tables are created with the server's own quoting (`format('%I')` over the name sent as hex), so the set-up does
/// not depend on the quoting under test.
@Suite struct HostileNameTests {
    /// One grapheme cluster `؀"` hides the closing quote from `Character`-based quoting.
    static let injectingName = "\u{600}\"; DROP TABLE VICTIM; --"
    static let gluingName = "\u{600}"

    /// An SQL expression for `text` that needs no quoting: its UTF-8 bytes in hex.
    static func textExpression(_ text: String) -> String {
        "convert_from('\\x" + text.utf8.map { String(format: "%02x", $0) }.joined() + "'::bytea, 'UTF8')"
    }

    /// Creates `schema.name (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, <column> text)`, quoted by the server.
    static func createTable(_ url: String, schema: String, _ name: String, column: String = "note") async throws {
        _ = try await sql(
            url,
            "DO $$ BEGIN EXECUTE format('CREATE TABLE %I.%I (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, %I text)', "
                + "\(Self.textExpression(schema)), \(Self.textExpression(name)), \(Self.textExpression(column))); END $$")
    }

    /// Inserts one row with `value` into `schema.name`, quoted by the server.
    static func insert(_ url: String, schema: String, _ name: String, column: String = "note", value: String) async throws {
        _ = try await sql(
            url,
            "DO $$ BEGIN EXECUTE format('INSERT INTO %I.%I (%I) VALUES (%L)', \(Self.textExpression(schema)), "
                + "\(Self.textExpression(name)), \(Self.textExpression(column)), \(Self.textExpression(value))); END $$")
    }

    /// Runs `siphon tail` until it exits, inserting a row into `schema.table` every 300 ms (the first ones may come
    /// before tail's slot exists and not be shown). Tail's own `--timeout` (in `arguments`) ends a run that sees no
    /// change, so it still drops its publication; SIGTERM does the same should it not.
    static func tail(
        _ arguments: [String], url: String, schema: String, table: String, column: String = "note", value: String,
        directory: URL, whileRunning check: (() async throws -> Void)? = nil
    ) async throws -> (Int32, String, String) {
        let tail = try SiphonProcess(["tail", "--url", url] + arguments, directory: directory)
        let deadline = ContinuousClock.now + .seconds(200)
        var checked = false
        while tail.child.poll() == nil && ContinuousClock.now < deadline {
            if !checked, let check {
                try await check()
                checked = true
            }
            try await Self.insert(url, schema: schema, table, column: column, value: value)
            try await Task.sleep(for: .milliseconds(300))
        }
        if tail.child.poll() == nil { tail.signal(SIGTERM) }
        let status = try await tail.wait(timeout: .seconds(30))
        return (status, tail.output, tail.errors)
    }

    static func count(_ url: String, _ query: String) async throws -> String? {
        try await sql(url, query).rows.first?.first ?? nil
    }

    @Test func tailQuotesTableNamesThatHideAQuote() async throws {
        let url = try TestEnvironment.url()
        let schema = TestEnvironment.uniqueName("inj")
        let injecting = Self.injectingName.replacingOccurrences(of: "VICTIM", with: "\(schema).victim")
        _ = try await sql(url, "CREATE SCHEMA \(schema); CREATE TABLE \(schema).victim (id int)")
        try await Self.createTable(url, schema: schema, Self.gluingName)
        try await Self.createTable(url, schema: schema, injecting)
        let directory = try makeScratchDirectory()
        let published = "SELECT count(*) FROM pg_publication_tables WHERE schemaname = '\(schema)'"

        let (status, output, errors) = try await Self.tail(
            ["--table", "\(schema).*", "--max-changes", "1", "--timeout", "150", "--format", "jsonl"], url: url,
            schema: schema, table: injecting, value: "x", directory: directory,
            whileRunning: {
                try await eventually("tail's publication") { try await Self.count(url, published) != "0" }
                // All three tables, each exactly once: the names were not cut short.
                #expect(try await Self.count(url, published) == "3")
            })
        #expect(status == 0, "\(errors)")
        #expect(try await Self.count(url, "SELECT count(*) FROM pg_tables WHERE tablename = 'victim' AND schemaname = '\(schema)'") == "1")
        #expect(try await Self.count(url, "SELECT count(*) FROM pg_tables WHERE schemaname = '\(schema)'") == "3")
        #expect(try await Self.count(url, published) == "0", "tail must drop its publication")
        let change = try #require(try output.split(separator: "\n").first.map { try ChangeEnvelope.decode(line: String($0)) })
        #expect(Array(change.table.utf8) == Array(injecting.utf8))
        _ = try await sql(url, "DROP SCHEMA \(schema) CASCADE")
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func sqlMigrationForTableNamesThatHideAQuoteAppliesAndRevertsCleanly() async throws {
        let url = try TestEnvironment.url()
        let schema = TestEnvironment.uniqueName("inj")
        let triggerSchema = TestEnvironment.uniqueName("trg")
        let injecting = Self.injectingName.replacingOccurrences(of: "VICTIM", with: "\(schema).victim")
        _ = try await sql(url, "CREATE SCHEMA \(schema); CREATE TABLE \(schema).victim (id int PRIMARY KEY)")
        try await Self.createTable(url, schema: schema, Self.gluingName)
        try await Self.createTable(url, schema: schema, injecting)
        let directory = try makeScratchDirectory()
        let migrations = directory.appendingPathComponent("migrations")

        let (status, _, errors) = try await SiphonProcess.run(
            ["sql", "--url", url, "--table", "\(schema).*", "--trigger-schema", triggerSchema, "--out", migrations.path],
            directory: directory)
        #expect(status == 0, "\(errors)")
        let files = try FileManager.default.contentsOfDirectory(atPath: migrations.path)
        let up = try String(
            contentsOf: migrations.appendingPathComponent(try #require(files.first { $0.hasSuffix(".up.sql") })),
            encoding: .utf8)
        let down = try String(
            contentsOf: migrations.appendingPathComponent(try #require(files.first { $0.hasSuffix(".down.sql") })),
            encoding: .utf8)
        let tables = "SELECT count(*) FROM pg_tables WHERE schemaname = '\(schema)'"
        let triggers =
            "SELECT count(DISTINCT c.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            + "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '\(schema)' AND NOT t.tgisinternal"

        _ = try await sql(url, up)
        #expect(try await Self.count(url, tables) == "3", "the up migration must drop nothing")
        #expect(try await Self.count(url, triggers) == "3")
        try await Self.insert(url, schema: schema, injecting, value: "captured")
        let outbox = try await sql(
            url, "SELECT encode(convert_to(table_name, 'UTF8'), 'hex'), new->>'note' FROM \(triggerSchema).outbox")
        #expect(outbox.rows == [[injecting.utf8.map { String(format: "%02x", $0) }.joined(), "captured"]])

        _ = try await sql(url, down)
        #expect(try await Self.count(url, tables) == "3", "the down migration must drop nothing")
        #expect(try await Self.count(url, triggers) == "0")
        #expect(try await Self.count(url, "SELECT count(*) FROM pg_namespace WHERE nspname = '\(triggerSchema)'") == "0")
        _ = try await sql(url, "DROP SCHEMA \(schema) CASCADE")
        try? FileManager.default.removeItem(at: directory)
    }

    /// An error quoting what the user typed (or the server said) is printed escaped too.
    @Test func errorsPrintEscapeSequencesVisibly() async throws {
        let directory = try makeScratchDirectory()
        let schema = TestEnvironment.uniqueName("none")
        let (status, _, errors) = try await SiphonProcess.run(
            ["tail", "--url", try TestEnvironment.url(), "--table", "\(schema).\"\(Self.hostileTable)\"", "--timeout", "5"],
            directory: directory)
        #expect(status == 64, "\(errors)")
        #expect(errors.contains(#"table \#(schema)."t\e]52;c;aGk=\u{7}x" does not exist"#), "\(errors)")
        #expect(Self.hazards(in: errors).isEmpty, "\(errors.unicodeScalars.map { $0.escaped(asASCII: true) })")
        try? FileManager.default.removeItem(at: directory)
    }

    /// OSC 52 writes the clipboard, CSI 2J clears the screen, U+009B is an 8-bit CSI, U+202E reverses what follows.
    static let hostileTable = "t\u{1B}]52;c;aGk=\u{07}x"
    static let hostileColumn = "c\u{1B}[2J"
    static let hostileValue = "v\u{1B}[2J\u{9B}31m\u{202E}\r\u{7F}\u{2028}"

    /// Bytes a terminal may act on: C0 controls but line feed, DEL, C1 controls in UTF-8, bidi controls, U+2028/9.
    static func hazards(in text: String) -> [Unicode.Scalar] {
        text.unicodeScalars.filter { scalar in
            switch scalar.value {
            case 0x0A: false
            case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069, 0x2028, 0x2029: true
            default: false
            }
        }
    }

    @Test func tailPrintsEscapeSequencesVisibly() async throws {
        let url = try TestEnvironment.url()
        let schema = TestEnvironment.uniqueName("esc")
        _ = try await sql(url, "CREATE SCHEMA \(schema)")
        try await Self.createTable(url, schema: schema, Self.hostileTable, column: Self.hostileColumn)
        let directory = try makeScratchDirectory()

        let (status, pretty, errors) = try await Self.tail(
            ["--table", "\(schema).*", "--max-changes", "1", "--timeout", "150"], url: url, schema: schema,
            table: Self.hostileTable, column: Self.hostileColumn, value: Self.hostileValue, directory: directory)
        #expect(status == 0, "\(errors)")
        #expect(Self.hazards(in: pretty).isEmpty, "\(pretty.unicodeScalars.map { $0.escaped(asASCII: true) })")
        #expect(pretty.contains(#"\#(schema).t\e]52;c;aGk=\u{7}x"#), "\(pretty)")
        #expect(pretty.contains(#""c\u001b[2J":"v\u001b[2J\u009b31m\u202e\r\u007f\u2028""#), "\(pretty)")

        let (jsonStatus, jsonl, jsonErrors) = try await Self.tail(
            ["--table", "\(schema).*", "--max-changes", "1", "--timeout", "150", "--format", "jsonl"], url: url,
            schema: schema, table: Self.hostileTable, column: Self.hostileColumn, value: Self.hostileValue,
            directory: directory)
        #expect(jsonStatus == 0, "\(jsonErrors)")
        #expect(Self.hazards(in: jsonl).isEmpty, "\(jsonl.unicodeScalars.map { $0.escaped(asASCII: true) })")
        // The escapes are JSON's own: the envelope still reads back to the exact names and value.
        let line = try #require(jsonl.split(separator: "\n").first)
        let change = try ChangeEnvelope.decode(line: String(line))
        #expect(Array(change.table.utf8) == Array(Self.hostileTable.utf8))
        let new = try #require(change.new)
        let row = try #require(try JSONSerialization.jsonObject(with: Data(new.jsonObject.utf8)) as? [String: Any])
        let value = try #require(row[Self.hostileColumn] as? String, "\(row)")
        #expect(Array(value.unicodeScalars) == Array(Self.hostileValue.unicodeScalars))

        _ = try await sql(url, "DROP SCHEMA \(schema) CASCADE")
        try? FileManager.default.removeItem(at: directory)
    }
}
