// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import Testing

/// Quoting must work on the bytes PostgreSQL's lexer reads, not on Swift `Character`s (grapheme clusters), which glue
/// a quote to a prepend character before it (U+0600) or a combining mark after it (U+0301). Strings are compared by
/// their UTF-8 bytes throughout: Swift's `==` treats canonically equivalent strings as equal.
@Suite struct ByteWiseQuotingTests {
    /// The attacks from issue 9: a quote glued into one grapheme cluster with its neighbour.
    static let attacks = [
        "\u{600}'", "'\u{301}", "\u{600}\"", "\"\u{301}", "\u{600}\\", "\\\u{301}", "\u{600}'\u{301}",
        "\u{600}')); DROP TABLE public.victim; --",
        "\u{600}\"; DROP TABLE public.victim; --",
        "x\u{600}'; SELECT 1; --\u{301}",
    ]

    @Test func literalDoublesQuotesGluedToANeighbour() {
        #expect(Array(SQLQuoting.literal("\u{600}'").utf8) == Array("'\u{600}'''".utf8))
        #expect(Array(SQLQuoting.literal("'\u{301}").utf8) == Array("'''\u{301}'".utf8))
        #expect(Array(SQLQuoting.literal("\u{600}\\").utf8) == Array("E'\u{600}\\\\'".utf8))
        #expect(
            Array(SQLQuoting.literal("\u{600}')); DROP TABLE public.victim; --").utf8)
                == Array("'\u{600}'')); DROP TABLE public.victim; --'".utf8))
    }

    @Test func identifierDoublesQuotesGluedToANeighbour() {
        #expect(Array(SQLQuoting.identifier("\u{600}\"").utf8) == Array("\"\u{600}\"\"\"".utf8))
        #expect(Array(SQLQuoting.identifier("\"\u{301}").utf8) == Array("\"\"\"\u{301}\"".utf8))
        #expect(
            Array(TableName(schema: "public", "\u{600}\"; DROP TABLE public.victim; --").description.utf8)
                == Array("public.\"\u{600}\"\"; DROP TABLE public.victim; --\"".utf8))
    }

    @Test(arguments: attacks)
    func attacksReadBackAsOneToken(text: String) throws {
        #expect(try Lexer.literal(SQLQuoting.literal(text)) == Array(text.utf8))
        #expect(try Lexer.identifier(SQLQuoting.identifier(text)) == Array(text.utf8))
        let name = TableName(schema: text, text)
        #expect(try Lexer.qualifiedName(name.description) == [Array(text.utf8), Array(text.utf8)])
        #expect(try Lexer.qualifiedName(TablePattern(name).description) == [Array(text.utf8), Array(text.utf8)])
    }

    /// Every string of up to four pieces from an alphabet of quotes, backslashes, NUL and the characters that glue
    /// onto them reads back, byte for byte, as one token ending exactly where the quoted text ends.
    @Test func everyShortStringOfTrickyPiecesReadsBackAsOneToken() throws {
        let pieces = ["'", "\"", "\\", "\u{0}", "\u{600}", "\u{301}", "a", "\u{1F469}\u{200D}", "$"]
        var strings = [""]
        var all: [String] = []
        for _ in 1...4 {
            strings = strings.flatMap { prefix in pieces.map { prefix + $0 } }
            all += strings
        }
        for text in all {
            #expect(try Lexer.literal(SQLQuoting.literal(text)) == Array(text.utf8), "\(Array(text.unicodeScalars))")
            #expect(try Lexer.identifier(SQLQuoting.identifier(text)) == Array(text.utf8), "\(Array(text.unicodeScalars))")
        }
    }

    /// PostgreSQL text cannot hold NUL: the quoted forms carry an escape the server refuses, never a raw NUL that
    /// would end the query string early.
    @Test func nulBecomesAnEscapeTheServerRefuses() {
        #expect(SQLQuoting.literal("a\u{0}b") == #"E'a\000b'"#)
        #expect(SQLQuoting.literal("a\u{0}'\\") == #"E'a\000''\\'"#)
        #expect(SQLQuoting.identifier("a\u{0}b") == #"U&"a\0000b""#)
        #expect(SQLQuoting.identifier("\u{0}\"\\") == #"U&"\0000""\\""#)
        #expect(!SQLQuoting.literal("\u{0}").utf8.contains(0))
        #expect(!SQLQuoting.identifier("\u{0}").utf8.contains(0))
    }

    @Test func replicationOptionValuesDoubleGluedQuotes() {
        #expect(Array(SQLQuoting.doubling("'", in: "\u{600}'x").utf8) == Array("\u{600}''x".utf8))
        #expect(SQLQuoting.doubling("'", in: "plain") == "plain")
    }

    /// PostgreSQL compares names by bytes; canonically equivalent names are different tables.
    @Test func namesAreEqualOnlyWhenTheirBytesAre() {
        let composed = TableName(schema: "public", "caf\u{E9}")
        let decomposed = TableName(schema: "public", "cafe\u{301}")
        #expect(composed != decomposed)
        #expect(Set([composed, decomposed]).count == 2)
        #expect(composed == TableName(schema: "public", "caf\u{E9}"))
        #expect(!TablePattern(composed).matches(decomposed))
        #expect(TablePattern(composed).matches(composed))
        #expect(TablePattern.Part.exactly("caf\u{E9}") != .exactly("cafe\u{301}"))
        #expect(Set([TablePattern(composed), TablePattern(decomposed)]).count == 2)
        #expect([composed, decomposed].sorted() == [decomposed, composed], "by bytes: 0x65 'e' sorts before 0xC3")
    }
}

