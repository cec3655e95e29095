// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// Why a text could not be read as the JSON object Siphon expected, and where.
struct JSONObjectTextError: Error, Hashable, CustomStringConvertible {
    var message: String
    /// Byte offset in the text.
    var offset: Int

    var description: String { "\(self.message) at byte \(self.offset)" }
}

/// Splits a JSON object into its members without parsing the values: names are unescaped, values keep their exact
/// text.
///
/// Rows in trigger mode arrive as `to_jsonb(NEW)` text from the server, and every value must reach the sinks exactly
/// as PostgreSQL rendered it (`1.50` stays `1.50`, `{"a": 1}` keeps its spacing), which parsing into numbers or
/// dictionaries would lose.
enum JSONObjectText {
    /// The members of the object in `text`, in the order they appear.
    static func members(of text: some StringProtocol) throws(JSONObjectTextError) -> [(name: String, value: String)] {
        var scanner = Scanner(Array(text.utf8))
        let members = try scanner.object()
        scanner.skipWhitespace()
        guard scanner.position == scanner.bytes.count else {
            throw JSONObjectTextError(message: "unexpected text after the object", offset: scanner.position)
        }
        return members
    }

    /// The elements of the array in `text`, each as its exact text.
    static func elements(of text: some StringProtocol) throws(JSONObjectTextError) -> [String] {
        var scanner = Scanner(Array(text.utf8))
        let elements = try scanner.array()
        scanner.skipWhitespace()
        guard scanner.position == scanner.bytes.count else {
            throw JSONObjectTextError(message: "unexpected text after the array", offset: scanner.position)
        }
        return elements
    }

    /// The content of a JSON string literal (with its quotes), escapes undone.
    static func string(fromLiteral literal: some StringProtocol) throws(JSONObjectTextError) -> String {
        var scanner = Scanner(Array(literal.utf8))
        let value = try scanner.string()
        guard scanner.position == scanner.bytes.count else {
            throw JSONObjectTextError(message: "expected a single string", offset: scanner.position)
        }
        return value
    }

    private struct Scanner {
        let bytes: [UInt8]
        var position = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        private func peek() -> UInt8? { self.position < self.bytes.count ? self.bytes[self.position] : nil }

        private func failure(_ message: String, at offset: Int? = nil) -> JSONObjectTextError {
            JSONObjectTextError(message: message, offset: offset ?? self.position)
        }

        mutating func skipWhitespace() {
            while let byte = self.peek(),
                byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
                    || byte == UInt8(ascii: "\t")
            {
                self.position += 1
            }
        }

        private mutating func expect(_ character: Unicode.Scalar) throws(JSONObjectTextError) {
            self.skipWhitespace()
            guard self.peek() == UInt8(ascii: character) else { throw self.failure("expected '\(character)'") }
            self.position += 1
        }

        mutating func object() throws(JSONObjectTextError) -> [(name: String, value: String)] {
            try self.expect("{")
            var members: [(name: String, value: String)] = []
            self.skipWhitespace()
            if self.peek() == UInt8(ascii: "}") {
                self.position += 1
                return members
            }
            while true {
                self.skipWhitespace()
                let name = try self.string()
                try self.expect(":")
                let range = try self.skipValue()
                members.append((name, String(decoding: self.bytes[range], as: UTF8.self)))
                self.skipWhitespace()
                if self.peek() == UInt8(ascii: ",") {
                    self.position += 1
                    continue
                }
                try self.expect("}")
                return members
            }
        }

        mutating func array() throws(JSONObjectTextError) -> [String] {
            try self.expect("[")
            var elements: [String] = []
            self.skipWhitespace()
            if self.peek() == UInt8(ascii: "]") {
                self.position += 1
                return elements
            }
            while true {
                let range = try self.skipValue()
                elements.append(String(decoding: self.bytes[range], as: UTF8.self))
                self.skipWhitespace()
                if self.peek() == UInt8(ascii: ",") {
                    self.position += 1
                    continue
                }
                try self.expect("]")
                return elements
            }
        }

