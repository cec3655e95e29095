// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import PostgresNIO
import SiphonTestSupport
import Testing

@testable import SiphonPgOutput

/// Every type rendered from the server's real pgoutput bytes — text format under the replication session's
/// settings, binary format under those and under unusual ones — must equal `to_jsonb()` exactly.
@Suite struct ValueRendererDatabaseTests {
    @Test func integersNumericsAndFloats() async throws {
        try await RenderingHarness.assertRendersLikePostgres([
            TypeCase("int2", ["0", "-32768", "32767"]),
            TypeCase("int4", ["0", "-2147483648", "2147483647", "42"]),
            TypeCase("int8", ["0", "-9223372036854775808", "9223372036854775807"]),
            TypeCase("oid", ["0", "4294967295", "1259"]),
            TypeCase(
                "numeric",
                [
                    "0", "-0.0", "1.50", "'NaN'", "'Infinity'", "'-Infinity'", "1e-20", "1e100",
                    "-12345678901234567890.12345678901234567890", "0.0001", "9999.9999", "10000", "-0.00000012",
                    "123456789012345678901234567890", "1e-1000",
                ]
            ),
            TypeCase("numeric(10,4)", ["3.14159", "-1"]),
            TypeCase(
                "float4",
                [
                    "0", "'-0'", "1.5", "'NaN'", "'Infinity'", "'-Infinity'", "1e-45", "3.4028235e38", "0.1",
                    "1234567", "123456", "1e-5", "0.0001", "16777217", "-2.5e-38",
                ]
            ),
            TypeCase(
                "float8",
                [
                    "1e300", "1.5e-10", "'-0'", "5e-324", "1.7976931348623157e308", "0.1", "1/3::float8", "'NaN'",
                    "'Infinity'", "'-Infinity'", "1e15", "1e14", "123456789.123", "2.2250738585072014e-308",
                    "-1e-5", "0.30000000000000004",
                ]
            ),
            TypeCase("money", ["0", "-0.01", "92233720368547758.07", "-92233720368547758.08", "1234567.891", "0.5"]),
        ])
    }

    @Test func randomFloatsMatchFloatOutDigitForDigit() async throws {
        var generator = SystemRandomNumberGenerator()
        func randomDouble() -> Double {
            while true {
                let value = Double(bitPattern: generator.next())
                if value.isFinite { return value }
            }
        }
        func randomFloat() -> Float {
            while true {
                let value = Float(bitPattern: UInt32(truncatingIfNeeded: generator.next()))
                if value.isFinite { return value }
            }
        }
        // Uniform bit patterns cover every exponent; scaled values exercise the fixed-notation boundaries.
        let doubles =
            (0..<150).map { _ in randomDouble() }
            + (0..<150).map { _ in
                Double.random(in: -1...1, using: &generator)
                    * Double(sign: .plus, exponent: .random(in: -20...60, using: &generator), significand: 1)
            }
        let floats =
            (0..<150).map { _ in randomFloat() }
            + (0..<150).map { _ in
                Float.random(in: -1...1, using: &generator)
                    * Float(sign: .plus, exponent: .random(in: -20...30, using: &generator), significand: 1)
            }
        let points = zip(doubles.prefix(100), doubles.suffix(100)).map { "point(\($0)::float8, \($1)::float8)" }
        try await RenderingHarness.assertRendersLikePostgres([
            TypeCase("float8", doubles.map { "'\($0)'::float8" }),
            TypeCase("float4", floats.map { "'\($0)'::float4" }),
            TypeCase("point", points),
        ])
    }

    @Test func textTypes() async throws {
        let tricky = [
            "''", "'plain'", "E'quote \" backslash \\\\ slash /'", "E'controls \\x01\\x02\\x1f\\t\\n\\r\\b\\f end'",
            "'unicode é 日本語 😀 \u{200B} \u{2028}'", "'  padded  '", "'NULL'",
            "'{braces}, (parens) [brackets]'",
            "repeat('long ', 2000)",
        ]
        try await RenderingHarness.assertRendersLikePostgres([
            TypeCase("text", tricky),
            TypeCase("varchar(20000)", tricky),
            TypeCase("char(6)", ["'a'", "''", "'abcdef'", "'é'"]),
            TypeCase("name", ["'a_name'", "'Mixed Case \"q\"'"]),
            TypeCase("\"char\"", ["'a'", "''", "'\"'", "'\\\\'", "E'\\\\351'", "chr(127)::\"char\""]),
            TypeCase("bytea", ["''", "'\\x00ff10'", "'plain \\\\ bytes'::bytea", "decode(repeat('ab', 100), 'hex')"]),
            TypeCase("xml", ["'<a x=\"1\">&amp;é</a>'", "'just text'", "'<r><b>x</b><!-- c --></r>'"]),
            TypeCase("uuid", ["'00000000-0000-0000-0000-000000000000'", "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'"]),
            TypeCase("bool", ["true", "false"]),
        ])
    }

