// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

extension PostgresValue {
    /// Appends the value as `to_jsonb(value)::text` writes it in a session with `TimeZone=UTC`,
    /// `extra_float_digits >= 1`, `lc_monetary=C` and default `DateStyle` / `IntervalStyle`.
    ///
    /// Numbers are JSON numbers (`NaN` and `±Infinity` are strings), `oid` and `money` strings, `json`/`jsonb`
    /// embedded in `jsonb`'s canonical form, arrays nested JSON arrays (lower bounds dropped), composites and
    /// `hstore` objects (keys in `jsonb` order: shorter first, then bytewise), date and timestamps in ISO 8601
    /// (`2026-11-21T23:00:00.123456+00:00`), and everything else the type's text as a JSON string.
    public func appendJSON(to output: inout String) {
        switch self {
        case .null:
            output.append("null")
        case .bool(let value):
            output.append(value ? "true" : "false")
        case .int(let value):
            appendDecimal(value, to: &output)
        case .numeric(let numeric):
            switch numeric {
            case .finite(let text): output.append(text)
            case .nan: output.append("\"NaN\"")
            case .infinity: output.append("\"Infinity\"")
            case .negativeInfinity: output.append("\"-Infinity\"")
            }
        case .float4(let value):
            FloatText.appendJSON(value, to: &output)
        case .float8(let value):
            FloatText.appendJSON(value, to: &output)
        case .text(let text), .enumLabel(let text), .xml(let text), .tsquery(let text), .other(let text):
            JSONText.appendString(text, to: &output)
        case .json(let text):
            var normalized = ""
            var contiguous = text
            switch contiguous.withUTF8({ JSONNormalizer.append(UnsafeRawBufferPointer($0), to: &normalized) }) {
            case .normalized: output.append(normalized)
            case .malformed: JSONText.appendString(text, to: &output)
            }
        case .jsonb(let text):
            // jsonb_out text is already canonical; the server guarantees it is well-formed.
            output.append(text)
        case .date, .time, .timetz, .interval, .oid, .uuid, .inet, .macaddr, .money, .bits, .geometry:
            // Text of these types never holds a character JSON escapes.
            output.append("\"")
            self.appendText(to: &output)
            output.append("\"")
        case .timestamp(let timestamp):
            ASCIIWriter.append(capacity: 48, to: &output) { writer in
                writer.write(UInt8(ascii: "\""))
                DateTimeText.writeTimestamp(timestamp.rawValue, withZone: false, xsd: true, to: &writer)
                writer.write(UInt8(ascii: "\""))
            }
        case .timestamptz(let timestamp):
            ASCIIWriter.append(capacity: 48, to: &output) { writer in
                writer.write(UInt8(ascii: "\""))
                DateTimeText.writeTimestamp(timestamp.rawValue, withZone: true, xsd: true, to: &writer)
                writer.write(UInt8(ascii: "\""))
            }
        case .array(let array):
            guard !array.dimensions.isEmpty, !array.dimensions.contains(0) else {
                output.append("[]")
                return
            }
            var index = 0
            Self.appendJSONLevel(array, depth: 0, index: &index, to: &output)
        case .composite(let fields):
            output.append("{")
            for (position, index) in jsonKeyOrder(fields.map(\.name)).enumerated() {
                if position > 0 { output.append(", ") }
                JSONText.appendString(fields[index].name, to: &output)
                output.append(": ")
                fields[index].value.appendJSON(to: &output)
            }
            output.append("}")
        case .hstore(let pairs):
            output.append("{")
            var previous: Int? = nil
            for index in jsonKeyOrder(pairs.map(\.key)) {
                if let previous, pairs[previous].key == pairs[index].key { continue }
                if previous != nil { output.append(", ") }
                JSONText.appendString(pairs[index].key, to: &output)
                output.append(": ")
                if let value = pairs[index].value {
                    JSONText.appendString(value, to: &output)
                } else {
                    output.append("null")
                }
                previous = index
            }
            output.append("}")
        case .bytea, .tsvector, .range, .multirange, .unknownBinary:
            var text = ""
            self.appendText(to: &text)
            JSONText.appendString(text, to: &output)
        }
    }

    private static func appendJSONLevel(_ array: PostgresArray, depth: Int, index: inout Int, to output: inout String) {
        output.append("[")
        for position in 0..<array.dimensions[depth] {
            if position > 0 { output.append(", ") }
            if depth + 1 < array.dimensions.count {
                appendJSONLevel(array, depth: depth + 1, index: &index, to: &output)
            } else {
                (index < array.elements.count ? array.elements[index] : .null).appendJSON(to: &output)
                index += 1
            }
        }
        output.append("]")
    }

    /// The value as `to_jsonb(value)::text` writes it.
    public var jsonText: String {
        var output = ""
        self.appendJSON(to: &output)
        return output
    }

