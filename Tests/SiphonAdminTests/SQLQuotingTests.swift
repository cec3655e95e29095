// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonAdmin
import SiphonCore
import Testing

@Suite struct SQLQuotingTests {
    @Test func literalsDoubleQuotesAndEscapeBackslashes() {
        #expect(SQLQuoting.literal("plain") == "'plain'")
        #expect(SQLQuoting.literal("it's") == "'it''s'")
        #expect(SQLQuoting.literal("a\\b") == "E'a\\\\b'")
        #expect(SQLQuoting.literal("'\\'") == "E'''\\\\'''")
        #expect(SQLQuoting.literal("Grüße 日本") == "'Grüße 日本'")
        #expect(SQLQuoting.literal(nil) == "NULL")
    }

    /// Every tricky name must come back from the server unchanged, and be quoted exactly as `quote_ident()` and
    /// `quote_literal()` quote it, for every keyword the server knows.
    @Test func quotingMatchesTheServer() async throws {
        let names = [
            "orders", "Orders", "order items", "x\"y", "\"", "it's", "back\\slash", "select", "user", "name",
            "9lives", "_ok", "a$b", "café", "日本", "e\u{301}", "tab\there", "😀",
        ]
        try await AdminFixture.with { db in
            let keywords = try await db.query("SELECT word FROM pg_get_keywords() ORDER BY word").map { $0[0] ?? "" }
            #expect(keywords.count > 400)
            let all = names + keywords
            let values = all.map { "(\(SQLQuoting.literal($0)), \(SQLQuoting.literal(SQLQuoting.identifier($0))))" }
            let rows = try await db.query(
                """
                SELECT name, quote_ident(name), quote_literal(name)
                FROM (VALUES \(values.joined(separator: ", "))) AS v(name, ours)
                """
            )
            #expect(rows.map { $0[0] ?? "" } == all)
            #expect(rows.map { $0[1] ?? "" } == all.map(SQLQuoting.identifier))
            #expect(rows.map { $0[2] ?? "" } == all.map { SQLQuoting.literal($0) })
        }
    }
}
