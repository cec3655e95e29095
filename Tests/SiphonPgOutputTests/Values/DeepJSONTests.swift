// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import Testing

@testable import SiphonPgOutput

/// A `json` value renders as its `jsonb` text, on one line, however deeply it is nested.
@Suite struct DeepJSONTests {
    @Test func deepDocumentsWithWhitespaceRenderLikeToJSONB() async throws {
        // Deeper than the old normaliser's 512 levels, with newlines between every token, but within the depth
        // PostgreSQL's own json parser accepts (its recursion is bounded by max_stack_depth).
        try await RenderingHarness.assertRendersLikePostgres([
            TypeCase(
                "json",
                [
                    #"(repeat(E'[\n ', 600) || '1.0E2' || repeat(E' ,\n\t"x" ]', 600))::json"#,
                    #"(repeat(E'{"bb" :\n 1, "a":\r\n', 2000) || 'null' || repeat(E'\n, "bb": 2 }', 2000))::json"#,
                    #"(repeat(E'[ {"k":\n', 1500) || E'"\\u00e9\\n"' || repeat(E'}\n ]', 1500))::json"#,
                ]),
        ])
    }

    @Test func extremeDepthRendersOnOneLineWithoutRecursion() throws {
        let depth = 200_000
        let json = String(repeating: "{\"b\": 1,\n \"a\" :\n[", count: depth) + "true"
            + String(repeating: "\n]}", count: depth)
        let rendered = try ValueRenderer().json(of: ByteBuffer(string: json), format: .text, typeOID: 114)
        let expected = String(repeating: "{\"a\": [", count: depth) + "true" + String(repeating: "], \"b\": 1}", count: depth)
        #expect(rendered == expected)
        #expect(!rendered.contains("\n"))
    }

    @Test func malformedDeepDocumentsAreQuotedAsOneString() throws {
        let json = String(repeating: "[\n", count: 100_000) + "]"
        let rendered = try ValueRenderer().json(of: ByteBuffer(string: json), format: .text, typeOID: 114)
        #expect(!rendered.contains("\n"))
        #expect(rendered.hasPrefix("\"[\\n[\\n"))
    }
}
