// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import Logging
import PostgresNIO
import SiphonCore
import SiphonReplication
import SiphonTestSupport
import Testing

/// Random hostile strings go through every quoting function into the real server, over Siphon's own connection,
/// and come back byte for byte, checked by an independent client (PostgresNIO, which sends the original as a bind
/// parameter, so no quoting of ours is involved on its side).
///
/// The seed is printed; rerun a failure with `SIPHON_TEST_QUOTING_SEED=<seed> scripts/test --filter QuotingProperty`.
@Suite struct QuotingPropertyTests {
    let logger = Logger(label: "quoting-property")

    /// Pieces that break grapheme-based quoting: prepend characters (which glue onto what follows), combining marks
    /// (which glue onto what precedes), quotes, backslashes, dollar signs, emoji with ZWJ, and NUL-free controls.
    static let pieces: [String] = [
        "\u{600}", "\u{601}", "\u{602}", "\u{603}", "\u{604}", "\u{605}", "\u{6DD}", "\u{70F}", "\u{8E2}", "\u{110BD}",
        "\u{110CD}", "\u{301}", "\u{300}", "\u{20DD}", "\u{FE0F}", "\u{200D}", "'", "'", "\"", "\"", "\\", "\\", "$",
        "$$", "\u{1F469}\u{200D}\u{1F469}\u{200D}\u{1F467}", "\u{1F3F3}\u{FE0F}\u{200D}\u{1F308}", "\u{1}", "\t",
        "\n", "\r", "\u{1B}", "\u{7F}", "\u{85}", "\u{9B}", "\u{202E}", " ", ";", "-", "*", ".", "a", "Z", "9", "_",
        "é", "日",
    ]

    /// `count` distinct (by bytes) random strings of at most `maximumBytes` UTF-8 bytes.
    static func hostileStrings(count: Int, maximumBytes: Int, seed: UInt64) -> [String] {
        var generator = SeededGenerator(state: seed)
        var seen = Set<[UInt8]>()
        var strings: [String] = []
        while strings.count < count {
            var text = ""
            for _ in 0..<Int.random(in: 1...12, using: &generator) {
                let piece = Self.pieces.randomElement(using: &generator)!
                if text.utf8.count + piece.utf8.count > maximumBytes { break }
                text += piece
            }
            if !text.isEmpty && seen.insert(Array(text.utf8)).inserted { strings.append(text) }
        }
        return strings
    }

    static func seed() -> UInt64 {
        let seed = ProcessInfo.processInfo.environment["SIPHON_TEST_QUOTING_SEED"].flatMap { UInt64($0) }
            ?? UInt64.random(in: 0...UInt64.max)
        print("QuotingPropertyTests seed: \(seed) (set SIPHON_TEST_QUOTING_SEED=\(seed) to repeat)")
        return seed
    }

    func settings() throws -> ConnectionSettings {
        try ConnectionSettings(url: try TestEnvironment.url(), environment: [:])
    }

    static func hex(_ text: String) -> String {
        text.utf8.map { String(format: "%02x", $0) }.joined()
    }

    @Test func literalsRoundTripByteForByte() async throws {
        let seed = Self.seed()
        let strings = Self.hostileStrings(count: 400, maximumBytes: 200, seed: seed)
        // Siphon's own client reads each literal back; the server also renders its bytes as hex.
        let selects = strings.map { "SELECT \(SQLQuoting.literal($0)), encode(convert_to(\(SQLQuoting.literal($0)), 'UTF8'), 'hex')" }
        let rows = try await ServerConnection.withConnection(
            settings: try self.settings(), replication: false, logger: self.logger
        ) { connection in
            var rows: [[String?]] = []
            for select in selects { rows += try await connection.simpleQuery(select).rows }
            return rows
        }
        #expect(rows.count == strings.count, "seed \(seed)")
        for (text, row) in zip(strings, rows) {
            #expect(row[0].map { Array($0.utf8) } == Array(text.utf8), "seed \(seed): \(Array(text.unicodeScalars))")
            #expect(row[1] == Self.hex(text), "seed \(seed): \(Array(text.unicodeScalars))")
        }
        // The independent client sends the original as a parameter and asks the server to compare bytes.
        let mismatches = try await TestEnvironment.withClient { client in
            var mismatches: [String] = []
            for text in strings {
                let literal = SQLQuoting.literal(text)
                let rows = try await client.query(
                    "SELECT convert_to(\(text)::text, 'UTF8') = convert_to(\(unescaped: literal), 'UTF8')")
                for try await same in rows.decode(Bool.self) where !same { mismatches.append(text) }
            }
            return mismatches
        }
        #expect(mismatches.isEmpty, "seed \(seed): \(mismatches.map { Array($0.unicodeScalars) })")
    }

