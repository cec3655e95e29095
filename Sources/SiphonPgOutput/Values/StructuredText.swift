// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// The text forms of arrays, composites, ranges, multiranges and hstores: reading what `array_out`,
/// `record_out`, `range_out`, `multirange_out` and `hstore_out` write, and writing the same.
enum StructuredText {
    /// One element or field of a structured text value, unquoted and unescaped.
    enum Item {
        case null
        /// Bytes at this range of the input, usable as they are.
        case raw(Range<Int>)
        /// Bytes that had quotes or escapes removed.
        case unescaped([UInt8])

        /// Calls `body` with the item's bytes (`nil` for NULL).
        func withBytes<Value, Failure: Error>(
            in input: UnsafeRawBufferPointer,
            _ body: (UnsafeRawBufferPointer?) throws(Failure) -> Value
        ) throws(Failure) -> Value {
            switch self {
            case .null:
                return try body(nil)
            case .raw(let range):
                return try body(UnsafeRawBufferPointer(rebasing: input[range]))
            case .unescaped(let bytes):
                let result: Result<Value, Failure> = bytes.withUnsafeBytes { pointer in
                    Result { () throws(Failure) -> Value in try body(pointer) }
                }
                return try result.get()
            }
        }
    }

    // MARK: Arrays

    /// A parsed array: dimensions, lower bounds, and elements in row-major order.
    struct ParsedArray {
        var dimensions: [Int]
        var lowerBounds: [Int]
        var items: [Item]
    }

    /// Reads `array_out` text: an optional `[lb:ub]…=` decoration, then nested braces.
    static func parseArray(_ input: UnsafeRawBufferPointer, delimiter: UInt8) -> ParsedArray? {
        var scanner = TextScanner(input)
        var decoratedLower: [Int] = []
        var decoratedLengths: [Int] = []
        while scanner.consume(UInt8(ascii: "[")) {
            guard let lower = scanner.readSignedInteger(), scanner.consume(UInt8(ascii: ":")),
                let upper = scanner.readSignedInteger(), scanner.consume(UInt8(ascii: "]")),
                let lower32 = Int32(exactly: lower), let upper32 = Int32(exactly: upper), upper32 >= lower32
            else { return nil }
            decoratedLower.append(Int(lower32))
            decoratedLengths.append(Int(upper32) - Int(lower32) + 1)
        }
        if !decoratedLower.isEmpty { guard scanner.consume(UInt8(ascii: "=")) else { return nil } }
        guard scanner.peek() == UInt8(ascii: "{") else { return nil }

        var dimensions: [Int] = []
        var items: [Item] = []
        guard parseLevel(&scanner, depth: 0, delimiter: delimiter, dimensions: &dimensions, items: &items),
            scanner.isAtEnd
        else { return nil }
        if items.isEmpty && dimensions == [0] { dimensions = [] }
        guard dimensions.isEmpty || items.count == dimensions.reduce(1, *) else { return nil }
        if !decoratedLower.isEmpty {
            guard decoratedLengths == dimensions else { return nil }
            return ParsedArray(dimensions: dimensions, lowerBounds: decoratedLower, items: items)
        }
        return ParsedArray(
            dimensions: dimensions,
            lowerBounds: Array(repeating: 1, count: dimensions.count),
            items: items
        )
    }

    private static func parseLevel(
        _ scanner: inout TextScanner,
        depth: Int,
        delimiter: UInt8,
        dimensions: inout [Int],
        items: inout [Item]
    ) -> Bool {
        guard depth < 7, dimensions.count >= depth, scanner.consume(UInt8(ascii: "{")) else { return false }
        // A dimension's length is known once its first sub-array closes; -1 until then.
        if dimensions.count == depth { dimensions.append(-1) }
        var count = 0
        if !scanner.consume(UInt8(ascii: "}")) {
            repeat {
                if scanner.peek() == UInt8(ascii: "{") {
                    guard
                        parseLevel(
                            &scanner,
                            depth: depth + 1,
                            delimiter: delimiter,
                            dimensions: &dimensions,
                            items: &items
                        )
                    else { return false }
                } else {
                    guard let item = readElement(&scanner, delimiter: delimiter) else { return false }
                    items.append(item)
                }
                count += 1
            } while scanner.consume(delimiter)
            guard scanner.consume(UInt8(ascii: "}")) else { return false }
        }
        if dimensions[depth] == -1 {
            dimensions[depth] = count
        } else {
            guard dimensions[depth] == count else { return false }
        }
        return true
    }

