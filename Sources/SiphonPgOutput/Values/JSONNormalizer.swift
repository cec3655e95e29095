// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Rewrites `json` text into the form `jsonb` gives it, which is what `to_jsonb` makes of a `json` value.
///
/// `jsonb` drops insignificant whitespace and writes `", "` / `": "`, orders object keys by length and then
/// bytes, keeps the last of duplicate keys, stores numbers as `numeric` (so `1.0E2` becomes `100`) and
/// re-escapes strings with `escape_json` (so `"\u00e9"` becomes `"é"`).
enum JSONNormalizer {
    /// Nesting deeper than this is left as the server wrote it (the recursion must fit a task's stack).
    static let maximumDepth = 512

    enum Outcome {
        case normalized
        /// Valid as far as read, but nested deeper than `maximumDepth`.
        case tooDeep
        case malformed
    }

    /// Appends the `jsonb` text of `json`; unless the outcome is `.normalized`, what was appended is unspecified.
    static func append(_ json: UnsafeRawBufferPointer, to output: inout String) -> Outcome {
        var parser = Parser(bytes: json)
        parser.skipWhitespace()
        guard parser.value(to: &output) else { return parser.tooDeep ? .tooDeep : .malformed }
        parser.skipWhitespace()
        return parser.position == json.count ? .normalized : .malformed
    }

    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        var position = 0
        var depth = 0
        var tooDeep = false

        var current: UInt8? { self.position < self.bytes.count ? self.bytes[self.position] : nil }

        mutating func skipWhitespace() {
            while let byte = self.current,
                byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
                    || byte == UInt8(ascii: "\r")
            {
                self.position += 1
            }
        }

        mutating func literal(_ text: StaticString) -> Bool {
            var scanner = TextScanner(self.bytes)
            scanner.position = self.position
            guard scanner.consume(text) else { return false }
            self.position = scanner.position
            return true
        }

        mutating func value(to output: inout String) -> Bool {
            guard self.depth < maximumDepth else {
                self.tooDeep = true
                return false
            }
            guard let byte = self.current else { return false }
            switch byte {
            case UInt8(ascii: "{"):
                return self.object(to: &output)
            case UInt8(ascii: "["):
                return self.array(to: &output)
            case UInt8(ascii: "\""):
                guard let string = self.string() else { return false }
                appendJSONString(string, to: &output)
                return true
            case UInt8(ascii: "t"):
                output.append("true")
                return self.literal("true")
            case UInt8(ascii: "f"):
                output.append("false")
                return self.literal("false")
            case UInt8(ascii: "n"):
                output.append("null")
                return self.literal("null")
            default:
                return self.number(to: &output)
            }
        }

        mutating func object(to output: inout String) -> Bool {
            self.position += 1
            self.depth += 1
            defer { self.depth -= 1 }
            var keys: [String] = []
            var values: [String] = []
            self.skipWhitespace()
            if self.current == UInt8(ascii: "}") {
                self.position += 1
                output.append("{}")
                return true
            }
            while true {
                self.skipWhitespace()
                guard self.current == UInt8(ascii: "\""), let key = self.string() else { return false }
                self.skipWhitespace()
                guard self.current == UInt8(ascii: ":") else { return false }
                self.position += 1
                self.skipWhitespace()
                var value = ""
                guard self.value(to: &value) else { return false }
                keys.append(key)
                values.append(value)
                self.skipWhitespace()
                if self.current == UInt8(ascii: ",") {
                    self.position += 1
                    continue
                }
                guard self.current == UInt8(ascii: "}") else { return false }
                self.position += 1
                break
            }
            output.append("{")
            var previous: Int? = nil
            for index in jsonKeyOrder(keys) {
                if let previous, keys[previous] == keys[index] { continue }
                if previous != nil { output.append(", ") }
                appendJSONString(keys[index], to: &output)
                output.append(": ")
                output.append(values[index])
                previous = index
            }
            output.append("}")
            return true
        }

        mutating func array(to output: inout String) -> Bool {
            self.position += 1
            self.depth += 1
            defer { self.depth -= 1 }
            output.append("[")
            self.skipWhitespace()
            if self.current == UInt8(ascii: "]") {
                self.position += 1
                output.append("]")
                return true
            }
            var first = true
            while true {
                if !first { output.append(", ") }
                first = false
                self.skipWhitespace()
                guard self.value(to: &output) else { return false }
                self.skipWhitespace()
                if self.current == UInt8(ascii: ",") {
                    self.position += 1
                    continue
                }
                guard self.current == UInt8(ascii: "]") else { return false }
                self.position += 1
                output.append("]")
                return true
            }
        }

        mutating func number(to output: inout String) -> Bool {
            let start = self.position
            while let byte = self.current,
                NumericText.isDigit(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
            {
                self.position += 1
            }
            let literal = UnsafeRawBufferPointer(rebasing: self.bytes[start..<self.position])
            guard !literal.isEmpty else { return false }
            if !NumericText.appendNormalized(literal, to: &output) {
                // Beyond numeric's exponent range: jsonb would reject it; keep the number as written.
                appendUTF8(literal, to: &output)
            }
            return true
        }

        /// Reads a JSON string and returns its unescaped contents.
        mutating func string() -> String? {
            self.position += 1
            let start = self.position
            while let byte = self.current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
                self.position += 1
            }
            if self.current == UInt8(ascii: "\"") {
                defer { self.position += 1 }
                return String(
                    decoding: UnsafeRawBufferPointer(rebasing: self.bytes[start..<self.position]),
                    as: UTF8.self
                )
            }
            var result = Array(self.bytes[start..<self.position])
            while let byte = self.current {
                self.position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(decoding: result, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let escaped = self.current else { return nil }
                    self.position += 1
                    switch escaped {
                    case UInt8(ascii: "b"): result.append(0x08)
                    case UInt8(ascii: "f"): result.append(0x0C)
                    case UInt8(ascii: "n"): result.append(0x0A)
                    case UInt8(ascii: "r"): result.append(0x0D)
                    case UInt8(ascii: "t"): result.append(0x09)
                    case UInt8(ascii: "u"):
                        guard var code = self.hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(code), self.current == UInt8(ascii: "\\"),
                            self.position + 1 < self.bytes.count, self.bytes[self.position + 1] == UInt8(ascii: "u")
                        {
                            self.position += 2
                            guard let low = self.hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                        result.append(contentsOf: String(scalar).utf8)
                    default:
                        result.append(escaped)
                    }
                default:
                    result.append(byte)
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard self.position + 4 <= self.bytes.count else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let digit = hexValue(self.bytes[self.position]) else { return nil }
                value = value << 4 | UInt32(digit)
                self.position += 1
            }
            return value
        }
    }
}
