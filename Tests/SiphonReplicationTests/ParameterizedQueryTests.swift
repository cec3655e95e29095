// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonReplication
import SiphonTestSupport
import Testing

/// `ServerConnection.query(_:parameters:)` against the real server: values travel as bind parameters and come
/// back byte for byte, whatever they contain.
@Suite struct ParameterizedQueryTests {
    let logger = Logger(label: "parameterized-query")

    func withConnection<Result>(_ body: (ServerConnection) async throws -> Result) async throws -> Result {
        try await ServerConnection.withConnection(
            settings: try ConnectionSettings(url: try TestEnvironment.url(), environment: [:]), replication: false,
            logger: self.logger, body)
    }

    @Test func hostileValuesRoundTripAsParameters() async throws {
        let seed = QuotingPropertyTests.seed()
        let values = QuotingPropertyTests.hostileStrings(count: 200, maximumBytes: 200, seed: seed)
            + ["\u{600}')); DROP TABLE public.victim; --", ""]
        let rows = try await self.withConnection { connection in
            var rows: [[String?]] = []
            for value in values {
                rows += try await connection.query(
                    "SELECT $1::text, encode(convert_to($1::text, 'UTF8'), 'hex'), $2::text IS NULL",
                    parameters: [value, nil]
                ).rows
            }
            return rows
        }
        for (value, row) in zip(values, rows) {
            #expect(row[0].map { Array($0.utf8) } == Array(value.utf8), "seed \(seed): \(Array(value.unicodeScalars))")
            #expect(row[1] == QuotingPropertyTests.hex(value), "seed \(seed)")
            #expect(row[2] == "t")
        }
        #expect(rows.count == values.count)
    }

    @Test func writesReportTheirTagAndErrorsLeaveTheSessionUsable() async throws {
        let table = TestEnvironment.uniqueName("params")
        try await self.withConnection { connection in
            try await connection.simpleQuery("CREATE TABLE public.\(table) (id int PRIMARY KEY, note text)")
            let insert = try await connection.query(
                "INSERT INTO public.\(table) VALUES ($1, $2), ($3, $4)", parameters: ["1", "a'b", "2", nil])
            #expect(insert.commandTag == "INSERT 0 2")
            #expect(insert.columns.isEmpty)
            let duplicate = await #expect(throws: SiphonError.self) {
                try await connection.query("INSERT INTO public.\(table) VALUES ($1, $2)", parameters: ["1", "x"])
            }
            #expect(duplicate?.serverError?.sqlState == "23505")
            let several = await #expect(throws: SiphonError.self) {
                try await connection.query("SELECT $1::int; DROP TABLE public.\(table)", parameters: ["1"])
            }
            #expect(several?.serverError?.sqlState == "42601", "\(String(describing: several))")
            let nul = await #expect(throws: SiphonError.self) {
                try await connection.query("SELECT $1::text", parameters: ["a\u{0}b"])
            }
            #expect(nul?.description.contains("0x00") == true, "\(String(describing: nul))")
            let rows = try await connection.query(
                "SELECT id, note FROM public.\(table) WHERE id = ANY($1::int[]) ORDER BY id", parameters: ["{1,2}"]
            ).rows
            #expect(rows == [["1", "a'b"], ["2", nil]])
            try await connection.simpleQuery("DROP TABLE public.\(table)")
        }
    }
}
