// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// Quoting for SQL sent through the simple query protocol, where there are no bind parameters: every identifier and
/// literal Siphon puts into SQL text goes through here. Where a value can be a parameter instead
/// (`ServerConnection.query(_:parameters:)`), it should be.
///
/// Quoting works on UTF-8 bytes, never on `Character`s: PostgreSQL's lexer reads bytes, while a Swift `Character` is
/// a grapheme cluster that can glue a quote to its neighbour (`"\u{600}'"` or `"'\u{301}"` is one `Character`), so a
/// per-`Character` comparison would miss that quote and leave it bare. Byte-wise quoting is sound because every
/// Siphon session pins `client_encoding=UTF8` in its startup packet (`ServerConnection.sessionParameters`; a
/// startup parameter outranks role and database defaults), and in UTF-8 the bytes of a multi-byte character are all
/// 0x80 or above, so no ASCII quote or backslash byte can hide inside one, as it can in SJIS, BIG5 or GBK.
public enum SQLQuoting {
    /// An identifier, double-quoted where PostgreSQL needs it (exactly like the server's `quote_ident()`).
    ///
    /// PostgreSQL names cannot hold a NUL character. A name with one becomes a `U&"…\0000…"` identifier, which the
    /// server refuses ("invalid Unicode escape value"), so the statement fails instead of naming something else.
    public static func identifier(_ name: String) -> String {
        TableName.quoteIdentifier(name)
    }

    /// A string literal that means `text` whatever `standard_conforming_strings` is, like the server's
    /// `quote_literal()`: `'` is doubled, and text with a backslash becomes an `E'…'` literal with `\` doubled.
    ///
    /// PostgreSQL text cannot hold a NUL character. Text with one becomes an `E'…\000…'` literal, which the server
    /// refuses ("invalid byte sequence for encoding "UTF8": 0x00"), so the statement fails instead of running with
    /// the text cut short.
    public static func literal(_ text: String) -> String {
        var quoted: [UInt8] = [UInt8(ascii: "'")]
        quoted.reserveCapacity(text.utf8.count + 3)
        var needsEscapeSyntax = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "'"):
                quoted += [byte, byte]
            case UInt8(ascii: "\\"):
                quoted += [byte, byte]
                needsEscapeSyntax = true
            case 0:
                quoted += Array(#"\000"#.utf8)
                needsEscapeSyntax = true
            default:
                quoted.append(byte)
            }
        }
        quoted.append(UInt8(ascii: "'"))
        // Only ASCII bytes were inserted, next to ASCII bytes, so the result is valid UTF-8 whenever `text` was.
        return (needsEscapeSyntax ? "E" : "") + String(decoding: quoted, as: UTF8.self)
    }

    /// An optional literal: `NULL` for `nil`.
    public static func literal(_ text: String?) -> String {
        text.map { Self.literal($0) } ?? "NULL"
    }

    /// `text` with every `quote` byte doubled, for the inside of a quoted token whose only escape is doubling its
    /// own quote (a replication command's `'…'` option value, a `"…"` identifier). Works on bytes; see above.
    public static func doubling(_ quote: Unicode.Scalar, in text: String) -> String {
        precondition(quote.isASCII, "only an ASCII quote can be doubled byte-wise")
        let quoteByte = UInt8(quote.value)
        guard text.utf8.contains(quoteByte) else { return text }
        var doubled: [UInt8] = []
        doubled.reserveCapacity(text.utf8.count + 8)
        for byte in text.utf8 {
            doubled.append(byte)
            if byte == quoteByte { doubled.append(byte) }
        }
        return String(decoding: doubled, as: UTF8.self)
    }
}
