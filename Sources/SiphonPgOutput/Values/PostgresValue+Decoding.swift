// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore

extension ValueDecodingError {
    static func invalid(_ type: ValueType, _ reason: String) -> Self {
        ValueDecodingError(typeOID: type.oid, reason: reason)
    }
}

// MARK: - Text

extension PostgresValue {
    /// Decodes a value's text form, as the output function writes it in a session with `DateStyle=ISO`,
    /// `IntervalStyle=postgres`, `TimeZone=UTC`, `extra_float_digits=1`, `bytea_output=hex`, `lc_monetary=C`.
    static func decodeText(_ bytes: UnsafeRawBufferPointer, as type: ValueType) throws(ValueDecodingError) -> Self {
        switch type.kind {
        case .scalar(let scalar):
            return try decodeTextScalar(bytes, scalar, type)
        case .array(let element, let delimiter):
            guard let parsed = StructuredText.parseArray(bytes, delimiter: delimiter) else {
                throw .invalid(type, "malformed array text")
            }
            var elements: [PostgresValue] = []
            elements.reserveCapacity(parsed.items.count)
            for item in parsed.items {
                elements.append(try decodeTextItem(item, in: bytes, as: element))
            }
            return .array(
                PostgresArray(dimensions: parsed.dimensions, lowerBounds: parsed.lowerBounds, elements: elements)
            )
        case .vector(let element):
            var elements: [PostgresValue] = []
            for item in StructuredText.parseVector(bytes) {
                elements.append(try decodeTextItem(item, in: bytes, as: element))
            }
            // int2vector and oidvector arrays start at index 0.
            return .array(
                PostgresArray(
                    dimensions: elements.isEmpty ? [] : [elements.count],
                    lowerBounds: elements.isEmpty ? [] : [0],
                    elements: elements
                )
            )
        case .composite(let layout):
            guard let items = StructuredText.parseRecord(bytes) else { throw .invalid(type, "malformed record text") }
            if layout.knowsShape(ofFieldCount: items.count),
                let fields = try? decodeTextFields(items, in: bytes, layout: layout)
            {
                return .composite(fields)
            }
            // Written before an ALTER TYPE, in a shape today's catalog cannot name: its text, as the server sent it
            // (what to_jsonb() makes of a type it has no JSON form for), rather than fields under wrong names.
            return .other(String(decoding: bytes, as: UTF8.self))
        case .range(let subtype):
            return .range(try decodeTextRange(bytes, subtype: subtype, type: type))
        case .multirange(let subtype):
            guard let ranges = StructuredText.splitMultirange(bytes) else {
                throw .invalid(type, "malformed multirange text")
            }
            var result: [PostgresRange] = []
            for range in ranges {
                result.append(
                    try decodeTextRange(UnsafeRawBufferPointer(rebasing: bytes[range]), subtype: subtype, type: type)
                )
            }
            return .multirange(result)
        case .enumeration:
            return .enumLabel(String(decoding: bytes, as: UTF8.self))
        case .hstore:
            guard let pairs = StructuredText.parseHstore(bytes) else { throw .invalid(type, "malformed hstore text") }
            return .hstore(pairs)
        case .unknown:
            return .other(String(decoding: bytes, as: UTF8.self))
        }
    }

    private static func decodeTextItem(
        _ item: StructuredText.Item,
        in input: UnsafeRawBufferPointer,
        as type: ValueType
    ) throws(ValueDecodingError) -> Self {
        try item.withBytes(in: input) { (bytes) throws(ValueDecodingError) -> PostgresValue in
            guard let bytes else { return .null }
            return try decodeText(bytes, as: type)
        }
    }

