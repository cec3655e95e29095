// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Straight-to-output rendering of the most common built-in types, skipping `PostgresValue`.
///
/// Every path here writes the same text `PostgresValue.appendJSON` would (the database tests check both); it only
/// saves the intermediate value, its heap strings and a `ByteBuffer` copy per column. A function returning `false`
/// has appended nothing: the type (or this particular value, malformed ones included) takes the general path,
/// which also produces the precise error.
enum FastPath {
    static func appendJSON(
        _ bytes: UnsafeRawBufferPointer,
        format: ValueFormat,
        typeOID: UInt32,
        to output: inout String
    ) -> Bool {
        if let element = arrayElement(of: typeOID) {
            return appendArray(bytes, format: format, element: element, to: &output)
        }
        switch format {
        case .binary: return appendBinary(bytes, typeOID: typeOID, to: &output)
        case .text: return appendText(bytes, typeOID: typeOID, to: &output)
        }
    }

    /// Built-in array types whose elements have a fast path.
    private static func arrayElement(of oid: UInt32) -> UInt32? {
        switch oid {
        case 1000: 16
        case 1005: 21
        case 1007: 23
        case 1016: 20
        case 1009: 25
        case 1015: 1043
        case 1014: 1042
        case 1003: 19
        case 1115: 1114
        case 1185: 1184
        case 1182: 1082
        case 1231: 1700
        case 1022: 701
        case 1021: 700
        case 2951: 2950
        default: nil
        }
    }

    /// Renders an array as nested JSON arrays, elements through the scalar fast paths. If one element has no fast
    /// path after all, what was written is rolled back.
    private static func appendArray(
        _ bytes: UnsafeRawBufferPointer,
        format: ValueFormat,
        element: UInt32,
        to output: inout String
    ) -> Bool {
        let mark = output.utf8.count
        let rendered: Bool
        switch format {
        case .binary: rendered = appendBinaryArray(bytes, element: element, to: &output)
        case .text: rendered = appendTextArray(bytes, element: element, to: &output)
        }
        if !rendered, output.utf8.count > mark {
            output.removeSubrange(output.utf8.index(output.utf8.startIndex, offsetBy: mark)...)
        }
        return rendered
    }