    private static func readElement(_ scanner: inout TextScanner, delimiter: UInt8) -> Item? {
        if scanner.consume(UInt8(ascii: "\"")) {
            let start = scanner.position
            var unescaped: [UInt8]? = nil
            while true {
                guard let byte = scanner.next() else { return nil }
                if byte == UInt8(ascii: "\"") { break }
                if byte == UInt8(ascii: "\\") {
                    if unescaped == nil { unescaped = Array(scanner.bytes[start..<(scanner.position - 1)]) }
                    guard let escaped = scanner.next() else { return nil }
                    unescaped!.append(escaped)
                } else {
                    unescaped?.append(byte)
                }
            }
            // Quoted without escapes: the bytes between the quotes serve as they are.
            return unescaped.map { .unescaped($0) } ?? .raw(start..<(scanner.position - 1))
        }
        let start = scanner.position
        var escaped: [UInt8]? = nil
        while let byte = scanner.peek(), byte != delimiter, byte != UInt8(ascii: "}") {
            scanner.position += 1
            if byte == UInt8(ascii: "\\") {
                if escaped == nil { escaped = Array(scanner.bytes[start..<(scanner.position - 1)]) }
                guard let next = scanner.next() else { return nil }
                escaped!.append(next)
            } else {
                escaped?.append(byte)
            }
        }
        if let escaped { return .unescaped(escaped) }
        let range = start..<scanner.position
        guard !range.isEmpty else { return nil }
        let raw = UnsafeRawBufferPointer(rebasing: scanner.bytes[range])
        if raw.count == 4, raw.elementsEqual("NULL".utf8, by: { $0 & 0xDF == $1 }) { return .null }
        return .raw(range)
    }

    /// Reads `int2vector` / `oidvector` text: elements separated by single spaces.
    static func parseVector(_ input: UnsafeRawBufferPointer) -> [Item] {
        var items: [Item] = []
        var start = 0
        for index in 0...input.count where index == input.count || input[index] == UInt8(ascii: " ") {
            if index > start { items.append(.raw(start..<index)) }
            start = index + 1
        }
        return items
    }

    /// Writes `array_out` text for `array`, each element written by `element`.
    static func appendArray(
        _ array: PostgresArray,
        delimiter: UInt8,
        to output: inout String,
        element: (PostgresValue, inout String) -> Void
    ) {
        if array.dimensions.isEmpty || array.dimensions.contains(0) {
            output.append("{}")
            return
        }
        if array.lowerBounds.contains(where: { $0 != 1 }) {
            for (length, lower) in zip(array.dimensions, array.lowerBounds) {
                output.append("[")
                appendDecimal(Int64(lower), to: &output)
                output.append(":")
                appendDecimal(Int64(lower + length - 1), to: &output)
                output.append("]")
            }
            output.append("=")
        }
        var index = 0
        appendArrayLevel(array, depth: 0, index: &index, delimiter: delimiter, to: &output, element: element)
    }

