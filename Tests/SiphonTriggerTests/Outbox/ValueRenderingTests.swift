// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonTestSupport
import SiphonTrigger
import Testing

/// Values in trigger mode come from `to_jsonb()` on the server; whatever the writing session's settings, they must be
/// what `to_jsonb()` gives in Siphon's own sessions (UTC, ISO dates, `postgres` intervals, shortest floats, hex
/// bytea) — what logical mode delivers.
@Suite struct ValueRenderingTests {
    static let columns: [(name: String, type: String, value: String)] = [
        ("id", "int PRIMARY KEY", "1"),
        ("small", "smallint", "-32768"),
        ("big", "bigint", "9007199254740993"),
        ("exact", "numeric(20,5)", "12345.67800"),
        ("nan", "numeric", "'NaN'"),
        ("single", "real", "0.1"),
        ("double", "double precision", "1e-300"),
        ("infinite", "double precision", "'-Infinity'"),
        ("flag", "boolean", "true"),
        ("label", "text", #"E'tab\there \"quoted\" \\ back / slash é 😀 \u0001'"#),
        ("code", "varchar(10)", "'abc'"),
        ("padded", "char(5)", "'ab'"),
        ("raw", "bytea", #"'\xdeadbeef'"#),
        ("day", "date", "'2026-02-28'"),
        ("clock", "time", "'23:59:59.999999'"),
        ("zoned_clock", "timetz", "'12:00:00+05:30'"),
        ("local", "timestamp", "'2026-11-21 23:00:00.5'"),
        ("instant", "timestamptz", "'2026-11-21 23:00:00.123456+02'"),
        ("span", "interval", "'1 year 2 mons 3 days 04:05:06.7'"),
        ("ident", "uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"),
        ("document", "json", #"'{"b": 1, "a": [true, null]}'"#),
        ("binary_document", "jsonb", #"'{"b": 1, "a": [true, null, 1.50]}'"#),
        ("numbers", "int[]", "'{1,NULL,3}'"),
        ("words", "text[]", #"'{"a b",c}'"#),
        ("grid", "int[][]", "'{{1,2},{3,4}}'"),
        ("spot", "point", "'(1.5,2)'"),
        ("address", "inet", "'192.168.0.1/24'"),
        ("network", "cidr", "'10.0.0.0/8'"),
        ("hardware", "macaddr", "'08:00:2b:01:02:03'"),
        ("mood", "mood", "'happy'"),
        ("pair", "pair", "ROW(1, 'x')"),
        ("search", "tsvector", "'a fat cat'"),
        ("period", "tstzrange", "'[2026-01-01 00:00+00,2026-02-01 00:00+00)'"),
        ("bits", "bit varying(8)", "B'1011'"),
        ("nothing", "text", "NULL"),
    ]

    @Test func everyTypeArrivesExactlyAsToJsonbRendersItInSiphonsSessions() async throws {
        try await TriggerFixture.with { db in
            try await db.execute(
                "CREATE TYPE \(db.s).mood AS ENUM ('sad', 'happy')",
                "CREATE TYPE \(db.s).pair AS (n int, s text)",
                "SET search_path = \(db.s), public; CREATE TABLE \(db.s).everything ("
                    + Self.columns.map { "\($0.name) \($0.type)" }.joined(separator: ", ") + ")")
            _ = try await TriggerCapture.apply(
                db.outbox([try db.capture("\(db.schema).everything")]), settings: try db.settings(),
                logger: db.logger)
            let values = Self.columns.map(\.value).joined(separator: ", ")
            // A session that renders as Siphon's do (the trigger renders directly), then one that renders everything
            // differently (the trigger renders through its pinned-settings helper).
            try await db.execute(
                "SET TimeZone = 'Etc/UTC'; INSERT INTO \(db.s).everything VALUES (\(values))",
                "SET TimeZone = 'Asia/Kathmandu'; SET DateStyle = 'SQL, DMY'; SET IntervalStyle = 'sql_standard'; "
                    + "SET extra_float_digits = 0; SET bytea_output = 'escape'; "
                    + "UPDATE \(db.s).everything SET id = 2")
            let sink = CollectingSink()
            try await OutboxPipeline(configuration: try db.readerConfiguration(), sinks: [sink], logger: db.logger)
                .catchUp()
            let expected = try await db.query(
                "SELECT " + Self.columns.map { "to_jsonb(\($0.name))::text" }.joined(separator: ", ")
                    + " FROM \(db.s).everything")[0]
            #expect(sink.changes.count == 2)
            for (position, change) in sink.changes.enumerated() {
                let row = try #require(change.new)
                #expect(row.names == Self.columns.map(\.name))
                for (index, column) in Self.columns.enumerated() where column.name != "id" {
                    // to_jsonb(NULL) is SQL NULL; inside a row, it is JSON null.
                    #expect(row[column.name] == expected[index] ?? "null", "\(position): \(column.name) \(column.type)")
                }
                #expect(row["instant"] == #""2026-11-21T21:00:00.123456+00:00""#)
                #expect(row["raw"] == #""\\xdeadbeef""#)
                #expect(row["span"] == #""1 year 2 mons 3 days 04:05:06.7""#)
            }
        }
    }
}