    @Test func jsonAndJSONB() async throws {
        let documents = [
            #"' {"b":1, "a" : [1.0E2,true,null], "b":"\u00e9\/", "aa":{}} '"#, "'null'", #"'"str\ting"'"#, "'[]'",
            "'{}'", "'-0.0'", "'1e-7'", #"'{"nested": {"deep": [[1, {"x": "\u0001"}]]}, "": "empty key"}'"#,
            #"'"\ud83d\ude00 and \"quotes\""'"#, "'123456789012345678901234567890.5'",
        ]
        try await RenderingHarness.assertRendersLikePostgres([
            TypeCase("json", documents),
            TypeCase("jsonb", documents),
            TypeCase("jsonpath", ["'$.a[*] ? (@ > 1)'", "'strict $.\"key with space\"'"]),
        ])
    }

    @Test func datesTimesAndIntervals() async throws {
        let stamps = [
            "'infinity'", "'-infinity'", "'2026-11-21 23:00:00.123456'", "'1999-12-31 23:59:59.5'",
            "'0044-03-15 12:00:00 BC'", "'4713-01-01 00:00:00 BC'", "'294276-12-31 23:59:59.999999'",
            "'2000-01-01 00:00:00'", "'1970-01-01 00:00:00.000001'", "'0001-01-01 00:00:00'",
            "'0001-12-31 23:59:59.999999 BC'",
        ]
        try await RenderingHarness.assertRendersLikePostgres([
            TypeCase(
                "date",
                [
                    "'2026-11-21'", "'infinity'", "'-infinity'", "'0044-03-15 BC'", "'4713-01-01 BC'",
                    "'5874897-12-31'",
                    "'2000-02-29'", "'1900-03-01'",
                ]
            ),
            TypeCase("time", ["'00:00'", "'23:59:59.999999'", "'24:00'", "'12:34:56.7'"]),
            TypeCase(
                "timetz",
                [
                    "'12:00+05'", "'12:00:00.5-03:30'", "'00:00+15:59'", "'12:00+05:30:15'", "'23:59:59.999999-15:59'",
                    "'00:00Z'",
                ]
            ),
            TypeCase("timestamp", stamps),
            TypeCase(
                "timestamptz",
                stamps + [
                    "'2026-11-21 23:00:00.123456+05:30'", "'2026-03-29 01:30:00 Europe/Paris'",
                    "'1900-01-01 00:00 Asia/Kolkata'",
                ]
            ),
            TypeCase("timestamp(0)", ["'2026-11-21 23:00:00.6'"]),
            TypeCase(
                "interval",
                [
                    "'0'", "'1 year 2 mons -3 days 04:05:06.789'", "'-1 year -2 mons +3 days -04:05:06'",
                    "'1 mon -1 day'",
                    "'-1 day 2 hours'", "'1.5 seconds'", "'@ 1 minute ago'",
                    "'-178956970 years -8 mons -2147483647 days -2562047788:00:54.775807'::interval - '0.000001 sec'",
                    "'178956970 years 7 mons 2147483646 days 2562047788:00:54.775807'", "'1000000 hours'",
                    "'0.000001 sec'",
                ]
            ),
        ])
    }