    /// `array_send` layout (see `PostgresValue.decodeBinary`).
    private static func appendBinaryArray(
        _ bytes: UnsafeRawBufferPointer,
        element: UInt32,
        to output: inout String
    ) -> Bool {
        guard bytes.count >= 12 else { return false }
        let dimensionCount = Int(bigEndian(bytes, as: Int32.self))
        guard (0...6).contains(dimensionCount), bytes.count >= 12 + 8 * dimensionCount else { return false }
        var dimensions: [Int] = []
        var total = 1
        for index in 0..<dimensionCount {
            let length = Int(bigEndian(UnsafeRawBufferPointer(rebasing: bytes[(12 + 8 * index)...]), as: Int32.self))
            guard length >= 0 else { return false }
            let (product, overflow) = total.multipliedReportingOverflow(by: length)
            guard !overflow, product <= bytes.count else { return false }
            total = product
            dimensions.append(length)
        }
        var position = 12 + 8 * dimensionCount
        let rendered = appendNested(dimensions: dimensions, to: &output) { output in
            guard position + 4 <= bytes.count else { return false }
            let length = Int(bigEndian(UnsafeRawBufferPointer(rebasing: bytes[position...]), as: Int32.self))
            position += 4
            if length == -1 {
                output.append("null")
                return true
            }
            guard length >= 0, position + length <= bytes.count else { return false }
            defer { position += length }
            return appendBinary(
                UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)]),
                typeOID: element,
                to: &output
            )
        }
        return rendered && position == bytes.count
    }

    private static func appendTextArray(
        _ bytes: UnsafeRawBufferPointer,
        element: UInt32,
        to output: inout String
    ) -> Bool {
        guard let parsed = StructuredText.parseArray(bytes, delimiter: UInt8(ascii: ",")) else { return false }
        var index = 0
        return appendNested(dimensions: parsed.dimensions, to: &output) { output in
            let item = parsed.items[index]
            index += 1
            return item.withBytes(in: bytes) { itemBytes in
                guard let itemBytes else {
                    output.append("null")
                    return true
                }
                return appendText(itemBytes, typeOID: element, to: &output)
            }
        }
    }

    /// Writes `[…]` nesting for `dimensions` (`[]` when empty), calling `element` for each element in order.
    private static func appendNested(
        dimensions: [Int],
        to output: inout String,
        element: (inout String) -> Bool
    ) -> Bool {
        guard !dimensions.isEmpty, !dimensions.contains(0) else {
            output.append("[]")
            return true
        }
        func level(_ depth: Int, _ output: inout String) -> Bool {
            output.append("[")
            for position in 0..<dimensions[depth] {
                if position > 0 { output.append(", ") }
                guard depth + 1 < dimensions.count ? level(depth + 1, &output) : element(&output) else { return false }
            }
            output.append("]")
            return true
        }
        return level(0, &output)
    }

    @inline(__always)
    private static func bigEndian<Integer: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, as _: Integer.Type)
        -> Integer
    {
        Integer(bigEndian: bytes.loadUnaligned(as: Integer.self))
    }

    private static func appendBinary(_ bytes: UnsafeRawBufferPointer, typeOID: UInt32, to output: inout String) -> Bool
    {
        switch typeOID {
        case 16:
            guard bytes.count == 1 else { return false }
            output.append(bytes[0] != 0 ? "true" : "false")
        case 21:
            guard bytes.count == 2 else { return false }
            appendDecimal(Int64(bigEndian(bytes, as: Int16.self)), to: &output)
        case 23:
            guard bytes.count == 4 else { return false }
            appendDecimal(Int64(bigEndian(bytes, as: Int32.self)), to: &output)
        case 20:
            guard bytes.count == 8 else { return false }
            appendDecimal(bigEndian(bytes, as: Int64.self), to: &output)
        case 25, 1043, 1042, 19:
            JSONText.appendString(bytes, to: &output)
        case 1114, 1184:
            guard bytes.count == 8 else { return false }
            let raw = bigEndian(bytes, as: Int64.self)
            ASCIIWriter.append(capacity: 48, to: &output) { writer in
                writer.write(UInt8(ascii: "\""))
                DateTimeText.writeTimestamp(raw, withZone: typeOID == 1184, xsd: true, to: &writer)
                writer.write(UInt8(ascii: "\""))
            }
        case 1082:
            guard bytes.count == 4 else { return false }
            let days = bigEndian(bytes, as: Int32.self)
            ASCIIWriter.append(capacity: 24, to: &output) { writer in
                writer.write(UInt8(ascii: "\""))
                DateTimeText.writeDate(days, to: &writer)
                writer.write(UInt8(ascii: "\""))
            }
        case 1700:
            guard let numeric = NumericText.Binary(bytes) else { return false }
            switch numeric.sign {
            case NumericText.positive, NumericText.negative: NumericText.appendFinite(numeric, to: &output)
            case NumericText.nan: output.append("\"NaN\"")
            case NumericText.positiveInfinity: output.append("\"Infinity\"")
            case NumericText.negativeInfinity: output.append("\"-Infinity\"")
            default: return false
            }
        case 701:
            guard bytes.count == 8 else { return false }
            FloatText.appendJSON(Double(bitPattern: bigEndian(bytes, as: UInt64.self)), to: &output)
        case 700:
            guard bytes.count == 4 else { return false }
            FloatText.appendJSON(Float(bitPattern: bigEndian(bytes, as: UInt32.self)), to: &output)
        case 2950:
            guard bytes.count == 16 else { return false }
            ASCIIWriter.append(capacity: 38, to: &output) { writer in
                writer.write(UInt8(ascii: "\""))
                for index in 0..<16 {
                    if index == 4 || index == 6 || index == 8 || index == 10 { writer.write(UInt8(ascii: "-")) }
                    writer.writeHex(bytes[index])
                }
                writer.write(UInt8(ascii: "\""))
            }
        default:
            return false
        }
        return true
    }

    private static func appendText(_ bytes: UnsafeRawBufferPointer, typeOID: UInt32, to output: inout String) -> Bool {
        switch typeOID {
        case 16:
            guard bytes.count == 1, bytes[0] == UInt8(ascii: "t") || bytes[0] == UInt8(ascii: "f") else {
                return false
            }
            output.append(bytes[0] == UInt8(ascii: "t") ? "true" : "false")
        case 21, 23, 20:
            // int2out / int4out / int8out text is already the JSON number.
            guard let value = integer(bytes) else { return false }
            switch typeOID {
            case 21: guard Int16(exactly: value) != nil else { return false }
            case 23: guard Int32(exactly: value) != nil else { return false }
            default: break
            }
            appendUTF8(bytes, to: &output)
        case 25, 1043, 1042, 19:
            JSONText.appendString(bytes, to: &output)
        case 1114, 1184:
            guard let raw = DateTimeText.parseTimestamp(bytes, withZone: typeOID == 1184) else { return false }
            ASCIIWriter.append(capacity: 48, to: &output) { writer in
                writer.write(UInt8(ascii: "\""))
                DateTimeText.writeTimestamp(raw, withZone: typeOID == 1184, xsd: true, to: &writer)
                writer.write(UInt8(ascii: "\""))
            }
        case 1082:
            // date_out in ISO style is already to_jsonb's form.
            guard DateTimeText.parseDate(bytes) != nil else { return false }
            output.append("\"")
            appendUTF8(bytes, to: &output)
            output.append("\"")
        case 1700:
            if NumericText.isFiniteText(bytes) {
                appendUTF8(bytes, to: &output)
            } else if bytesEqual(bytes, "NaN") || bytesEqual(bytes, "Infinity") || bytesEqual(bytes, "-Infinity") {
                output.append("\"")
                appendUTF8(bytes, to: &output)
                output.append("\"")
            } else {
                return false
            }
        default:
            return false
        }
        return true
    }

    /// The value of `-?[0-9]{1,18}` text (longer or malformed text goes the general way, which checks it fully).
    private static func integer(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        let negative = bytes.first == UInt8(ascii: "-")
        var index = negative ? 1 : 0
        guard bytes.count - index >= 1, bytes.count - index <= 18 else { return nil }
        var value: Int64 = 0
        while index < bytes.count {
            guard NumericText.isDigit(bytes[index]) else { return nil }
            value = value * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
            index += 1
        }
        return negative ? -value : value
    }
}
