// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Quoting for SQL text: every identifier and literal the trigger generator and the readers put into SQL goes
/// through here (or `TableName.quoteIdentifier`).
enum SQLText {
    /// A string literal that means `text` whatever `standard_conforming_strings` is, like the server's
    /// `quote_literal()`: `'` doubled, and text with a backslash written as `E'…'` with `\` doubled.
    static func literal(_ text: String) -> String {
        var quoted = ""
        var hasBackslash = false
        for character in text {
            switch character {
            case "'": quoted += "''"
            case "\\":
                quoted += "\\\\"
                hasBackslash = true
            default: quoted.append(character)
            }
        }
        return (hasBackslash ? "E'" : "'") + quoted + "'"
    }

    /// `NULL` for `nil`.
    static func literal(_ text: String?) -> String {
        text.map { Self.literal($0) } ?? "NULL"
    }

    /// An identifier, double-quoted where PostgreSQL needs it.
    static func identifier(_ name: String) -> String { TableName.quoteIdentifier(name) }

    /// A dollar-quoted body whose tag does not occur in `body`, so nothing inside can end it early.
    static func dollarQuoted(_ body: String, tag: String = "siphon") -> String {
        var delimiter = "$\(tag)$"
        var counter = 0
        while body.contains(delimiter) {
            counter += 1
            delimiter = "$\(tag)\(counter)$"
        }
        return delimiter + body + delimiter
    }
}