/// The part of PostgreSQL's lexer (src/backend/parser/scan.l) that reads one quoted token, on bytes, with
/// `standard_conforming_strings = on`. It throws when the token ends before the text does: the rest would be SQL.
enum Lexer {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func literal(_ quoted: String) throws -> [UInt8] {
        var bytes = Array(quoted.utf8)[...]
        let escapes = bytes.first == UInt8(ascii: "E")
        if escapes { bytes.removeFirst() }
        let value = try self.token(&bytes, quote: UInt8(ascii: "'"), escape: escapes ? .backslash : nil)
        guard bytes.isEmpty else { throw Failure(description: "the literal ends early in \(quoted)") }
        return value
    }

    static func identifier(_ quoted: String) throws -> [UInt8] {
        var bytes = Array(quoted.utf8)[...]
        let value = try self.identifier(&bytes)
        guard bytes.isEmpty else { throw Failure(description: "the identifier ends early in \(quoted)") }
        return value
    }

    /// `schema.table` as two identifiers.
    static func qualifiedName(_ text: String) throws -> [[UInt8]] {
        var bytes = Array(text.utf8)[...]
        let schema = try self.identifier(&bytes)
        guard bytes.first == UInt8(ascii: ".") else { throw Failure(description: "no dot after the schema in \(text)") }
        bytes.removeFirst()
        let table = try self.identifier(&bytes)
        guard bytes.isEmpty else { throw Failure(description: "the name ends early in \(text)") }
        return [schema, table]
    }

    private enum Escape { case backslash, unicode }

    private static func identifier(_ bytes: inout ArraySlice<UInt8>) throws -> [UInt8] {
        if bytes.starts(with: Array(#"U&""#.utf8)) {
            bytes.removeFirst(2)
            return try self.token(&bytes, quote: UInt8(ascii: "\""), escape: .unicode)
        }
        if bytes.first == UInt8(ascii: "\"") { return try self.token(&bytes, quote: UInt8(ascii: "\""), escape: nil) }
        let name = bytes.prefix { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || $0 == UInt8(ascii: "_")
            || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) }
        guard !name.isEmpty else { throw Failure(description: "no identifier") }
        bytes.removeFirst(name.count)
        return Array(name)
    }

    /// Reads `quote … quote` (the opening quote first), where a doubled quote is one quote.
    private static func token(_ bytes: inout ArraySlice<UInt8>, quote: UInt8, escape: Escape?) throws -> [UInt8] {
        guard bytes.first == quote else { throw Failure(description: "no opening quote") }
        bytes.removeFirst()
        var value: [UInt8] = []
        while let byte = bytes.popFirst() {
            if byte == quote {
                guard bytes.first == quote else { return value }
                bytes.removeFirst()
                value.append(quote)
            } else if byte == UInt8(ascii: "\\"), let escape {
                let digits = escape == .backslash ? 3 : 4
                if bytes.first == UInt8(ascii: "\\") {
                    bytes.removeFirst()
                    value.append(byte)
                } else if bytes.prefix(digits).elementsEqual(repeatElement(UInt8(ascii: "0"), count: digits)) {
                    bytes.removeFirst(digits)
                    value.append(0)
                } else {
                    throw Failure(description: "an escape Siphon never writes")
                }
            } else {
                value.append(byte)
            }
        }
        throw Failure(description: "the quote is never closed")
    }
}
