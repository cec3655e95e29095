// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.


/// Quoting for SQL sent through the simple query protocol, where there are no bind parameters: every identifier and
/// literal Siphon puts into SQL text goes through here.
public enum SQLQuoting {
    /// An identifier, double-quoted where PostgreSQL needs it (exactly like the server's `quote_ident()`).
    public static func identifier(_ name: String) -> String {
        TableName.quoteIdentifier(name)
    }

    /// A string literal that means `text` whatever `standard_conforming_strings` is, like the server's
    /// `quote_literal()`: `'` is doubled, and text with a backslash becomes an `E'…'` literal with `\` doubled.
    ///
    /// PostgreSQL text cannot hold a NUL character; names containing one are refused before they get here.
    public static func literal(_ text: String) -> String {
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

    /// An optional literal: `NULL` for `nil`.
    public static func literal(_ text: String?) -> String {
        text.map { Self.literal($0) } ?? "NULL"
    }
}