    /// Appends the value's text form: what the type's output function writes in a session with `DateStyle=ISO`,
    /// `IntervalStyle=postgres`, `TimeZone=UTC`, `extra_float_digits >= 1`, `bytea_output=hex` and
    /// `lc_monetary=C`. `NULL` writes nothing.
    public func appendText(to output: inout String) {
        switch self {
        case .null:
            break
        case .bool(let value):
            output.append(value ? "t" : "f")
        case .int(let value):
            appendDecimal(value, to: &output)
        case .oid(let value):
            appendDecimal(Int64(value), to: &output)
        case .numeric(let numeric):
            switch numeric {
            case .finite(let text): output.append(text)
            case .nan: output.append("NaN")
            case .infinity: output.append("Infinity")
            case .negativeInfinity: output.append("-Infinity")
            }
        case .float4(let value):
            FloatText.append(value, to: &output)
        case .float8(let value):
            FloatText.append(value, to: &output)
        case .text(let text), .json(let text), .jsonb(let text), .xml(let text), .tsquery(let text),
            .enumLabel(let text), .other(let text):
            output.append(text)
        case .bytea(let bytes), .unknownBinary(let bytes):
            Self.appendHex(bytes, to: &output)
        case .uuid(let uuid):
            ASCIIWriter.append(capacity: 36, to: &output) { writer in
                for index in 0..<16 {
                    if index == 4 || index == 6 || index == 8 || index == 10 { writer.write(UInt8(ascii: "-")) }
                    let word = index < 8 ? uuid.high : uuid.low
                    writer.writeHex(UInt8(truncatingIfNeeded: word >> (56 - UInt64(index % 8) * 8)))
                }
            }
        case .date(let days):
            ASCIIWriter.append(capacity: 24, to: &output) { DateTimeText.writeDate(days, to: &$0) }
        case .time(let microseconds):
            ASCIIWriter.append(capacity: 24, to: &output) {
                DateTimeText.writeTime(microseconds: microseconds, to: &$0)
            }
        case .timetz(let microseconds, let zone):
            ASCIIWriter.append(capacity: 32, to: &output) { writer in
                DateTimeText.writeTime(microseconds: microseconds, to: &writer)
                DateTimeText.writeZone(secondsWest: zone, xsd: false, to: &writer)
            }
        case .timestamp(let timestamp):
            ASCIIWriter.append(capacity: 48, to: &output) {
                DateTimeText.writeTimestamp(timestamp.rawValue, withZone: false, xsd: false, to: &$0)
            }
        case .timestamptz(let timestamp):
            ASCIIWriter.append(capacity: 48, to: &output) {
                DateTimeText.writeTimestamp(timestamp.rawValue, withZone: true, xsd: false, to: &$0)
            }
        case .interval(let interval):
            ASCIIWriter.append(capacity: 96, to: &output) { DateTimeText.writeInterval(interval, to: &$0) }
        case .inet(let inet):
            ASCIIWriter.append(capacity: 64, to: &output) { NetworkText.write(inet, to: &$0) }
        case .macaddr(let bytes):
            ASCIIWriter.append(capacity: 3 * bytes.count, to: &output) { NetworkText.writeMAC(bytes, to: &$0) }
        case .money(let cents):
            Self.appendMoney(cents, to: &output)
        case .bits(let bits):
            ASCIIWriter.append(capacity: max(1, bits.count), to: &output) { writer in
                for index in 0..<bits.count {
                    let byte = index / 8 < bits.bytes.count ? bits.bytes[index / 8] : 0
                    writer.write(byte & (0x80 >> UInt8(index % 8)) != 0 ? UInt8(ascii: "1") : UInt8(ascii: "0"))
                }
            }
        case .tsvector(let lexemes):
            TextSearchText.append(lexemes, to: &output)
        case .geometry(let geometry):
            GeometryText.append(geometry, to: &output)
        case .array(let array):
            let isBox: Bool
            if case .geometry(.box) = array.elements.first(where: { $0 != .null }) {
                isBox = true
            } else {
                isBox = false
            }
            StructuredText.appendArray(array, delimiter: isBox ? UInt8(ascii: ";") : UInt8(ascii: ","), to: &output) {
                $0.appendText(to: &$1)
            }
        case .composite(let fields):
            StructuredText.appendRecord(fields, to: &output) { $0.appendText(to: &$1) }
        case .range(let range):
            StructuredText.appendRange(range, to: &output) { $0.appendText(to: &$1) }
        case .multirange(let ranges):
            output.append("{")
            for (index, range) in ranges.enumerated() {
                if index > 0 { output.append(",") }
                StructuredText.appendRange(range, to: &output) { $0.appendText(to: &$1) }
            }
            output.append("}")
        case .hstore(let pairs):
            StructuredText.appendHstore(pairs, to: &output)
        }
    }

    /// The value's text form (see `appendText(to:)`).
    public var postgresText: String {
        var output = ""
        self.appendText(to: &output)
        return output
    }

    /// `byteaout` with `bytea_output=hex`: `\x` and two lower-case hex digits per byte.
    static func appendHex(_ bytes: [UInt8], to output: inout String) {
        ASCIIWriter.append(capacity: 2 + 2 * bytes.count, to: &output) { writer in
            writer.write(UInt8(ascii: "\\"))
            writer.write(UInt8(ascii: "x"))
            for byte in bytes { writer.writeHex(byte) }
        }
    }

    /// `cash_out` in the C locale: `-$1,234.56`.
    static func appendMoney(_ cents: Int64, to output: inout String) {
        ASCIIWriter.append(capacity: 32, to: &output) { writer in
            if cents < 0 { writer.write(UInt8(ascii: "-")) }
            writer.write(UInt8(ascii: "$"))
            let magnitude = cents.magnitude
            let units = magnitude / 100
            var groups: [UInt64] = []
            var rest = units
            repeat {
                groups.append(rest % 1000)
                rest /= 1000
            } while rest > 0
            for (index, group) in groups.reversed().enumerated() {
                if index > 0 { writer.write(UInt8(ascii: ",")) }
                writer.write(group, width: index == 0 ? 1 : 3)
            }
            writer.write(UInt8(ascii: "."))
            writer.write(magnitude % 100, width: 2)
        }
    }
}