    private static func decodeTextFields(
        _ items: [StructuredText.Item],
        in bytes: UnsafeRawBufferPointer,
        layout: CompositeLayout
    ) throws(ValueDecodingError) -> [PostgresField] {
        var fields: [PostgresField] = []
        fields.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            let value = try decodeTextItem(item, in: bytes, as: layout.types[index])
            fields.append(PostgresField(name: layout.names[index], value: value))
        }
        return fields
    }

    private static func decodeTextRange(
        _ bytes: UnsafeRawBufferPointer,
        subtype: ValueType,
        type: ValueType
    ) throws(ValueDecodingError) -> PostgresRange {
        guard let parsed = StructuredText.parseRange(bytes) else { throw .invalid(type, "malformed range text") }
        if parsed.isEmpty { return .empty }
        var lower: PostgresValue? = nil
        var upper: PostgresValue? = nil
        if let item = parsed.lower { lower = try decodeTextItem(item, in: bytes, as: subtype) }
        if let item = parsed.upper { upper = try decodeTextItem(item, in: bytes, as: subtype) }
        return PostgresRange(
            isEmpty: false,
            lower: lower,
            upper: upper,
            lowerInclusive: parsed.lowerInclusive,
            upperInclusive: parsed.upperInclusive
        )
    }

    static func decodeTextScalar(
        _ bytes: UnsafeRawBufferPointer,
        _ scalar: ScalarType,
        _ type: ValueType
    ) throws(ValueDecodingError) -> Self {
        func string() -> String { String(decoding: bytes, as: UTF8.self) }
        func integer(_ range: ClosedRange<Int64>) throws(ValueDecodingError) -> Int64 {
            var scanner = TextScanner(bytes)
            guard let value = scanner.readSignedInteger(), scanner.isAtEnd, range.contains(value) else {
                throw .invalid(type, "invalid integer text")
            }
            return value
        }
        switch scalar {
        case .bool:
            if bytesEqual(bytes, "t") { return .bool(true) }
            if bytesEqual(bytes, "f") { return .bool(false) }
            throw .invalid(type, "invalid boolean text")
        case .int2:
            return .int(try integer(Int64(Int16.min)...Int64(Int16.max)))
        case .int4:
            return .int(try integer(Int64(Int32.min)...Int64(Int32.max)))
        case .int8:
            return .int(try integer(Int64.min...Int64.max))
        case .oid:
            return .oid(UInt32(try integer(0...Int64(UInt32.max))))
        case .numeric:
            if bytesEqual(bytes, "NaN") { return .numeric(.nan) }
            if bytesEqual(bytes, "Infinity") { return .numeric(.infinity) }
            if bytesEqual(bytes, "-Infinity") { return .numeric(.negativeInfinity) }
            guard NumericText.isFiniteText(bytes) else { throw .invalid(type, "invalid numeric text") }
            return .numeric(.finite(string()))
        case .float4:
            guard let value = FloatText.parseFloat(bytes) else { throw .invalid(type, "invalid float4 text") }
            return .float4(value)
        case .float8:
            guard let value = FloatText.parseDouble(bytes) else { throw .invalid(type, "invalid float8 text") }
            return .float8(value)
        case .text, .char:
            return .text(string())
        case .bytea:
            guard let value = parseBytea(bytes) else { throw .invalid(type, "invalid bytea text") }
            return .bytea(value)
        case .json:
            return .json(string())
        case .jsonb:
            return .jsonb(string())
        case .jsonpath, .pgLSN, .xid, .xid8, .tid, .snapshot, .regOID, .textOnly:
            return .other(string())
        case .uuid:
            guard let value = parseUUID(bytes) else { throw .invalid(type, "invalid uuid text") }
            return .uuid(value)
        case .date:
            guard let days = DateTimeText.parseDate(bytes) else { throw .invalid(type, "invalid date text") }
            return .date(daysSince2000: days)
        case .time:
            var scanner = TextScanner(bytes)
            guard let time = DateTimeText.readTime(&scanner), scanner.isAtEnd else {
                throw .invalid(type, "invalid time text")
            }
            return .time(microseconds: time)
        case .timetz:
            var scanner = TextScanner(bytes)
            guard let time = DateTimeText.readTime(&scanner), let zone = DateTimeText.readZone(&scanner),
                scanner.isAtEnd
            else { throw .invalid(type, "invalid timetz text") }
            return .timetz(microseconds: time, secondsWestOfUTC: Int32(-zone))
        case .timestamp:
            guard let raw = DateTimeText.parseTimestamp(bytes, withZone: false) else {
                throw .invalid(type, "invalid timestamp text (expected DateStyle=ISO)")
            }
            return .timestamp(PostgresTimestamp(rawValue: raw))
        case .timestamptz:
            guard let raw = DateTimeText.parseTimestamp(bytes, withZone: true) else {
                throw .invalid(type, "invalid timestamptz text (expected DateStyle=ISO)")
            }
            return .timestamptz(PostgresTimestamp(rawValue: raw))
        case .interval:
            guard let interval = DateTimeText.parseInterval(bytes) else {
                throw .invalid(type, "invalid interval text (expected IntervalStyle=postgres)")
            }
            return .interval(interval)
        case .inet, .cidr:
            guard let inet = NetworkText.parseInet(bytes, isCIDR: scalar == .cidr) else {
                throw .invalid(type, "invalid inet text")
            }
            return .inet(inet)
        case .macaddr, .macaddr8:
            guard let mac = NetworkText.parseMAC(bytes, count: scalar == .macaddr ? 6 : 8) else {
                throw .invalid(type, "invalid macaddr text")
            }
            return .macaddr(mac)
        case .money:
            guard let cents = parseMoney(bytes) else {
                throw .invalid(type, "invalid money text (expected lc_monetary=C)")
            }
            return .money(cents: cents)
        case .bit:
            var packed = [UInt8](repeating: 0, count: (bytes.count + 7) / 8)
            for (index, byte) in bytes.enumerated() {
                switch byte {
                case UInt8(ascii: "1"): packed[index / 8] |= 0x80 >> UInt8(index % 8)
                case UInt8(ascii: "0"): break
                default: throw .invalid(type, "invalid bit string text")
                }
            }
            return .bits(PostgresBitString(count: bytes.count, bytes: packed))
        case .xml:
            return .xml(string())
        case .tsvector:
            guard let lexemes = TextSearchText.parseVector(bytes) else { throw .invalid(type, "invalid tsvector text") }
            return .tsvector(lexemes)
        case .tsquery:
            return .tsquery(string())
        case .point, .line, .lseg, .box, .path, .polygon, .circle:
            guard let geometry = GeometryText.parse(bytes, as: scalar) else {
                throw .invalid(type, "invalid geometric text")
            }
            return .geometry(geometry)
        }
    }

    /// Reads `byteaout` text in either output style: `\x` and hex pairs, or escaped (`\\` and `\ooo`).
    static func parseBytea(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        if bytes.count >= 2, bytes[0] == UInt8(ascii: "\\"), bytes[1] == UInt8(ascii: "x") {
            guard bytes.count % 2 == 0 else { return nil }
            var result: [UInt8] = []
            result.reserveCapacity(bytes.count / 2 - 1)
            var index = 2
            while index < bytes.count {
                guard let high = hexValue(bytes[index]), let low = hexValue(bytes[index + 1]) else { return nil }
                result.append(high << 4 | low)
                index += 2
            }
            return result
        }
        var result: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "\\") else {
                result.append(byte)
                index += 1
                continue
            }
            if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\\") {
                result.append(byte)
                index += 2
                continue
            }
            guard index + 3 < bytes.count else { return nil }
            var value: UInt16 = 0
            for offset in 1...3 {
                let digit = bytes[index + offset]
                guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "7") else { return nil }
                value = value * 8 + UInt16(digit - UInt8(ascii: "0"))
            }
            guard value <= 255 else { return nil }
            result.append(UInt8(value))
            index += 4
        }
        return result
    }

    static func parseUUID(_ bytes: UnsafeRawBufferPointer) -> PostgresUUID? {
        guard bytes.count == 36 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        var nibbles = 0
        for (index, byte) in bytes.enumerated() {
            if index == 8 || index == 13 || index == 18 || index == 23 {
                guard byte == UInt8(ascii: "-") else { return nil }
                continue
            }
            guard let value = hexValue(byte) else { return nil }
            if nibbles < 16 {
                high = high << 4 | UInt64(value)
            } else {
                low = low << 4 | UInt64(value)
            }
            nibbles += 1
        }
        return PostgresUUID(high: high, low: low)
    }

    /// Reads `cash_out` text in the C locale (`-$1,234.56`) as cents.
    static func parseMoney(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var scanner = TextScanner(bytes)
        let negative = scanner.consume(UInt8(ascii: "-"))
        guard scanner.consume(UInt8(ascii: "$")) else { return nil }
        var units: UInt64 = 0
        var digits = 0
        while let byte = scanner.peek(), NumericText.isDigit(byte) || byte == UInt8(ascii: ",") {
            scanner.position += 1
            guard byte != UInt8(ascii: ",") else { continue }
            let (times10, overflow) = units.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            units = times10 + UInt64(byte - UInt8(ascii: "0"))
            digits += 1
        }
        guard digits > 0, scanner.consume(UInt8(ascii: ".")), let cents = scanner.readDigits(minimum: 2, maximum: 2),
            scanner.isAtEnd
        else { return nil }
        let (scaled, overflow) = units.multipliedReportingOverflow(by: 100)
        guard !overflow else { return nil }
        let magnitude = scaled + UInt64(cents)
        if negative {
            guard magnitude <= Int64.min.magnitude else { return nil }
            return Int64(bitPattern: 0 &- magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }
}

// MARK: - Binary

extension PostgresValue {
    /// Decodes a value's binary ("send") form; every byte must be consumed.
    static func decodeBinary(_ bytes: ByteBuffer, as type: ValueType) throws(ValueDecodingError) -> Self {
        var buffer = bytes
        let value: PostgresValue
        switch type.kind {
        case .scalar(let scalar):
            value = try decodeBinaryScalar(&buffer, scalar, type)
        case .array(let element, _), .vector(let element):
            value = .array(try decodeBinaryArray(&buffer, element: element, type: type))
        case .composite(let layout):
            value = try decodeBinaryComposite(&buffer, layout: layout, type: type)
        case .range(let subtype):
            value = .range(try decodeBinaryRange(&buffer, subtype: subtype, type: type))
        case .multirange(let subtype):
            guard let count = buffer.readInteger(as: Int32.self), count >= 0 else {
                throw .invalid(type, "truncated multirange")
            }
            var ranges: [PostgresRange] = []
            for _ in 0..<count {
                guard var range = try readLengthPrefixed(&buffer, type) else {
                    throw .invalid(type, "NULL range in multirange")
                }
                ranges.append(try decodeBinaryRange(&range, subtype: subtype, type: type))
                guard range.readableBytes == 0 else { throw .invalid(type, "trailing bytes in multirange range") }
            }
            value = .multirange(ranges)
        case .enumeration:
            value = .enumLabel(buffer.readString(length: buffer.readableBytes) ?? "")
        case .hstore:
            value = .hstore(try decodeBinaryHstore(&buffer, type: type))
        case .unknown(let binaryIsText):
            if binaryIsText {
                value = .other(buffer.readString(length: buffer.readableBytes) ?? "")
            } else {
                value = .unknownBinary(buffer.readBytes(length: buffer.readableBytes) ?? [])
            }
        }
        guard buffer.readableBytes == 0 else {
            throw .invalid(type, "\(buffer.readableBytes) trailing bytes after binary value")
        }
        return value
    }

    /// Reads an int32 length and that many bytes; `nil` for length -1 (NULL).
    private static func readLengthPrefixed(
        _ buffer: inout ByteBuffer,
        _ type: ValueType
    ) throws(ValueDecodingError) -> ByteBuffer? {
        guard let length = buffer.readInteger(as: Int32.self) else { throw .invalid(type, "truncated length") }
        if length == -1 { return nil }
        guard length >= 0, let slice = buffer.readSlice(length: Int(length)) else {
            throw .invalid(type, "truncated element")
        }
        return slice
    }

    /// `array_send`: int32 ndim, int32 has-nulls flag, element OID, (int32 length, int32 lower bound) per
    /// dimension, then each element length-prefixed (-1 for NULL).
    private static func decodeBinaryArray(
        _ buffer: inout ByteBuffer,
        element: ValueType,
        type: ValueType
    ) throws(ValueDecodingError) -> PostgresArray {
        guard let dimensionCount = buffer.readInteger(as: Int32.self), (0...6).contains(dimensionCount),
            buffer.readInteger(as: Int32.self) != nil, buffer.readInteger(as: UInt32.self) != nil
        else { throw .invalid(type, "invalid array header") }
        var dimensions: [Int] = []
        var lowerBounds: [Int] = []
        var count = 1
        for _ in 0..<dimensionCount {
            guard let length = buffer.readInteger(as: Int32.self), let lower = buffer.readInteger(as: Int32.self),
                length >= 0
            else { throw .invalid(type, "invalid array dimension") }
            dimensions.append(Int(length))
            lowerBounds.append(Int(lower))
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(length))
            guard !overflow else { throw .invalid(type, "array dimensions overflow") }
            count = product
        }
        if dimensions.isEmpty { count = 0 }
        guard count <= buffer.readableBytes / 4 else { throw .invalid(type, "array larger than its bytes") }
        var elements: [PostgresValue] = []
        elements.reserveCapacity(count)
        for _ in 0..<count {
            if let bytes = try readLengthPrefixed(&buffer, type) {
                elements.append(try decodeBinary(bytes, as: element))
            } else {
                elements.append(.null)
            }
        }
        return PostgresArray(dimensions: dimensions, lowerBounds: lowerBounds, elements: elements)
    }

    /// `record_send`: int32 field count, then per field its declared type OID and length-prefixed value.
    private static func decodeBinaryComposite(
        _ buffer: inout ByteBuffer,
        layout: CompositeLayout,
        type: ValueType
    ) throws(ValueDecodingError) -> Self {
        guard let count = buffer.readInteger(as: Int32.self), count >= 0, Int(count) <= buffer.readableBytes / 8 else {
            throw .invalid(type, "invalid record header")
        }
        var sent: [(declaredOID: UInt32, bytes: ByteBuffer?)] = []
        sent.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let oid = buffer.readInteger(as: UInt32.self) else { throw .invalid(type, "truncated record") }
            sent.append((oid, try readLengthPrefixed(&buffer, type)))
        }
        if layout.knowsShape(ofFieldCount: sent.count),
            zip(sent, layout.declaredOIDs).allSatisfy({ $0.declaredOID == $1 }),
            let fields = try? decodeBinaryFields(sent.map(\.bytes), types: layout.types, names: layout.names)
        {
            return .composite(fields)
        }
        // Written before an ALTER TYPE, in a shape today's catalog cannot name: the record's text, as the text format
        // would have sent it, decoding each field by the type the record itself declares.
        let fields = try decodeBinaryFields(
            sent.map(\.bytes),
            types: sent.map { layout.type(forDeclaredOID: $0.declaredOID) },
            names: nil
        )
        var text = ""
        StructuredText.appendRecord(fields, to: &text) { $0.appendText(to: &$1) }
        return .other(text)
    }

    /// Decodes binary record fields; `names` `nil` leaves them unnamed.
    private static func decodeBinaryFields(
        _ values: [ByteBuffer?],
        types: [ValueType],
        names: [String]?
    ) throws(ValueDecodingError) -> [PostgresField] {
        var fields: [PostgresField] = []
        fields.reserveCapacity(values.count)
        for (index, bytes) in values.enumerated() {
            var value = PostgresValue.null
            if let bytes { value = try decodeBinary(bytes, as: types[index]) }
            fields.append(PostgresField(name: names?[index] ?? "", value: value))
        }
        return fields
    }

    /// `range_send` flag bits (src/include/utils/rangetypes.h).
    private static let rangeEmpty: UInt8 = 0x01
    private static let rangeLowerInclusive: UInt8 = 0x02
    private static let rangeUpperInclusive: UInt8 = 0x04
    private static let rangeLowerInfinite: UInt8 = 0x08
    private static let rangeUpperInfinite: UInt8 = 0x10
    private static let rangeLowerNull: UInt8 = 0x20
    private static let rangeUpperNull: UInt8 = 0x40

    /// `range_send`: a flags byte, then each present bound length-prefixed.
    private static func decodeBinaryRange(
        _ buffer: inout ByteBuffer,
        subtype: ValueType,
        type: ValueType
    ) throws(ValueDecodingError) -> PostgresRange {
        guard let flags = buffer.readInteger(as: UInt8.self) else { throw .invalid(type, "truncated range") }
        if flags & rangeEmpty != 0 { return .empty }
        var lower: PostgresValue? = nil
        var upper: PostgresValue? = nil
        if flags & (rangeLowerInfinite | rangeLowerNull) == 0 {
            guard let bytes = try readLengthPrefixed(&buffer, type) else { throw .invalid(type, "NULL range bound") }
            lower = try decodeBinary(bytes, as: subtype)
        }
        if flags & (rangeUpperInfinite | rangeUpperNull) == 0 {
            guard let bytes = try readLengthPrefixed(&buffer, type) else { throw .invalid(type, "NULL range bound") }
            upper = try decodeBinary(bytes, as: subtype)
        }
        return PostgresRange(
            isEmpty: false,
            lower: lower,
            upper: upper,
            lowerInclusive: flags & rangeLowerInclusive != 0,
            upperInclusive: flags & rangeUpperInclusive != 0
        )
    }

    /// `hstore_send`: int32 count, then per pair a length-prefixed key and value (-1 for NULL).
    private static func decodeBinaryHstore(
        _ buffer: inout ByteBuffer,
        type: ValueType
    ) throws(ValueDecodingError) -> [PostgresHstorePair] {
        guard let count = buffer.readInteger(as: Int32.self), count >= 0, Int(count) <= buffer.readableBytes / 8 else {
            throw .invalid(type, "invalid hstore header")
        }
        var pairs: [PostgresHstorePair] = []
        pairs.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let key = try readLengthPrefixed(&buffer, type) else { throw .invalid(type, "NULL hstore key") }
            let value = try readLengthPrefixed(&buffer, type)
            pairs.append(PostgresHstorePair(key: String(buffer: key), value: value.map { String(buffer: $0) }))
        }
        return pairs
    }

    static func decodeBinaryScalar(
        _ buffer: inout ByteBuffer,
        _ scalar: ScalarType,
        _ type: ValueType
    ) throws(ValueDecodingError) -> Self {
        func read<Integer: FixedWidthInteger>(_: Integer.Type) throws(ValueDecodingError) -> Integer {
            guard let value = buffer.readInteger(as: Integer.self) else {
                throw .invalid(type, "expected \(MemoryLayout<Integer>.size) more bytes")
            }
            return value
        }
        func double() throws(ValueDecodingError) -> Double { Double(bitPattern: try read(UInt64.self)) }
        func point() throws(ValueDecodingError) -> PostgresPoint { PostgresPoint(x: try double(), y: try double()) }
        func rest() -> String { buffer.readString(length: buffer.readableBytes) ?? "" }

        switch scalar {
        case .bool:
            return .bool(try read(UInt8.self) != 0)
        case .int2:
            return .int(Int64(try read(Int16.self)))
        case .int4:
            return .int(Int64(try read(Int32.self)))
        case .int8:
            return .int(try read(Int64.self))
        case .oid:
            return .oid(try read(UInt32.self))
        case .numeric:
            let numeric: PostgresNumeric? = buffer.withUnsafeReadableBytes { bytes in
                guard let binary = NumericText.Binary(bytes) else { return nil }
                switch binary.sign {
                case NumericText.nan: return .nan
                case NumericText.positiveInfinity: return .infinity
                case NumericText.negativeInfinity: return .negativeInfinity
                case NumericText.positive, NumericText.negative:
                    var text = ""
                    NumericText.appendFinite(binary, to: &text)
                    return .finite(text)
                default: return nil
                }
            }
            guard let numeric else { throw .invalid(type, "invalid binary numeric") }
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            return .numeric(numeric)
        case .float4:
            return .float4(Float(bitPattern: try read(UInt32.self)))
        case .float8:
            return .float8(try double())
        case .text:
            return .text(rest())
        case .char:
            return .text(charText(try read(UInt8.self)))
        case .bytea:
            return .bytea(buffer.readBytes(length: buffer.readableBytes) ?? [])
        case .json:
            return .json(rest())
        case .jsonb, .jsonpath:
            guard try read(UInt8.self) == 1 else { throw .invalid(type, "unsupported jsonb/jsonpath version") }
            return scalar == .jsonb ? .jsonb(rest()) : .other(rest())
        case .uuid:
            return .uuid(PostgresUUID(high: try read(UInt64.self), low: try read(UInt64.self)))
        case .date:
            return .date(daysSince2000: try read(Int32.self))
        case .time:
            let time = try read(Int64.self)
            guard (0...DateTimeText.microsecondsPerDay).contains(time) else {
                throw .invalid(type, "time out of range")
            }
            return .time(microseconds: time)
        case .timetz:
            let time = try read(Int64.self)
            let zone = try read(Int32.self)
            guard (0...DateTimeText.microsecondsPerDay).contains(time), (-57_600...57_600).contains(zone) else {
                throw .invalid(type, "timetz out of range")
            }
            return .timetz(microseconds: time, secondsWestOfUTC: zone)
        case .timestamp:
            return .timestamp(PostgresTimestamp(rawValue: try read(Int64.self)))
        case .timestamptz:
            return .timestamptz(PostgresTimestamp(rawValue: try read(Int64.self)))
        case .interval:
            let microseconds = try read(Int64.self)
            let days = try read(Int32.self)
            let months = try read(Int32.self)
            return .interval(PostgresInterval(months: months, days: days, microseconds: microseconds))
        case .inet, .cidr:
            let family = try read(UInt8.self)
            let bits = try read(UInt8.self)
            _ = try read(UInt8.self)
            let count = try read(UInt8.self)
            guard family == NetworkText.familyIPv4 && count == 4 || family == NetworkText.familyIPv6 && count == 16,
                let address = buffer.readBytes(length: Int(count)), bits <= count * 8
            else { throw .invalid(type, "invalid binary inet") }
            return .inet(
                PostgresInet(
                    family: family == NetworkText.familyIPv4 ? .ipv4 : .ipv6,
                    bits: bits,
                    address: address,
                    isCIDR: scalar == .cidr
                )
            )
        case .macaddr, .macaddr8:
            guard let bytes = buffer.readBytes(length: scalar == .macaddr ? 6 : 8) else {
                throw .invalid(type, "truncated macaddr")
            }
            return .macaddr(bytes)
        case .money:
            return .money(cents: try read(Int64.self))
        case .bit:
            let count = try read(Int32.self)
            guard count >= 0, let bytes = buffer.readBytes(length: (Int(count) + 7) / 8) else {
                throw .invalid(type, "invalid binary bit string")
            }
            return .bits(PostgresBitString(count: Int(count), bytes: bytes))
        case .xml:
            return .xml(rest())
        case .tsvector:
            guard let lexemes = TextSearchText.decodeVector(&buffer) else { throw .invalid(type, "invalid tsvector") }
            return .tsvector(lexemes)
        case .tsquery:
            guard let text = TextSearchText.decodeQuery(&buffer) else { throw .invalid(type, "invalid tsquery") }
            return .tsquery(text)
        case .point:
            return .geometry(.point(try point()))
        case .line:
            return .geometry(.line(a: try double(), b: try double(), c: try double()))
        case .lseg:
            return .geometry(.lseg(try point(), try point()))
        case .box:
            return .geometry(.box(high: try point(), low: try point()))
        case .path:
            let closed = try read(UInt8.self) != 0
            let count = try read(Int32.self)
            guard count >= 0, Int(count) <= buffer.readableBytes / 16 else { throw .invalid(type, "invalid path") }
            var points: [PostgresPoint] = []
            for _ in 0..<count { points.append(try point()) }
            return .geometry(.path(closed: closed, points: points))
        case .polygon:
            let count = try read(Int32.self)
            guard count >= 0, Int(count) <= buffer.readableBytes / 16 else { throw .invalid(type, "invalid polygon") }
            var points: [PostgresPoint] = []
            for _ in 0..<count { points.append(try point()) }
            return .geometry(.polygon(points))
        case .circle:
            return .geometry(.circle(center: try point(), radius: try double()))
        case .pgLSN:
            let lsn = try read(UInt64.self)
            return .other(
                String(lsn >> 32, radix: 16, uppercase: true) + "/"
                    + String(lsn & 0xFFFF_FFFF, radix: 16, uppercase: true)
            )
        case .xid, .regOID:
            return .other(String(try read(UInt32.self)))
        case .xid8:
            return .other(String(try read(UInt64.self)))
        case .tid:
            let block = try read(UInt32.self)
            let offset = try read(UInt16.self)
            return .other("(\(block),\(offset))")
        case .snapshot:
            let count = try read(Int32.self)
            let xmin = try read(Int64.self)
            let xmax = try read(Int64.self)
            guard count >= 0, Int(count) <= buffer.readableBytes / 8 else { throw .invalid(type, "invalid snapshot") }
            var text = "\(xmin):\(xmax):"
            for index in 0..<count {
                if index > 0 { text += "," }
                text += String(try read(Int64.self))
            }
            return .other(text)
        case .textOnly:
            return .unknownBinary(buffer.readBytes(length: buffer.readableBytes) ?? [])
        }
    }

    /// `charout` (PostgreSQL 15+): NUL is the empty string, bytes with the high bit set are `\ooo`.
    static func charText(_ byte: UInt8) -> String {
        if byte == 0 { return "" }
        if byte >= 0x80 {
            return "\\" + String(byte >> 6) + String((byte >> 3) & 7) + String(byte & 7)
        }
        return String(UnicodeScalar(byte))
    }
}
