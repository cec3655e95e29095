// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// JSON text building that matches PostgreSQL's own `escape_json()` byte for byte.
///
/// Foundation's encoders escape `/` and reorder keys; PostgreSQL does neither, and our output must equal
/// `to_jsonb()`, so all JSON Siphon writes goes through here.
public enum JSONText {
    /// Appends `text` as a quoted JSON string, escaping exactly what PostgreSQL escapes.
    ///
    /// The common case — nothing to escape — is one scan of contiguous UTF-8 and one append.
    public static func appendString(_ text: String, to output: inout String) {
        let clean = text.utf8.withContiguousStorageIfAvailable { bytes in
            !bytes.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
        }
        if clean == true {
            output.append("\"")
            output.append(text)
            output.append("\"")
        } else {
            self.appendEscaped(text, to: &output)
        }
    }

    /// Appends `text` as a quoted JSON string, escaping exactly what PostgreSQL escapes.
    public static func appendString(_ text: Substring, to output: inout String) {
        self.appendEscaped(text, to: &output)
    }

    private static func appendEscaped(_ text: some StringProtocol, to output: inout String) {
        output.append("\"")
        var pendingStart = text.utf8.startIndex
        let utf8 = text.utf8
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                output.append(contentsOf: String(text[pendingStart..<index]))
                switch byte {
                case UInt8(ascii: "\""): output.append("\\\"")
                case UInt8(ascii: "\\"): output.append("\\\\")
                case 0x08: output.append("\\b")
                case 0x0C: output.append("\\f")
                case 0x0A: output.append("\\n")
                case 0x0D: output.append("\\r")
                case 0x09: output.append("\\t")
                default:
                    output.append("\\u00")
                    output.append(hexDigit(byte >> 4))
                    output.append(hexDigit(byte & 0x0F))
                }
                pendingStart = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        output.append(contentsOf: String(text[pendingStart..<utf8.endIndex]))
        output.append("\"")
    }

    /// `text` as a quoted JSON string.
    public static func string(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count + 2)
        appendString(text, to: &output)
        return output
    }

    private static func hexDigit(_ nibble: UInt8) -> Character {
        Character(Unicode.Scalar(nibble < 10 ? nibble + 48 : nibble + 87))
    }
}