    /// Each string names a schema (through `TableName.description`), a table in it (through `SQLQuoting.identifier`)
    /// and its column; the catalog must hold exactly those bytes, and a sentinel table must survive.
    @Test func identifiersRoundTripThroughTheCatalog() async throws {
        let seed = Self.seed()
        let prefix = TestEnvironment.uniqueName("q") + "_"
        // NAMEDATALEN: longer names would be truncated by the server, which is not what is tested here.
        let strings = Self.hostileStrings(
            count: 150, maximumBytes: TableName.maximumIdentifierLength - prefix.utf8.count - "_2".utf8.count,
            seed: seed)
        let sentinel = TableName(schema: prefix + "sentinel", "victim")
        var statements = [
            "CREATE SCHEMA \(SQLQuoting.identifier(sentinel.schema))", "CREATE TABLE \(sentinel) (id int)",
        ]
        for text in strings {
            let table = TableName(schema: prefix + text, text)
            statements.append("CREATE SCHEMA \(SQLQuoting.identifier(table.schema))")
            statements.append("CREATE TABLE \(table) (\(SQLQuoting.identifier(text)) int)")
            statements.append(
                "CREATE TABLE \(SQLQuoting.identifier(table.schema)).\(SQLQuoting.identifier(text + "_2")) (x int)")
        }
        do {
            try await ServerConnection.withConnection(
                settings: try self.settings(), replication: false, logger: self.logger
            ) { connection in
                for statement in statements { try await connection.simpleQuery(statement) }
            }
            let catalog = try await TestEnvironment.withClient { client in
                let rows = try await client.query(
                    """
                    SELECT encode(convert_to(n.nspname::text, 'UTF8'), 'hex'), encode(convert_to(c.relname::text, 'UTF8'), 'hex'),
                           coalesce(encode(convert_to(a.attname::text, 'UTF8'), 'hex'), '')
                    FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid
                    LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = 1 AND c.relname NOT LIKE '%\\_2' ESCAPE '\\'
                    WHERE starts_with(n.nspname, \(prefix)) AND c.relkind = 'r'
                    """)
                var found = Set<[String]>()
                for try await (schema, table, column) in rows.decode((String, String, String).self) {
                    found.insert([schema, table, column])
                }
                return found
            }
            var expected = Set<[String]>([[Self.hex(sentinel.schema), Self.hex(sentinel.table), Self.hex("id")]])
            for text in strings {
                expected.insert([Self.hex(prefix + text), Self.hex(text), Self.hex(text)])
                expected.insert([Self.hex(prefix + text), Self.hex(text + "_2"), ""])
            }
            #expect(catalog == expected, "seed \(seed)")
        } catch {
            try await Self.dropSchemas(startingWith: prefix)
            throw error
        }
        try await Self.dropSchemas(startingWith: prefix)
    }

    /// The notify attack of issue 9 item 2: the whole payload comes back as one value.
    @Test func notifyAttackStringIsOneLiteral() async throws {
        let attack = "\u{600}')); DROP TABLE public.victim; --"
        let result = try await ServerConnection.withConnection(
            settings: try self.settings(), replication: false, logger: self.logger
        ) { try await $0.simpleQuery("SELECT \(SQLQuoting.literal(attack))") }
        #expect(result.rows.map { $0.map { $0.map { Array($0.utf8) } } } == [[Array(attack.utf8)]])
    }

    /// NUL cannot be stored: the statement fails with the server's reason, and the session stays usable.
    @Test func nulIsRefusedByTheServer() async throws {
        try await ServerConnection.withConnection(
            settings: try self.settings(), replication: false, logger: self.logger
        ) { connection in
            let literalError = await #expect(throws: SiphonError.self) {
                try await connection.simpleQuery("SELECT \(SQLQuoting.literal("a\u{0}'; SELECT 1; --"))")
            }
            #expect(literalError?.description.contains("0x00") == true, "\(String(describing: literalError))")
            let identifierError = await #expect(throws: SiphonError.self) {
                try await connection.simpleQuery("SELECT 1 AS \(SQLQuoting.identifier("a\u{0}\"; SELECT 1; --"))")
            }
            #expect(
                identifierError?.description.contains("invalid Unicode escape value") == true,
                "\(String(describing: identifierError))")
            let afterwards = try await connection.simpleQuery("SELECT 1").rows
            #expect(afterwards == [["1"]])
        }
    }

    /// Drops every schema whose name starts with `prefix`, quoted by the server (`%I`), not by the code under test.
    static func dropSchemas(startingWith prefix: String) async throws {
        try await TestEnvironment.withClient { client in
            let rows = try await client.query(
                "SELECT format('DROP SCHEMA %I CASCADE', nspname) FROM pg_namespace WHERE starts_with(nspname, \(prefix))")
            var drops: [String] = []
            for try await drop in rows.decode(String.self) { drops.append(drop) }
            for drop in drops { try await client.query(PostgresQuery(unsafeSQL: drop)) }
        }
    }
}