    private static func appendArrayLevel(
        _ array: PostgresArray,
        depth: Int,
        index: inout Int,
        delimiter: UInt8,
        to output: inout String,
        element: (PostgresValue, inout String) -> Void
    ) {
        output.append("{")
        for position in 0..<array.dimensions[depth] {
            if position > 0 { output.unicodeScalars.append(Unicode.Scalar(delimiter)) }
            if depth + 1 < array.dimensions.count {
                appendArrayLevel(
                    array,
                    depth: depth + 1,
                    index: &index,
                    delimiter: delimiter,
                    to: &output,
                    element: element
                )
                continue
            }
            let value = index < array.elements.count ? array.elements[index] : .null
            index += 1
            if case .null = value {
                output.append("NULL")
                continue
            }
            var text = ""
            element(value, &text)
            let needsQuotes =
                text.isEmpty || text.utf8.count == 4 && text.utf8.elementsEqual("NULL".utf8, by: { $0 & 0xDF == $1 })
                || text.utf8.contains {
                    $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "{")
                        || $0 == UInt8(ascii: "}") || $0 == delimiter || isASCIISpace($0)
                }
            if needsQuotes {
                output.append("\"")
                for scalar in text.unicodeScalars {
                    if scalar == "\"" || scalar == "\\" { output.append("\\") }
                    output.unicodeScalars.append(scalar)
                }
                output.append("\"")
            } else {
                output.append(text)
            }
        }
        output.append("}")
    }

    // MARK: Composites

    /// Reads `record_out` text: `(1,"a b",,"")`; an empty unquoted field is NULL.
    static func parseRecord(_ input: UnsafeRawBufferPointer) -> [Item]? {
        var scanner = TextScanner(input)
        guard scanner.consume(UInt8(ascii: "(")) else { return nil }
        var items: [Item] = []
        if scanner.consume(UInt8(ascii: ")")) { return scanner.isAtEnd ? items : nil }
        while true {
            guard let item = readQuotable(&scanner, stop: UInt8(ascii: ","), or: UInt8(ascii: ")")) else { return nil }
            items.append(item)
            if scanner.consume(UInt8(ascii: ",")) { continue }
            guard scanner.consume(UInt8(ascii: ")")), scanner.isAtEnd else { return nil }
            return items
        }
    }

    /// Reads one `record_out` / `range_out` item up to (not including) a stop byte outside quotes. Inside quotes
    /// `""` is a quote; a backslash escapes the next byte anywhere. Nothing at all (not even `""`) is NULL.
    private static func readQuotable(_ scanner: inout TextScanner, stop: UInt8, or otherStop: UInt8) -> Item? {
        let start = scanner.position
        var bytes: [UInt8] = []
        var simple = true
        var inQuotes = false
        while true {
            guard let byte = scanner.peek() else {
                if inQuotes { return nil }
                break
            }
            if !inQuotes, byte == stop || byte == otherStop { break }
            scanner.position += 1
            switch byte {
            case UInt8(ascii: "\\"):
                simple = false
                guard let escaped = scanner.next() else { return nil }
                bytes.append(escaped)
            case UInt8(ascii: "\""):
                simple = false
                if inQuotes, scanner.peek() == UInt8(ascii: "\"") {
                    scanner.position += 1
                    bytes.append(byte)
                } else {
                    inQuotes.toggle()
                }
            default:
                bytes.append(byte)
            }
        }
        if scanner.position == start { return .null }
        return simple ? .raw(start..<scanner.position) : .unescaped(bytes)
    }

    /// Writes `record_out` text, each non-null field written by `field`.
    static func appendRecord(
        _ fields: [PostgresField],
        to output: inout String,
        field: (PostgresValue, inout String) -> Void
    ) {
        output.append("(")
        for (index, item) in fields.enumerated() {
            if index > 0 { output.append(",") }
            if case .null = item.value { continue }
            var text = ""
            field(item.value, &text)
            appendQuotable(text, quoteIf: recordSpecials, to: &output)
        }
        output.append(")")
    }

    /// Bytes that make `record_out` quote a field (besides quotes, backslashes and whitespace).
    private static let recordSpecials: [UInt8] = [UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: ",")]
    /// Bytes that make `range_bound_escape` quote a bound (besides quotes, backslashes and whitespace).
    private static let rangeSpecials: [UInt8] = [
        UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: ","),
    ]

    /// Writes `text` quoted (doubling `"` and `\`) when empty or containing a quote, backslash, whitespace or
    /// one of `quoteIf` (`record_out`, `range_bound_escape`).
    private static func appendQuotable(_ text: String, quoteIf special: [UInt8], to output: inout String) {
        let needsQuotes =
            text.isEmpty
            || text.utf8.contains {
                $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || isASCIISpace($0) || special.contains($0)
            }
        guard needsQuotes else {
            output.append(text)
            return
        }
        output.append("\"")
        for scalar in text.unicodeScalars {
            if scalar == "\"" || scalar == "\\" { output.unicodeScalars.append(scalar) }
            output.unicodeScalars.append(scalar)
        }
        output.append("\"")
    }

    // MARK: Ranges

    /// A parsed range; a `nil` bound item is unbounded.
    struct ParsedRange {
        var isEmpty: Bool
        var lower: Item?
        var upper: Item?
        var lowerInclusive: Bool
        var upperInclusive: Bool
    }

    /// Reads `range_out` text: `empty`, or `[lower,upper)` with either bound absent for infinity.
    static func parseRange(_ input: UnsafeRawBufferPointer) -> ParsedRange? {
        if bytesEqual(input, "empty") {
            return ParsedRange(isEmpty: true, lower: nil, upper: nil, lowerInclusive: false, upperInclusive: false)
        }
        var scanner = TextScanner(input)
        let lowerInclusive: Bool
        if scanner.consume(UInt8(ascii: "[")) {
            lowerInclusive = true
        } else if scanner.consume(UInt8(ascii: "(")) {
            lowerInclusive = false
        } else {
            return nil
        }
        guard let lower = readQuotable(&scanner, stop: UInt8(ascii: ","), or: UInt8(ascii: ",")),
            scanner.consume(UInt8(ascii: ",")),
            let upper = readQuotable(&scanner, stop: UInt8(ascii: "]"), or: UInt8(ascii: ")"))
        else { return nil }
        let upperInclusive: Bool
        if scanner.consume(UInt8(ascii: "]")) {
            upperInclusive = true
        } else if scanner.consume(UInt8(ascii: ")")) {
            upperInclusive = false
        } else {
            return nil
        }
        guard scanner.isAtEnd else { return nil }
        func bound(_ item: Item) -> Item? {
            if case .null = item { return nil }
            return item
        }
        return ParsedRange(
            isEmpty: false,
            lower: bound(lower),
            upper: bound(upper),
            lowerInclusive: lowerInclusive,
            upperInclusive: upperInclusive
        )
    }

    /// Writes `range_out` text, each bound written by `bound`.
    static func appendRange(
        _ range: PostgresRange,
        to output: inout String,
        bound: (PostgresValue, inout String) -> Void
    ) {
        if range.isEmpty {
            output.append("empty")
            return
        }
        output.append(range.lowerInclusive ? "[" : "(")
        if let lower = range.lower {
            var text = ""
            bound(lower, &text)
            appendQuotable(text, quoteIf: rangeSpecials, to: &output)
        }
        output.append(",")
        if let upper = range.upper {
            var text = ""
            bound(upper, &text)
            appendQuotable(text, quoteIf: rangeSpecials, to: &output)
        }
        output.append(range.upperInclusive ? "]" : ")")
    }

    /// Splits `multirange_out` text (`{[1,3),[5,7)}`) into the text of each range.
    static func splitMultirange(_ input: UnsafeRawBufferPointer) -> [Range<Int>]? {
        var scanner = TextScanner(input)
        guard scanner.consume(UInt8(ascii: "{")) else { return nil }
        var ranges: [Range<Int>] = []
        if scanner.consume(UInt8(ascii: "}")) { return scanner.isAtEnd ? ranges : nil }
        while true {
            let start = scanner.position
            if scanner.consume("empty") {
                ranges.append(start..<scanner.position)
            } else {
                var inQuotes = false
                var closed = false
                while let byte = scanner.next() {
                    if byte == UInt8(ascii: "\\") {
                        guard scanner.next() != nil else { return nil }
                    } else if byte == UInt8(ascii: "\"") {
                        inQuotes.toggle()
                    } else if !inQuotes, scanner.position - 1 > start,
                        byte == UInt8(ascii: "]") || byte == UInt8(ascii: ")")
                    {
                        closed = true
                        break
                    }
                }
                guard closed else { return nil }
                ranges.append(start..<scanner.position)
            }
            if scanner.consume(UInt8(ascii: ",")) { continue }
            guard scanner.consume(UInt8(ascii: "}")), scanner.isAtEnd else { return nil }
            return ranges
        }
    }

    // MARK: hstore

    /// Reads `hstore_out` text: `"key"=>"value", "other"=>NULL`.
    static func parseHstore(_ input: UnsafeRawBufferPointer) -> [PostgresHstorePair]? {
        var scanner = TextScanner(input)
        var pairs: [PostgresHstorePair] = []
        func quoted(_ scanner: inout TextScanner) -> String? {
            guard scanner.consume(UInt8(ascii: "\"")) else { return nil }
            var bytes: [UInt8] = []
            while let byte = scanner.next() {
                if byte == UInt8(ascii: "\"") { return String(decoding: bytes, as: UTF8.self) }
                if byte == UInt8(ascii: "\\") {
                    guard let escaped = scanner.next() else { return nil }
                    bytes.append(escaped)
                } else {
                    bytes.append(byte)
                }
            }
            return nil
        }
        while !scanner.isAtEnd {
            if !pairs.isEmpty { guard scanner.consume(", ") else { return nil } }
            guard let key = quoted(&scanner), scanner.consume("=>") else { return nil }
            if scanner.consume("NULL") {
                pairs.append(PostgresHstorePair(key: key, value: nil))
            } else {
                guard let value = quoted(&scanner) else { return nil }
                pairs.append(PostgresHstorePair(key: key, value: value))
            }
        }
        return pairs
    }

    /// Writes `hstore_out` text.
    static func appendHstore(_ pairs: [PostgresHstorePair], to output: inout String) {
        func quoted(_ text: String, _ output: inout String) {
            output.append("\"")
            for scalar in text.unicodeScalars {
                if scalar == "\"" || scalar == "\\" { output.append("\\") }
                output.unicodeScalars.append(scalar)
            }
            output.append("\"")
        }
        for (index, pair) in pairs.enumerated() {
            if index > 0 { output.append(", ") }
            quoted(pair.key, &output)
            output.append("=>")
            if let value = pair.value {
                quoted(value, &output)
            } else {
                output.append("NULL")
            }
        }
    }
}
