// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonEngine
import Testing

@testable import SiphonTrigger

@Suite struct JSONObjectTextTests {
    @Test func splitsMembersKeepingEachValuesExactText() throws {
        let members = try JSONObjectText.members(
            of: #"{"id": 1, "price": 1.50, "tags": ["a", "b"], "doc": {"x": [1, {"y": null}]}, "name": "a\"b", "ok": true}"#)
        #expect(members.map(\.name) == ["id", "price", "tags", "doc", "name", "ok"])
        #expect(members.map(\.value) == ["1", "1.50", #"["a", "b"]"#, #"{"x": [1, {"y": null}]}"#, #""a\"b""#, "true"])
    }

    @Test func unescapesMemberNames() throws {
        let members = try JSONObjectText.members(of: #"{"Order \"Items\"": 1, "caf\u00e9\\x": 2, "": 3}"#)
        #expect(members.map(\.name) == ["Order \"Items\"", "café\\x", ""])
    }

    @Test func readsEmptyObjects() throws {
        #expect(try JSONObjectText.members(of: " {} ").isEmpty)
    }

    @Test func rejectsMalformedInputWithThePosition() {
        #expect(throws: JSONObjectTextError(message: "expected '}'", offset: 8)) {
            try JSONObjectText.members(of: #"{"a": 1 "b": 2}"#)
        }
        #expect(throws: JSONObjectTextError(message: "expected '{'", offset: 0)) {
            try JSONObjectText.members(of: "[1]")
        }
        #expect(throws: JSONObjectTextError(message: "unterminated string", offset: 6)) {
            try JSONObjectText.members(of: #"{"a": "oops}"#)
        }
        #expect(throws: JSONObjectTextError(message: "unexpected text after the object", offset: 8)) {
            try JSONObjectText.members(of: #"{"a": 1}x"#)
        }
        #expect(throws: JSONObjectTextError(message: "expected a value", offset: 6)) {
            try JSONObjectText.members(of: #"{"a": tru}"#)
        }
        #expect(throws: JSONObjectTextError(message: "expected ']'", offset: 11)) {
            try JSONObjectText.members(of: #"{"a": [1, 2}"#)
        }
    }

    @Test func readsStringLiterals() throws {
        #expect(try JSONObjectText.string(fromLiteral: #""a\nb\u0001\ud83d\ude00""#) == "a\nb\u{1}😀")
    }
}
