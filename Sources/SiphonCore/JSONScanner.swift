// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// Why a text could not be read as the JSON expected, and where. Shared by the envelope and trigger-mode decoding.
package struct JSONTextError: Error, Hashable, CustomStringConvertible {
    package var message: String
    /// Byte offset in the text.
    package var offset: Int

    package init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }

    package var description: String { "\(self.message) at byte \(self.offset)" }
}

/// A pull scanner over one line of JSON that hands out values as their raw text instead of parsing them.
///
/// Row values must come back as exactly the JSON text PostgreSQL rendered (`1.50` stays `1.50`, key order and
/// spacing inside `{"a": 1}` stay), which a parse into `Double` or `[String: Any]` would lose.
package struct JSONScanner {
    private let bytes: [UInt8]
    package private(set) var position = 0

    package init(_ text: some StringProtocol) {
        self.bytes = Array(text.utf8)
    }

    /// The text of `range` as it stands in the input.
    package func text(_ range: Range<Int>) -> String {
        String(decoding: self.bytes[range], as: UTF8.self)
    }

    package func failure(_ message: String, at offset: Int? = nil) -> JSONTextError {
        JSONTextError(message: message, offset: offset ?? self.position)
    }

    /// Fails unless only whitespace is left after `what` was read.
    package mutating func finish(after what: String = "the object") throws(JSONTextError) {
        self.skipWhitespace()
        guard self.position == self.bytes.count else { throw self.failure("unexpected text after \(what)") }
    }

    /// Consumes `null` if it comes next.
    package mutating func readNull() -> Bool {
        self.skipWhitespace()
        guard self.bytes[self.position...].starts(with: "null".utf8) else { return false }
        self.position += 4
        return true
    }

    package mutating func readBool() throws(JSONTextError) -> Bool {
        self.skipWhitespace()
        if self.bytes[self.position...].starts(with: "true".utf8) {
            self.position += 4
            return true
        }
        if self.bytes[self.position...].starts(with: "false".utf8) {
            self.position += 5
            return false
        }
        throw self.failure("expected true or false")
    }

    /// Reads a JSON string and undoes its escapes.
    package mutating func readString() throws(JSONTextError) -> String {
        self.skipWhitespace()
        let start = self.position
        try self.skipString()
        let content = start + 1..<self.position - 1
        guard self.bytes[content].contains(UInt8(ascii: "\\")) else { return self.text(content) }
        return try self.unescape(content)
    }

    /// Reads a JSON integer in `0...UInt32.max`.
    package mutating func readUInt32() throws(JSONTextError) -> UInt32 {
        self.skipWhitespace()
        let start = self.position
        let range = try self.skipValue()
        guard let value = UInt32(self.text(range)) else {
            throw self.failure("expected an integer between 0 and \(UInt32.max)", at: start)
        }
        return value
    }

    /// Reads an object, calling `member` with each key; `member` must consume the value.
    package mutating func readObject(
        _ member: (inout JSONScanner, _ key: String) throws(JSONTextError) -> Void
    ) throws(JSONTextError) {
        try self.expect("{")
        self.skipWhitespace()
        if self.peek() == UInt8(ascii: "}") {
            self.position += 1
            return
        }
        while true {
            self.skipWhitespace()
            guard self.peek() == UInt8(ascii: "\"") else { throw self.failure("expected a key") }
            let key = try self.readString()
            try self.expect(":")
            try member(&self, key)
            self.skipWhitespace()
            if self.peek() == UInt8(ascii: ",") {
                self.position += 1
                continue
            }
            try self.expect("}")
            return
        }
    }

    /// Reads an array, calling `element` for each element; `element` must consume it.
    package mutating func readArray(
        _ element: (inout JSONScanner) throws(JSONTextError) -> Void
    ) throws(JSONTextError) {
        try self.expect("[")
        self.skipWhitespace()
        if self.peek() == UInt8(ascii: "]") {
            self.position += 1
            return
        }
        while true {
            try element(&self)
            self.skipWhitespace()
            if self.peek() == UInt8(ascii: ",") {
                self.position += 1
                continue
            }
            try self.expect("]")
            return
        }
    }

    /// Checks the grammar of the next value, whatever it is, and returns where its text lies.
    package mutating func skipValue() throws(JSONTextError) -> Range<Int> {
        self.skipWhitespace()
        let start = self.position
        // The closing brackets still owed, innermost last: iterative, so deep nesting cannot overflow the stack.
        var closers: [Unicode.Scalar] = []
        while true {
            // A value starts here.
            self.skipWhitespace()
            guard let byte = self.peek() else { throw self.failure("expected a value") }
            var scalar = false
            switch byte {
            case UInt8(ascii: "{"):
                self.position += 1
                self.skipWhitespace()
                if self.peek() == UInt8(ascii: "}") {
                    self.position += 1
                    scalar = true
                } else {
                    closers.append("}")
                    try self.skipKey()
                }
            case UInt8(ascii: "["):
                self.position += 1
                self.skipWhitespace()
                if self.peek() == UInt8(ascii: "]") {
                    self.position += 1
                    scalar = true
                } else {
                    closers.append("]")
                }
            case UInt8(ascii: "\""):
                try self.skipString()
                scalar = true
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                let rest = self.bytes[self.position...]
                guard let word = ["true", "false", "null"].first(where: { rest.starts(with: $0.utf8) }) else {
                    throw self.failure("expected a value")
                }
                self.position += word.utf8.count
                scalar = true
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                try self.skipNumber()
                scalar = true
            default:
                throw self.failure("expected a value")
            }
            guard scalar else { continue }
            // A value ended: close containers until one continues with a comma.
            while true {
                guard let closer = closers.last else { return start..<self.position }
                self.skipWhitespace()
                if self.peek() == UInt8(ascii: ",") {
                    self.position += 1
                    if closer == "}" { try self.skipKey() }
                    break
                }
                try self.expect(closer)
                closers.removeLast()
            }
        }
    }

    private func peek() -> UInt8? {
        self.position < self.bytes.count ? self.bytes[self.position] : nil
    }

    private mutating func skipWhitespace() {
        while let byte = self.peek(),
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
                || byte == UInt8(ascii: "\t")
        {
            self.position += 1
        }
    }

    private mutating func expect(_ character: Unicode.Scalar) throws(JSONTextError) {
        self.skipWhitespace()
        guard self.peek() == UInt8(ascii: character) else { throw self.failure("expected '\(character)'") }
        self.position += 1
    }

    /// Skips `"key":` inside an object.
    private mutating func skipKey() throws(JSONTextError) {
        self.skipWhitespace()
        guard self.peek() == UInt8(ascii: "\"") else { throw self.failure("expected a key") }
        try self.skipString()
        try self.expect(":")
    }

    private mutating func skipString() throws(JSONTextError) {
        guard self.peek() == UInt8(ascii: "\"") else { throw self.failure("expected a string") }
        let start = self.position
        self.position += 1
        while let byte = self.peek() {
            self.position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return
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

    private mutating func skipNumber() throws(JSONTextError) {
        let start = self.position
        func digits() -> Int {
            let first = self.position
            while let byte = self.peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { self.position += 1 }
            return self.position - first
        }
        if self.peek() == UInt8(ascii: "-") { self.position += 1 }
        if self.peek() == UInt8(ascii: "0") {
            self.position += 1
        } else if digits() == 0 {
            throw self.failure("malformed number", at: start)
        }
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

    private func unescape(_ range: Range<Int>) throws(JSONTextError) -> String {
        var utf8: [UInt8] = []
        utf8.reserveCapacity(range.count)
        var index = range.lowerBound
        func hex4(at offset: Int) throws(JSONTextError) -> UInt32 {
            guard offset + 4 <= range.upperBound else { throw self.failure("malformed \\u escape", at: offset) }
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
        while index < range.upperBound {
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
                var code = try hex4(at: index)
                index += 4
                if (0xD800..<0xDC00).contains(code) {
                    guard index + 6 <= range.upperBound, self.bytes[index] == UInt8(ascii: "\\"),
                        self.bytes[index + 1] == UInt8(ascii: "u")
                    else { throw self.failure("unpaired surrogate in \\u escape", at: index - 6) }
                    let low = try hex4(at: index + 2)
                    guard (0xDC00..<0xE000).contains(low) else {
                        throw self.failure("unpaired surrogate in \\u escape", at: index - 6)
                    }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    index += 6
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
}
