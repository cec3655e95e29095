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
        if self.needsEscaping(text) {
            self.appendEscaped(text, to: &output)
        } else {
            output.append("\"")
            output.append(text)
            output.append("\"")
        }
    }

    /// Appends UTF-8 text as a quoted JSON string; text without a character to escape (the common case) is copied
    /// in one step.
    public static func appendString(_ bytes: UnsafeRawBufferPointer, to output: inout String) {
        if self.needsEscaping(bytes) {
            self.appendEscaped(String(decoding: bytes, as: UTF8.self), to: &output)
            return
        }
        output.append(
            String(unsafeUninitializedCapacity: bytes.count + 2) { buffer in
                buffer[0] = UInt8(ascii: "\"")
                UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(buffer)[1...]).copyMemory(from: bytes)
                buffer[bytes.count + 1] = UInt8(ascii: "\"")
                return bytes.count + 2
            }
        )
    }

    /// Whether `text` has a character `escape_json` escapes, or can go between quotes as it is.
    public static func needsEscaping(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { self.needsEscaping(UnsafeRawBufferPointer($0)) }
    }

    /// Whether the UTF-8 text has a character `escape_json` escapes: a control character, `"` or `\`.
    @inlinable
    public static func needsEscaping(_ bytes: UnsafeRawBufferPointer) -> Bool {
        // Eight bytes per step (wide text columns spend most of their rendering time here): a byte below 0x20, a
        // quote or a backslash leaves its high bit set in `found`. The borrows of the subtractions can only mark
        // bytes above a real match, so the test is exact for the word as a whole.
        let ones: UInt64 = 0x0101_0101_0101_0101
        var index = 0
        while index + 8 <= bytes.count {
            let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            let found = (word &- ones &* 0x20) & ~word | (quote &- ones) & ~quote | (backslash &- ones) & ~backslash
            if found & (ones &* 0x80) != 0 { return true }
            index += 8
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return true }
            index += 1
        }
        return false
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