        /// Checks the grammar of the next value and returns where its text lies. Iterative, so nesting depth cannot
        /// overflow the stack.
        private mutating func skipValue() throws(JSONObjectTextError) -> Range<Int> {
            self.skipWhitespace()
            let start = self.position
            var closers: [UInt8] = []
            while true {
                self.skipWhitespace()
                guard let byte = self.peek() else { throw self.failure("expected a value") }
                var complete = true
                switch byte {
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    self.position += 1
                    self.skipWhitespace()
                    let closer = byte == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                    if self.peek() == closer {
                        self.position += 1
                    } else {
                        closers.append(closer)
                        if closer == UInt8(ascii: "}") { try self.memberName() }
                        complete = false
                    }
                case UInt8(ascii: "\""):
                    _ = try self.stringRange()
                case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                    guard let word = ["true", "false", "null"].first(where: { self.bytes[self.position...].starts(with: $0.utf8) })
                    else { throw self.failure("expected a value") }
                    self.position += word.utf8.count
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    try self.skipNumber()
                default:
                    throw self.failure("expected a value")
                }
                guard complete else { continue }
                // A value ended: close containers until one continues with a comma.
                while true {
                    guard let closer = closers.last else { return start..<self.position }
                    self.skipWhitespace()
                    if self.peek() == UInt8(ascii: ",") {
                        self.position += 1
                        if closer == UInt8(ascii: "}") { try self.memberName() }
                        break
                    }
                    guard self.peek() == closer else { throw self.failure("expected '\(Unicode.Scalar(closer))'") }
                    self.position += 1
                    closers.removeLast()
                }
            }
        }

        /// Skips `"name":` inside an object.
        private mutating func memberName() throws(JSONObjectTextError) {
            self.skipWhitespace()
            _ = try self.stringRange()
            try self.expect(":")
        }

        private mutating func skipNumber() throws(JSONObjectTextError) {
            let start = self.position
            func digits() -> Int {
                let first = self.position
                while let byte = self.peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { self.position += 1 }
                return self.position - first
            }
            if self.peek() == UInt8(ascii: "-") { self.position += 1 }
            guard digits() > 0 else { throw self.failure("malformed number", at: start) }
            if self.peek() == UInt8(ascii: ".") {
                self.position += 1
                guard digits() > 0 else { throw self.failure("malformed number", at: start) }
            }
            if self.peek() == UInt8(ascii: "e") || self.peek() == UInt8(ascii: "E") {
                self.position += 1
                if self.peek() == UInt8(ascii: "+") || self.peek() == UInt8(ascii: "-") { self.position += 1 }
                guard digits() > 0 else { throw self.failure("malformed number", at: start) }
            }
        }

        /// The range of the string literal at the current position, quotes included.
        private mutating func stringRange() throws(JSONObjectTextError) -> Range<Int> {
            guard self.peek() == UInt8(ascii: "\"") else { throw self.failure("expected a string") }
            let start = self.position
            self.position += 1
            while let byte = self.peek() {
                self.position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return start..<self.position
                case UInt8(ascii: "\\"):
                    guard self.peek() != nil else { break }
                    self.position += 1
                case ..<0x20:
                    throw self.failure("control character inside a string", at: self.position - 1)
                default:
                    continue
                }
            }
            throw self.failure("unterminated string", at: start)
        }

        /// Reads a string literal and undoes its escapes.
        mutating func string() throws(JSONObjectTextError) -> String {
            self.skipWhitespace()
            let range = try self.stringRange()
            let content = range.lowerBound + 1..<range.upperBound - 1
            guard self.bytes[content].contains(UInt8(ascii: "\\")) else {
                return String(decoding: self.bytes[content], as: UTF8.self)
            }
            var utf8: [UInt8] = []
            utf8.reserveCapacity(content.count)
            var index = content.lowerBound
            while index < content.upperBound {
                let byte = self.bytes[index]
                guard byte == UInt8(ascii: "\\") else {
                    utf8.append(byte)
                    index += 1
                    continue
                }
                let escape = self.bytes[index + 1]
                index += 2
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try self.hex4(at: index, end: content.upperBound)
                    index += 4
                    if (0xD800..<0xDC00).contains(code), index + 6 <= content.upperBound,
                        self.bytes[index] == UInt8(ascii: "\\"), self.bytes[index + 1] == UInt8(ascii: "u")
                    {
                        let low = try self.hex4(at: index + 2, end: content.upperBound)
                        if (0xDC00..<0xE000).contains(low) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                            index += 6
                        }
                    }
                    guard let scalar = Unicode.Scalar(code) else {
                        throw self.failure("unpaired surrogate in \\u escape", at: index - 6)
                    }
                    utf8.append(contentsOf: Unicode.UTF8.encode(scalar)!)
                default:
                    throw self.failure("unknown escape \\\(Unicode.Scalar(escape))", at: index - 2)
                }
            }
            return String(decoding: utf8, as: UTF8.self)
        }

        private func hex4(at offset: Int, end: Int) throws(JSONObjectTextError) -> UInt32 {
            guard offset + 4 <= end else { throw self.failure("malformed \\u escape", at: offset) }
            var value: UInt32 = 0
            for byte in self.bytes[offset..<offset + 4] {
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw self.failure("malformed \\u escape", at: offset)
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }
    }
}
