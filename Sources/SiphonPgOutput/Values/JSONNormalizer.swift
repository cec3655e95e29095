// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Rewrites `json` text into the form `jsonb` gives it, which is what `to_jsonb` makes of a `json` value.
///
/// `jsonb` drops insignificant whitespace and writes `", "` / `": "`, orders object keys by length and then
/// bytes, keeps the last of duplicate keys, stores numbers as `numeric` (so `1.0E2` becomes `100`) and
/// re-escapes strings with `escape_json` (so `"\u00e9"` becomes `"é"`).
enum JSONNormalizer {
    enum Outcome {
        case normalized
        case malformed
    }

    /// Appends the `jsonb` text of `json`, at any nesting depth; unless the outcome is `.normalized`, what was
    /// appended is unspecified.
    ///
    /// The value is parsed into a flat tree first and written from it, both without recursion: a document nested
    /// a million levels deep must neither overflow a task's stack nor be copied once per level, and it must come out
    /// on one line (jsonb has no newlines outside strings) like any other.
    static func append(_ json: UnsafeRawBufferPointer, to output: inout String) -> Outcome {
        var parser = Parser(bytes: json)
        guard let root = parser.document() else { return .malformed }
        parser.tree.write(root, to: &output)
        return .normalized
    }

    /// A parsed document: containers refer to their elements by node index, so no level holds its children's text.
    private struct Tree {
        enum Node {
            /// A string, number or literal, already in its jsonb form: a range of `scalars`.
            case scalar(Range<String.Index>)
            /// An array: its elements are `elements[range]`.
            case array(Range<Int>)
            /// An object: its members, in jsonb key order with duplicates removed, are `members[range]`.
            case object(Range<Int>)
        }

        var nodes: [Node] = []
        var scalars = ""
        var elements: [Int] = []
        var members: [(key: String, value: Int)] = []

        mutating func addScalar(_ render: (inout String) -> Void) -> Int {
            let start = self.scalars.endIndex
            render(&self.scalars)
            self.nodes.append(.scalar(start..<self.scalars.endIndex))
            return self.nodes.count - 1
        }

        mutating func addArray(_ values: ArraySlice<Int>) -> Int {
            let start = self.elements.count
            self.elements.append(contentsOf: values)
            self.nodes.append(.array(start..<self.elements.count))
            return self.nodes.count - 1
        }

        /// jsonb orders keys by length, then bytes, and keeps the last of duplicate keys.
        mutating func addObject(keys: ArraySlice<String>, values: ArraySlice<Int>) -> Int {
            let keys = Array(keys)
            let values = Array(values)
            let start = self.members.count
            var previous: Int? = nil
            for index in jsonKeyOrder(keys) {
                if let previous, keys[previous] == keys[index] { continue }
                self.members.append((keys[index], values[index]))
                previous = index
            }
            self.nodes.append(.object(start..<self.members.count))
            return self.nodes.count - 1
        }

        func write(_ root: Int, to output: inout String) {
            // Each open container and how many of its children are written.
            var open: [(node: Int, written: Int)] = [(root, 0)]
            while let top = open.last {
                let (node, written) = top
                switch self.nodes[node] {
                case .scalar(let range):
                    output.append(contentsOf: self.scalars[range])
                    open.removeLast()
                case .array(let range):
                    if written == 0 { output.append("[") }
                    guard written < range.count else {
                        output.append("]")
                        open.removeLast()
                        continue
                    }
                    if written > 0 { output.append(", ") }
                    open[open.count - 1].written += 1
                    open.append((self.elements[range.lowerBound + written], 0))
                case .object(let range):
                    if written == 0 { output.append("{") }
                    guard written < range.count else {
                        output.append("}")
                        open.removeLast()
                        continue
                    }
                    if written > 0 { output.append(", ") }
                    let member = self.members[range.lowerBound + written]
                    JSONText.appendString(member.key, to: &output)
                    output.append(": ")
                    open[open.count - 1].written += 1
                    open.append((member.value, 0))
                }
            }
        }
    }

    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        var position = 0
        var tree = Tree()

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

        /// Parses the whole input as one value; returns its node, or `nil` when it is not JSON.
        mutating func document() -> Int? {
            /// An array or object being read: where its values (and keys) start in `values` (and `keys`).
            struct Container {
                var isObject: Bool
                var firstValue: Int
                var firstKey: Int
            }
            var containers: [Container] = []
            var values: [Int] = []
            var keys: [String] = []
            while true {
                // A value starts here.
                self.skipWhitespace()
                guard let byte = self.current else { return nil }
                var completed: Int
                switch byte {
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    let isObject = byte == UInt8(ascii: "{")
                    self.position += 1
                    self.skipWhitespace()
                    if self.current == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                        self.position += 1
                        completed = isObject ? self.tree.addObject(keys: [], values: []) : self.tree.addArray([])
                    } else {
                        containers.append(Container(isObject: isObject, firstValue: values.count, firstKey: keys.count))
                        if isObject {
                            guard let key = self.memberKey() else { return nil }
                            keys.append(key)
                        }
                        continue
                    }
                default:
                    guard let scalar = self.scalar() else { return nil }
                    completed = scalar
                }
                // A value ended: it completes the document, or its container goes on or ends.
                while true {
                    guard let container = containers.last else {
                        self.skipWhitespace()
                        return self.position == self.bytes.count ? completed : nil
                    }
                    values.append(completed)
                    self.skipWhitespace()
                    if self.current == UInt8(ascii: ",") {
                        self.position += 1
                        if container.isObject {
                            guard let key = self.memberKey() else { return nil }
                            keys.append(key)
                        }
                        break
                    }
                    guard self.current == (container.isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) else {
                        return nil
                    }
                    self.position += 1
                    containers.removeLast()
                    if container.isObject {
                        completed = self.tree.addObject(
                            keys: keys[container.firstKey...], values: values[container.firstValue...])
                        keys.removeSubrange(container.firstKey...)
                    } else {
                        completed = self.tree.addArray(values[container.firstValue...])
                    }
                    values.removeSubrange(container.firstValue...)
                }
            }
        }

        /// Reads `"key" :` and returns the key.
        mutating func memberKey() -> String? {
            self.skipWhitespace()
            guard self.current == UInt8(ascii: "\""), let key = self.string() else { return nil }
            self.skipWhitespace()
            guard self.current == UInt8(ascii: ":") else { return nil }
            self.position += 1
            return key
        }

        /// Reads a string, number or literal.
        mutating func scalar() -> Int? {
            guard let byte = self.current else { return nil }
            switch byte {
            case UInt8(ascii: "\""):
                guard let string = self.string() else { return nil }
                return self.tree.addScalar { JSONText.appendString(string, to: &$0) }
            case UInt8(ascii: "t"):
                return self.literal("true") ? self.tree.addScalar { $0.append("true") } : nil
            case UInt8(ascii: "f"):
                return self.literal("false") ? self.tree.addScalar { $0.append("false") } : nil
            case UInt8(ascii: "n"):
                return self.literal("null") ? self.tree.addScalar { $0.append("null") } : nil
            default:
                var text = ""
                guard self.number(to: &text) else { return nil }
                return self.tree.addScalar { $0.append(text) }
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
