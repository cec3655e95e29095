// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import Logging
import NIOCore
import PostgresNIO
import SiphonTestSupport
import Testing

@testable import SiphonPgOutput

/// A column type and the SQL expressions to insert into it, one row each. `{s}` in either is the test's schema.
struct TypeCase: Sendable {
    /// What the binary format renders for the type.
    enum Binary: Sendable {
        /// The same as `to_jsonb`, like the text format.
        case matchesPostgres
        /// A binary layout Siphon does not know: a `"\\x…"` hex string of the bytes.
        case hex
        /// `regclass`-like: the OID in decimal (the name needs a catalog lookup).
        case oid
    }

    var type: String
    var values: [String]
    var binary: Binary

    init(_ type: String, _ values: [String], binary: Binary = .matchesPostgres) {
        self.type = type
        self.values = values
        self.binary = binary
    }
}

/// Inserts values into a fresh table, reads the server's own pgoutput bytes for them (text and binary), renders
/// every column with `ValueRenderer` and compares the result, exactly, with `(to_jsonb(row) -> 'column')::text`.
enum RenderingHarness {
    static let logger = Logger(label: "siphon.values-test")

    /// The settings the replication session runs with: text-format values arrive in these styles.
    static let engineSettings = [
        "DateStyle = 'ISO'", "IntervalStyle = 'postgres'", "TimeZone = 'UTC'", "extra_float_digits = 1",
        "bytea_output = 'hex'", "lc_monetary = 'C'",
    ]

    /// Settings far from the defaults: binary values must render the same under them.
    static let unusualSettings = [
        "TimeZone = 'Asia/Kolkata'", "DateStyle = 'SQL, DMY'", "IntervalStyle = 'iso_8601'", "extra_float_digits = 0",
        "bytea_output = 'escape'",
    ]

    /// One column value as pgoutput delivered it.
    struct Sample {
        var row: Int
        var column: String
        var typeOID: UInt32
        var format: ValueFormat
        var bytes: ByteBuffer
    }