    @Test func networkBitsAndTextSearch() async throws {
        try await RenderingHarness.assertRendersLikePostgres([
            TypeCase(
                "inet",
                [
                    "'1.2.3.4'", "'10.1.2.3/8'", "'0.0.0.0/0'", "'::1'", "'::'", "'1::'", "'::ffff:1.2.3.4'",
                    "'::1.2.3.4'", "'2001:db8::1/64'", "'1:0:0:2:0:0:0:3'", "'1:0:2:0:3:0:4:0'",
                    "'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'",
                    "'::ffff:0:0'", "'0:0:0:0:0:1:0:0'",
                ]
            ),
            TypeCase(
                "cidr",
                [
                    "'10.0.0.0/8'", "'2001:db8::/32'", "'0.0.0.0/0'", "'::/0'", "'192.168.1.0/24'", "'1.2.3.4/32'",
                    "'::1/128'",
                ]
            ),
            TypeCase("macaddr", ["'08:00:2b:01:02:03'", "'FF-FF-FF-FF-FF-FF'"]),
            TypeCase("macaddr8", ["'08:00:2b:01:02:03:04:05'", "'08:00:2b:01:02:03'"]),
            TypeCase("bit(5)", ["B'10101'", "B'00000'"]),
            TypeCase("varbit", ["B''", "B'1'", "repeat('10', 50)::varbit"]),
            TypeCase(
                "tsvector",
                [
                    "'a:1A,2B b:3C c:4 d'", "$$'d''e' 'f\\\\g' 'sp ace':16383$$", "''",
                    "to_tsvector('english', 'The quick brown foxes jumped')",
                ]
            ),
            TypeCase(
                "tsquery",
                [
                    "'a & (b | c) & !d <-> e <2> f:*AB'", "'!(a|b)'", "'(a <-> b) | c'", "'a <-> (b | c)'", "'!!a'",
                    "'a | b & c'", "'(a|b)&c'", "$$'it''s' & 'back\\\\slash':*$$", "'a <-> (b <-> c)'",
                    "'(a <-> b) <-> c'",
                    "'!(a <-> b)'", "'x:D & y:ABCD'", "''",
                ]
            ),
        ])
    }

    @Test func systemTypes() async throws {
        try await RenderingHarness.assertRendersLikePostgres([
            TypeCase("pg_lsn", ["'0/0'", "'16/B374D848'", "'FFFFFFFF/FFFFFFFF'"]),
            TypeCase("xid", ["'0'", "'4294967295'"]),
            TypeCase("xid8", ["'18446744073709551615'"]),
            TypeCase("cid", ["'7'"]),
            TypeCase("tid", ["'(0,1)'", "'(4294967295,65535)'"]),
            TypeCase("txid_snapshot", ["'10:20:10,14,15'", "'10:10:'"]),
            TypeCase("pg_snapshot", ["'10:20:10,14,15'"]),
            TypeCase("refcursor", ["'my cursor'"]),
            TypeCase("aclitem", ["'siphon=arwdDxt/siphon'", "'=r/siphon'"]),
            TypeCase("regclass", ["'pg_class'", "'pg_catalog.pg_type'"], binary: .oid),
            TypeCase("regtype", ["'int4'", "'timestamp with time zone'"], binary: .oid),
        ])
    }

    @Test func geometricTypes() async throws {
        try await RenderingHarness.assertRendersLikePostgres([
            TypeCase("point", ["'(1,2)'", "'(1e300,-1.5e-10)'", "'(NaN,Infinity)'", "'(-0,0.1)'"]),
            TypeCase("line", ["'{1,2,3}'", "'{0,-1,0.5}'"]),
            TypeCase("lseg", ["'[(1,2),(3,4)]'"]),
            TypeCase("box", ["'(1,2),(3,4)'", "'(3,4),(1,2)'"]),
            TypeCase("path", ["'((1,2),(3,4))'", "'[(1,2),(3,4),(5.5,6)]'"]),
            TypeCase("polygon", ["'((1,2),(3,4),(0,0))'", "'((0,0))'"]),
            TypeCase("circle", ["'<(1,2),3>'", "'<(0.5,-0.5),1e-300>'"]),
        ])
    }

