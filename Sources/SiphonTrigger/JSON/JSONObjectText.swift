// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore


/// Why a text could not be read as the JSON object Siphon expected, and where.
typealias JSONObjectTextError = JSONTextError

/// Splits a JSON object into its members without parsing the values: names are unescaped, values keep their exact
/// text. A thin layer over the envelope's `JSONScanner`, so both modes read JSON the same way.
///
/// Rows in trigger mode arrive as `to_jsonb(NEW)` text from the server, and every value must reach the sinks exactly
/// as PostgreSQL rendered it (`1.50` stays `1.50`, `{"a": 1}` keeps its spacing), which parsing into numbers or
/// dictionaries would lose.
enum JSONObjectText {
    /// The members of the object in `text`, in the order they appear.
    static func members(of text: some StringProtocol) throws(JSONObjectTextError) -> [(name: String, value: String)] {
        var scanner = JSONScanner(text)
        var members: [(name: String, value: String)] = []
        try scanner.readObject { scanner, key throws(JSONTextError) in
            members.append((key, scanner.text(try scanner.skipValue())))
        }
        try scanner.finish(after: "the object")
        return members
    }

    /// The elements of the array in `text`, each as its exact text.
    static func elements(of text: some StringProtocol) throws(JSONObjectTextError) -> [String] {
        var scanner = JSONScanner(text)
        var elements: [String] = []
        try scanner.readArray { scanner throws(JSONTextError) in
            elements.append(scanner.text(try scanner.skipValue()))
        }
        try scanner.finish(after: "the array")
        return elements
    }

    /// The content of a JSON string literal (with its quotes), escapes undone.
    static func string(fromLiteral literal: some StringProtocol) throws(JSONObjectTextError) -> String {
        var scanner = JSONScanner(literal)
        let value = try scanner.readString()
        try scanner.finish(after: "the string")
        return value
    }
}