    /// Runs the comparison for `cases` in a new schema (created after `setup`, dropped afterwards) and returns how
    /// many values were compared in each of the three passes (text, binary, binary under unusual settings).
    @discardableResult
    static func assertRendersLikePostgres(
        _ cases: [TypeCase],
        setup: [String] = [],
        database: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Int {
        try await withClient(database: database) { client in
            try await client.withConnection { connection in
                try await run(cases, setup: setup, on: connection, sourceLocation: sourceLocation)
            }
        }
    }

    /// Like `TestEnvironment.withClient`, optionally connected to another database of the test cluster.
    static func withClient<Result: Sendable>(
        database: String?,
        _ body: (PostgresClient) async throws -> Result
    ) async throws -> Result {
        guard let database else { return try await TestEnvironment.withClient(body) }
        var configuration = try TestEnvironment.clientConfiguration()
        configuration.database = database
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    /// A failed statement, with the server's message (PostgresNIO hides it from `description`).
    struct StatementFailed: Error, CustomStringConvertible {
        var sql: String
        var detail: String
        var description: String { "\(self.sql)\n\(self.detail)" }
    }

    static func execute(_ sql: String, on connection: PostgresConnection) async throws {
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        } catch {
            throw StatementFailed(sql: sql, detail: String(reflecting: error))
        }
    }

    private static func run(
        _ cases: [TypeCase],
        setup: [String],
        on connection: PostgresConnection,
        sourceLocation: SourceLocation
    ) async throws -> Int {
        let schema = TestEnvironment.uniqueName("values")
        func expand(_ sql: String) -> String { sql.replacingOccurrences(of: "{s}", with: schema) }
        try await execute("CREATE SCHEMA \(schema)", on: connection)
        var slotCreated = false
        do {
            for statement in setup { try await execute(expand(statement), on: connection) }
            let columns = cases.indices.map { "c\($0) \(expand(cases[$0].type))" }.joined(separator: ", ")
            try await execute("CREATE TABLE \(schema).t (id int PRIMARY KEY, \(columns))", on: connection)
            try await execute("CREATE PUBLICATION \(schema) FOR TABLE \(schema).t", on: connection)
            try await connection.query(
                "SELECT pg_create_logical_replication_slot(\(schema)::name, 'pgoutput')",
                logger: logger
            )
            slotCreated = true

            // Row ids: case index * 1000 + value index, so a failure names its case.
            for (caseIndex, typeCase) in cases.enumerated() {
                let rows = typeCase.values.indices.map { "(\(caseIndex * 1000 + $0), \(expand(typeCase.values[$0])))" }
                try await execute(
                    "INSERT INTO \(schema).t (id, c\(caseIndex)) VALUES \(rows.joined(separator: ", "))",
                    on: connection
                )
            }

            let expected = try await expectedJSON(schema: schema, on: connection)
            var counts: [Int] = []
            for (settings, binary) in [(engineSettings, false), (engineSettings, true), (unusualSettings, true)] {
                for setting in settings { try await execute("SET \(setting)", on: connection) }
                let samples = try await pgoutputSamples(slot: schema, binary: binary, on: connection)
                let renderer = ValueRenderer(catalog: try await catalog(for: samples, on: connection))
                var compared = 0
                for sample in samples {
                    let typeCase = cases[sample.row / 1000]
                    let literal = typeCase.values[sample.row % 1000]
                    let context = "\(typeCase.type) value \(literal) (\(sample.format), \(settings.first!))"
                    guard let want = expected[Key(row: sample.row, column: sample.column)] else {
                        Issue.record("no to_jsonb result for \(context)", sourceLocation: sourceLocation)
                        continue
                    }
                    do {
                        let ours = try renderer.json(of: sample.bytes, format: sample.format, typeOID: sample.typeOID)
                        #expect(
                            ours == expectation(for: sample, typeCase, postgres: want),
                            "\(context)",
                            sourceLocation: sourceLocation
                        )
                        #expect(
                            renderer.catalog.supportsBinaryFormat(sample.typeOID)
                                == (typeCase.binary == .matchesPostgres),
                            "supportsBinaryFormat for \(context)",
                            sourceLocation: sourceLocation
                        )
                        let typed = try renderer.decode(sample.bytes, format: sample.format, typeOID: sample.typeOID)
                        #expect(typed.jsonText == ours, "typed value of \(context)", sourceLocation: sourceLocation)
                    } catch {
                        Issue.record("\(context): \(error)", sourceLocation: sourceLocation)
                    }
                    compared += 1
                }
                counts.append(compared)
                try await execute("RESET ALL", on: connection)
            }
            let total = cases.reduce(0) { $0 + $1.values.count }
            #expect(counts == [total, total, total], "values compared per pass", sourceLocation: sourceLocation)
            try await cleanUp(schema: schema, slot: slotCreated, on: connection)
            return total
        } catch {
            try? await cleanUp(schema: schema, slot: slotCreated, on: connection)
            throw error
        }
    }

    /// What the renderer must produce for `sample`: `to_jsonb` unless the type's binary form is not decodable.
    private static func expectation(for sample: Sample, _ typeCase: TypeCase, postgres: String) -> String {
        guard sample.format == .binary else { return postgres }
        switch typeCase.binary {
        case .matchesPostgres:
            return postgres
        case .hex:
            return "\"\\\\x"
                + sample.bytes.readableBytesView.map { String($0 >> 4, radix: 16) + String($0 & 15, radix: 16) }
                .joined() + "\""
        case .oid:
            return "\"\(sample.bytes.getInteger(at: sample.bytes.readerIndex, as: UInt32.self)!)\""
        }
    }

    private static func cleanUp(schema: String, slot: Bool, on connection: PostgresConnection) async throws {
        try await execute("RESET ALL", on: connection)
        if slot { try await connection.query("SELECT pg_drop_replication_slot(\(schema)::name)", logger: logger) }
        try await execute("DROP PUBLICATION IF EXISTS \(schema)", on: connection)
        try await execute("DROP SCHEMA \(schema) CASCADE", on: connection)
    }

    struct Key: Hashable {
        var row: Int
        var column: String
    }

    /// `to_jsonb` of every column of every row, in the session `to_jsonb` output is defined for.
    private static func expectedJSON(schema: String, on connection: PostgresConnection) async throws -> [Key: String] {
        try await execute("SET TimeZone = 'UTC'", on: connection)
        try await execute("SET lc_monetary = 'C'", on: connection)
        let rows = try await connection.query(
            PostgresQuery(
                unsafeSQL: "SELECT t.id, e.key, e.value::text FROM \(schema).t t, jsonb_each(to_jsonb(t)) e"
            ),
            logger: logger
        )
        var result: [Key: String] = [:]
        for try await (id, column, json) in rows.decode((Int, String, String).self) {
            result[Key(row: id, column: column)] = json
        }
        try await execute("RESET ALL", on: connection)
        return result
    }

    /// The non-null, non-id column values of the slot's inserts, as pgoutput protocol 1 writes them.
    static func pgoutputSamples(slot: String, binary: Bool, on connection: PostgresConnection) async throws -> [Sample]
    {
        let rows = try await connection.query(
            """
            SELECT data FROM pg_logical_slot_peek_binary_changes(\(slot)::name, NULL, NULL,
                'proto_version', '1', 'publication_names', \(slot), 'binary', \(binary ? "true" : "false"))
            """,
            logger: logger
        )
        var columns: [(name: String, typeOID: UInt32)] = []
        var samples: [Sample] = []
        for try await var message in rows.decode(ByteBuffer.self) {
            switch message.readInteger(as: UInt8.self) {
            case UInt8(ascii: "R"):
                columns = try parseRelation(&message)
            case UInt8(ascii: "I"):
                samples += try parseInsert(&message, columns: columns)
            default:
                continue
            }
        }
        return samples
    }

    private struct MalformedMessage: Error {}

    /// Relation: relation OID, namespace, name, replica identity, then per column flags, name, type OID, typmod.
    private static func parseRelation(_ message: inout ByteBuffer) throws -> [(name: String, typeOID: UInt32)] {
        guard message.readInteger(as: UInt32.self) != nil, message.readNullTerminatedString() != nil,
            message.readNullTerminatedString() != nil, message.readInteger(as: UInt8.self) != nil,
            let count = message.readInteger(as: Int16.self)
        else { throw MalformedMessage() }
        var columns: [(name: String, typeOID: UInt32)] = []
        for _ in 0..<count {
            guard message.readInteger(as: UInt8.self) != nil, let name = message.readNullTerminatedString(),
                let typeOID = message.readInteger(as: UInt32.self), message.readInteger(as: Int32.self) != nil
            else { throw MalformedMessage() }
            columns.append((name, typeOID))
        }
        return columns
    }

    /// Insert: relation OID, `N`, then the tuple: column count and per column `n`, `u`, or `t`/`b` with bytes.
    private static func parseInsert(
        _ message: inout ByteBuffer,
        columns: [(name: String, typeOID: UInt32)]
    ) throws -> [Sample] {
        guard message.readInteger(as: UInt32.self) != nil, message.readInteger(as: UInt8.self) == UInt8(ascii: "N"),
            let count = message.readInteger(as: Int16.self), Int(count) == columns.count
        else { throw MalformedMessage() }
        var values: [(column: String, typeOID: UInt32, format: ValueFormat, bytes: ByteBuffer)] = []
        var id: Int? = nil
        for column in columns {
            let kind = message.readInteger(as: UInt8.self)
            guard kind == UInt8(ascii: "t") || kind == UInt8(ascii: "b") else { continue }
            guard let length = message.readInteger(as: Int32.self), let bytes = message.readSlice(length: Int(length))
            else { throw MalformedMessage() }
            let format: ValueFormat = kind == UInt8(ascii: "b") ? .binary : .text
            if column.name == "id" {
                id =
                    format == .binary
                    ? bytes.getInteger(at: bytes.readerIndex, as: Int32.self).map(Int.init)
                    : Int(String(buffer: bytes))
            } else {
                values.append((column.name, column.typeOID, format, bytes))
            }
        }
        guard let id else { throw MalformedMessage() }
        return values.map {
            Sample(row: id, column: $0.column, typeOID: $0.typeOID, format: $0.format, bytes: $0.bytes)
        }
    }

    /// The catalog for the samples' types, filled by `TypeCatalog.lookupSQL` exactly as the engine does it.
    static func catalog(for samples: [Sample], on connection: PostgresConnection) async throws -> TypeCatalog {
        var catalog = TypeCatalog()
        let missing = Set(samples.map(\.typeOID)).filter(catalog.needsLookup).sorted()
        guard !missing.isEmpty else { return catalog }
        var binds = PostgresBindings()
        binds.append(missing.map { Int64($0) })
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: TypeCatalog.lookupSQL, binds: binds),
            logger: logger
        )
        var lookupRows: [[String?]] = []
        for try await row in rows {
            lookupRows.append(try row.map { try $0.decode(String?.self) })
        }
        catalog.add(try TypeCatalog.entries(fromLookupRows: lookupRows))
        #expect(missing.allSatisfy { !catalog.needsLookup($0) }, "catalog complete after one lookup")
        return catalog
    }
}