    @Test func arraysOfBuiltinTypes() async throws {
        try await RenderingHarness.assertRendersLikePostgres([
            TypeCase(
                "int[]",
                [
                    "'{}'", "'{1,NULL,3}'", "'{{1,2},{3,4}}'", "'[2:3]={1,2}'", "'[0:1][1:2]={{1,2},{3,4}}'",
                    "'{{{1},{2}},{{3},{4}}}'", "'[-5:-5]={7}'", "'{NULL}'", "array_fill(7, ARRAY[2,2,2,2,2,2])",
                ]
            ),
            TypeCase(
                "text[]",
                [
                    "'{}'", #"'{"a b",NULL,"",x,"q\"\\","NULL","null","{}",",","é 😀"}'"#,
                    "ARRAY[E'tab\\there', E'line\\nbreak', ' lead', 'trail ', '\\\\', 'a\"b']",
                    #"'{{"a","b"},{"c",NULL}}'"#,
                ]
            ),
            TypeCase("numeric[]", ["'{1.50,NaN,Infinity,-Infinity,0}'"]),
            TypeCase("float8[]", ["'{1e300,NaN,-0,0.1}'"]),
            TypeCase("float4[]", ["'{1e30,NaN,-Infinity}'"]),
            TypeCase("bool[]", ["'{t,f,NULL}'"]),
            TypeCase("timestamptz[]", ["'{\"2026-11-21 23:00:00+00\",infinity,\"0044-03-15 12:00:00+00 BC\"}'"]),
            TypeCase("timestamp[]", ["'{\"2026-11-21 23:00:00.5\",-infinity}'"]),
            TypeCase("date[]", ["'{2026-11-21,infinity,\"0001-01-01 BC\"}'"]),
            TypeCase("time[]", ["'{00:00,24:00}'"]),
            TypeCase("interval[]", ["'{\"1 day\",\"-00:00:01\"}'"]),
            TypeCase("json[]", [#"ARRAY['{"b":1,"a":2}'::json, 'null', NULL]"#]),
            TypeCase("jsonb[]", [#"ARRAY['{"b":1,"a":2}'::jsonb, '"x"']"#]),
            TypeCase("bytea[]", ["ARRAY['\\x00'::bytea, '']"]),
            TypeCase("box[]", ["'{(1,2),(3,4);(5,6),(7,8)}'"]),
            TypeCase("point[]", ["'{\"(1,2)\",NULL}'"]),
            TypeCase("uuid[]", ["'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'"]),
            TypeCase("inet[]", ["'{1.2.3.4/8,::1}'"]),
            TypeCase("money[]", ["'{1.5,-2}'"]),
            TypeCase("varbit[]", ["'{101,\"\"}'"]),
            TypeCase("tsvector[]", ["ARRAY['a:1 b'::tsvector]"]),
            TypeCase("int4range[]", ["'{\"[1,2)\",empty}'"]),
            TypeCase("\"char\"[]", ["'{a,b,\"\"}'"]),
            TypeCase("oid[]", ["'{1,4294967295}'"]),
            TypeCase("int8[]", ["'{-9223372036854775808}'"]),
            TypeCase("name[]", ["'{a,\"b c\"}'"]),
            TypeCase("int2vector", ["'1 2 3'", "''"]),
            TypeCase("oidvector", ["'26 27'"]),
        ])
    }

    @Test func rangesAndMultiranges() async throws {
        try await RenderingHarness.assertRendersLikePostgres([
            TypeCase("int4range", ["'empty'", "'[1,5)'", "'(,5]'", "'(,)'", "'[3,]'", "'(1,2)'"]),
            TypeCase("int8range", ["'[-9223372036854775808,9223372036854775807)'"]),
            TypeCase("numrange", ["'[1.5,2.50]'", "'(,0)'", "'[NaN,NaN]'", "'(-Infinity,Infinity)'"]),
            TypeCase(
                "tsrange",
                [
                    "'[2026-01-01 10:00,2026-01-02)'", "'[-infinity,infinity]'",
                    "'[0044-03-15 00:00 BC,2026-01-01 00:00:00.25]'",
                ]
            ),
            TypeCase("tstzrange", ["'[2026-01-01 10:00+02,2026-01-02 00:00+00)'", "'(,infinity)'"]),
            TypeCase("daterange", ["'[2026-01-01,2026-01-10]'", "'[0044-03-15 BC,)'", "'empty'"]),
            TypeCase("int4multirange", ["'{}'", "'{[1,3),[5,7)}'", "'{(,)}'", "'{[1,2],(5,)}'"]),
            TypeCase("int8multirange", ["'{[1,2)}'"]),
            TypeCase("nummultirange", ["'{[1.5,2),(3,)}'"]),
            TypeCase("tsmultirange", ["'{[2026-01-01,2026-01-02),[2026-02-01,)}'"]),
            TypeCase("tstzmultirange", ["'{[2026-01-01 00:00+00,2026-01-02 00:00+00)}'"]),
            TypeCase("datemultirange", ["'{[2026-01-01,2026-01-05),[2026-02-01,2026-02-03)}'"]),
        ])
    }

    @Test func userDefinedTypesThroughTheCatalog() async throws {
        let setup = [
            #"CREATE TYPE {s}.mood AS ENUM ('happy', 'so-so', 'a "quoted" label', 'é 😀', '')"#,
            "CREATE DOMAIN {s}.positive AS int CHECK (VALUE > 0)",
            "CREATE DOMAIN {s}.tags AS text[]",
            #"CREATE TYPE {s}.inner AS (x int, "we ird ""name""" text, at timestamptz, moods {s}.mood[])"#,
            "CREATE TYPE {s}.outer AS (id {s}.positive, inside {s}.inner, insides {s}.inner[], n numeric, "
                + "r int4range, j json)",
            "CREATE TYPE {s}.dropped AS (keep int, gone text, tail text)",
            "ALTER TYPE {s}.dropped DROP ATTRIBUTE gone",
            "CREATE TYPE {s}.floatrange AS RANGE (subtype = float8)",
            "CREATE TYPE {s}.moodrange AS RANGE (subtype = {s}.mood)",
            "CREATE DOMAIN {s}.shortrange AS int4range CHECK (NOT isempty(VALUE))",
            "CREATE DOMAIN {s}.inner_list AS {s}.inner[]",
        ]
        try await RenderingHarness.assertRendersLikePostgres(
            [
                TypeCase("{s}.mood", ["'happy'", #"'a "quoted" label'"#, "'é 😀'", "''"]),
                TypeCase("{s}.mood[]", [#"'{happy,NULL,"a \"quoted\" label",""}'"#, "'{}'"]),
                TypeCase("{s}.positive", ["1", "2147483647"]),
                TypeCase("{s}.positive[]", ["'{1,2}'"]),
                TypeCase("{s}.tags", [#"'{a,"b c",NULL}'"#]),
                TypeCase(
                    "{s}.inner",
                    [
                        "ROW(1, 'text', '2026-11-21 23:00+00', '{happy}')", "ROW(NULL, NULL, NULL, NULL)",
                        #"ROW(-1, E'quo"te, par(en) back\\slash', 'infinity', '{}')"#, "ROW(0, '', NULL, '{NULL}')",
                    ]
                ),
                TypeCase(
                    "{s}.outer",
                    [
                        "ROW(7, ROW(1, 'x', NULL, '{so-so}'), ARRAY[ROW(2, 'y', NULL, NULL)::{s}.inner, NULL], "
                            + #"1.50, '[1,2)', '{"b":[1.0E1], "a":null}')"#,
                        "ROW(NULL, NULL, '{}', 'NaN', 'empty', NULL)",
                    ]
                ),
                TypeCase("{s}.inner[]", ["ARRAY[ROW(1, 'a b', NULL, NULL)::{s}.inner, NULL]", "'{}'"]),
                TypeCase("{s}.dropped", ["ROW(1, 'z')"]),
                TypeCase("{s}.floatrange", ["'[1.5,1e300)'", "'empty'", "'(,-0.1]'"]),
                TypeCase("{s}.floatmultirange", ["'{[1,2),[3.5,)}'"]),
                TypeCase("{s}.moodrange", [#"'[happy,"a \"quoted\" label"]'"#]),
                TypeCase("{s}.shortrange", ["'[1,5)'"]),
                TypeCase("{s}.inner_list", ["ARRAY[ROW(1, 'a', NULL, '{happy}')::{s}.inner]"]),
                TypeCase("{s}.floatrange[]", ["'{\"[1,2)\",empty}'"]),
            ],
            setup: setup
        )
    }

    @Test func catalogLookupWithInlineOIDsFollowsNestedTypes() async throws {
        let schema = TestEnvironment.uniqueName("lookup")
        try await TestEnvironment.withClient { client in
            try await client.withConnection { connection in
                try await RenderingHarness.execute("CREATE SCHEMA \(schema)", on: connection)
                do {
                    for statement in [
                        "CREATE TYPE \(schema).mood AS ENUM ('a', 'b')",
                        "CREATE TYPE \(schema).moods AS RANGE (subtype = \(schema).mood)",
                        "CREATE TYPE \(schema).pair AS (\"first name\" text, moods \(schema).mood[], gone int, "
                            + "r \(schema).moods)",
                        "ALTER TYPE \(schema).pair DROP ATTRIBUTE gone",
                        "CREATE DOMAIN \(schema).pairs AS \(schema).pair[]",
                    ] {
                        try await RenderingHarness.execute(statement, on: connection)
                    }
                    let rows = try await connection.query(
                        PostgresQuery(unsafeSQL: "SELECT '\(schema).pairs'::regtype::oid::int8"),
                        logger: RenderingHarness.logger
                    )
                    var domainOID: UInt32 = 0
                    for try await oid in rows.decode(Int64.self) { domainOID = UInt32(oid) }

                    let lookup = try await connection.query(
                        PostgresQuery(unsafeSQL: TypeCatalog.lookupSQL(for: [domainOID])),
                        logger: RenderingHarness.logger
                    )
                    var lookupRows: [[String?]] = []
                    for try await row in lookup { lookupRows.append(try row.map { try $0.decode(String?.self) }) }
                    let entries = try TypeCatalog.entries(fromLookupRows: lookupRows)
                    let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })
                    // Everything reachable from the domain, built-ins (text) left out.
                    #expect(
                        Set(byName.keys)
                            == Set(["pairs", "_pair", "pair", "_mood", "mood", "moods"].map { "\(schema).\($0)" })
                    )
                    #expect(byName["\(schema).mood"]?.kind == .enumeration)
                    #expect(byName["\(schema).moods"]?.kind == .range(subtypeOID: byName["\(schema).mood"]!.oid))
                    #expect(byName["\(schema).pairs"]?.kind == .domain(baseOID: byName["\(schema)._pair"]!.oid))
                    #expect(
                        byName["\(schema).pair"]?.kind
                            == .composite(fields: [
                                .init(name: "first name", typeOID: 25, attributeNumber: 1),
                                .init(name: "moods", typeOID: byName["\(schema)._mood"]!.oid, attributeNumber: 2),
                                .init(name: "r", typeOID: byName["\(schema).moods"]!.oid, attributeNumber: 4),
                            ])
                    )
                    let catalog = TypeCatalog(entries)
                    #expect(!catalog.needsLookup(domainOID))
                    let renderer = ValueRenderer(catalog: catalog)
                    #expect(
                        try renderer.json(
                            of: ByteBuffer(string: #"{"(\"x y\",\"{a,NULL}\",\"[a,b)\")",NULL}"#),
                            format: .text,
                            typeOID: domainOID
                        )
                            == #"[{"r": "[a,b)", "moods": ["a", null], "first name": "x y"}, null]"#
                    )
                } catch {
                    try? await RenderingHarness.execute("DROP SCHEMA \(schema) CASCADE", on: connection)
                    throw error
                }
                try await RenderingHarness.execute("DROP SCHEMA \(schema) CASCADE", on: connection)
            }
        }
    }

    @Test func extensionTypesInTheirOwnDatabase() async throws {
        let database = TestEnvironment.uniqueName("values_ext")
        try await TestEnvironment.withClient { client in
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(database)"))
        }
        do {
            try await RenderingHarness.withClient(database: database) { client in
                try await client.query("CREATE EXTENSION citext")
                try await client.query("CREATE EXTENSION hstore")
                try await client.query("CREATE EXTENSION ltree")
                try await client.query("CREATE EXTENSION cube")
            }
            try await RenderingHarness.assertRendersLikePostgres(
                [
                    TypeCase("citext", ["'MiXeD Case'", "''", #"E'quote " and \\'"#]),
                    TypeCase("citext[]", [#"'{a,"B C"}'"#]),
                    TypeCase(
                        "hstore",
                        [
                            #"'a=>1, b=>NULL, "x y"=>"q\"z", "back\\slash"=>"é"'"#, "''",
                            #"'longer_key=>1, k=>2, a=>3, ab=>4'"#,
                        ]
                    ),
                    TypeCase("hstore[]", [#"ARRAY['a=>1'::hstore, NULL]"#]),
                    TypeCase("ltree", ["'Top.Science.Astronomy'", "''"], binary: .hex),
                    TypeCase("cube", ["'(1,2),(3,4)'", "'(1e300)'"], binary: .hex),
                ],
                database: database
            )
        } catch {
            try? await dropDatabase(database)
            throw error
        }
        try await dropDatabase(database)
    }

    private func dropDatabase(_ name: String) async throws {
        try await TestEnvironment.withClient { client in
            try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)"))
        }
    }
}
