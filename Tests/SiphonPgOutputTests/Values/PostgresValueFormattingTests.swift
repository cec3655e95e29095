// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore
import Testing

@testable import SiphonPgOutput

/// Formatter tests with known values, no database (the database suites compare against the server itself).
@Suite struct PostgresValueFormattingTests {
    private let renderer = ValueRenderer()

    private func json(_ bytes: [UInt8], _ typeOID: UInt32) throws -> String {
        try self.renderer.json(of: ByteBuffer(bytes: bytes), format: .binary, typeOID: typeOID)
    }

    private func json(text: String, _ typeOID: UInt32) throws -> String {
        try self.renderer.json(of: ByteBuffer(string: text), format: .text, typeOID: typeOID)
    }

    @Test func escapeScanFindsEveryByteThatNeedsEscapingAtEveryOffset() {
        for length in 1...24 {
            for offset in 0..<length {
                for byte in UInt8.min...UInt8.max {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    bytes[offset] = byte
                    let expected = byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
                    let found = bytes.withUnsafeBytes { JSONText.needsEscaping($0) }
                    #expect(found == expected, "byte \(byte) at \(offset) of \(length)")
                    if found != expected { return }
                }
            }
        }
    }

    @Test func textWithEscapesAnywhereRendersLikeJSONText() throws {
        for offset in 0..<20 {
            for byte in UInt8(0)...UInt8(0x7F) {
                var bytes = [UInt8]("abcdefghijklmnopqrs".utf8)
                bytes.insert(byte, at: offset)
                let text = String(decoding: bytes, as: UTF8.self)
                var expected = ""
                JSONText.appendString(text, to: &expected)
                #expect(try self.json(text: text, 25) == expected, "byte \(byte) at \(offset)")
            }
        }
    }

    /// `numeric_send` bytes: ndigits, weight, sign, dscale, base-10000 digits.
    private func numeric(weight: Int16, sign: UInt16, scale: Int16, _ digits: [Int16]) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int16(digits.count))
        buffer.writeInteger(weight)
        buffer.writeInteger(sign)
        buffer.writeInteger(scale)
        for digit in digits { buffer.writeInteger(digit) }
        return Array(buffer.readableBytesView)
    }

    @Test func binaryNumericIsWrittenAsNumericOut() throws {
        #expect(try json(numeric(weight: 1, sign: 0, scale: 3, [1, 2345, 6780]), 1700) == "12345.678")
        #expect(try json(numeric(weight: -1, sign: 0, scale: 4, [1]), 1700) == "0.0001")
        #expect(try json(numeric(weight: -2, sign: 0x4000, scale: 8, [12]), 1700) == "-0.00000012")
        #expect(try json(numeric(weight: 0, sign: 0, scale: 2, []), 1700) == "0.00")
        #expect(try json(numeric(weight: 5, sign: 0x4000, scale: 0, [1]), 1700) == "-100000000000000000000")
        #expect(try json(numeric(weight: 0, sign: 0, scale: 1, [7]), 1700) == "7.0")
        #expect(try json(numeric(weight: 0, sign: 0xC000, scale: 0, []), 1700) == "\"NaN\"")
        #expect(try json(numeric(weight: 0, sign: 0xD000, scale: 0, []), 1700) == "\"Infinity\"")
        #expect(try json(numeric(weight: 0, sign: 0xF000, scale: 0, []), 1700) == "\"-Infinity\"")
        // A numeric inside an array goes through the typed value, not the direct path: same text.
        let value = try renderer.decode(
            ByteBuffer(bytes: numeric(weight: 1, sign: 0, scale: 3, [1, 2345, 6780])),
            format: .binary,
            typeOID: 1700
        )
        #expect(value == .numeric(.finite("12345.678")))
    }

    @Test func jsonNumbersAreNormalisedLikeNumericIn() {
        func normalized(_ literal: String) -> String? {
            var output = ""
            var copy = literal
            let ok = copy.withUTF8 { NumericText.appendNormalized(UnsafeRawBufferPointer($0), to: &output) }
            return ok ? output : nil
        }
        #expect(normalized("1.0E2") == "100")
        #expect(normalized("1e-3") == "0.001")
        #expect(normalized("1.50") == "1.50")
        #expect(normalized("1.50e1") == "15.0")
        #expect(normalized("-0") == "0")
        #expect(normalized("-0.000") == "0.000")
        #expect(normalized("0e5") == "0")
        #expect(normalized("123e-2") == "1.23")
        #expect(normalized("007") == "7")
        #expect(normalized("-1.5e+20") == "-150000000000000000000")
        #expect(normalized("1e1001") == nil)
        #expect(normalized("1.") == nil)
        #expect(normalized("abc") == nil)
    }

    @Test func floatTextIsShortestWithPostgresExponentRules() {
        func text(_ value: Double) -> String {
            var output = ""
            FloatText.append(value, to: &output)
            return output
        }
        func text(_ value: Float) -> String {
            var output = ""
            FloatText.append(value, to: &output)
            return output
        }
        #expect(text(1e300) == "1e+300")
        #expect(text(1.5e-10) == "1.5e-10")
        #expect(text(0.1) == "0.1")
        #expect(text(1e15) == "1e+15")
        #expect(text(1e14) == "100000000000000")
        #expect(text(123.456) == "123.456")
        #expect(text(0.0001) == "0.0001")
        #expect(text(0.00001) == "1e-05")
        #expect(text(-0.0) == "-0")
        #expect(text(5e-324) == "5e-324")
        #expect(text(Double.greatestFiniteMagnitude) == "1.7976931348623157e+308")
        #expect(text(Double.nan) == "NaN")
        #expect(text(-Double.infinity) == "-Infinity")
        #expect(text(Float(1_234_567)) == "1.234567e+06")
        #expect(text(Float(123456)) == "123456")
        #expect(text(Float(0.1)) == "0.1")
        #expect(text(Float(1e-5)) == "1e-05")
    }

    @Test func floatJSONIsTheExactDecimalOfItsText() {
        func json(_ value: Double) -> String {
            var output = ""
            FloatText.appendJSON(value, to: &output)
            return output
        }
        #expect(json(1e300) == "1" + String(repeating: "0", count: 300))
        #expect(json(1.5e-10) == "0.00000000015")
        #expect(json(-0.0) == "0")
        #expect(json(-2.5) == "-2.5")
        #expect(json(Double.nan) == "\"NaN\"")
        #expect(json(Double.infinity) == "\"Infinity\"")
    }

    @Test func intervalsAreWrittenInPostgresStyle() {
        func text(_ months: Int32, _ days: Int32, _ microseconds: Int64) -> String {
            PostgresValue.interval(PostgresInterval(months: months, days: days, microseconds: microseconds))
                .postgresText
        }
        let hms: Int64 = (4 * 3600 + 5 * 60 + 6) * 1_000_000
        #expect(text(14, -3, hms + 789_000) == "1 year 2 mons -3 days +04:05:06.789")
        #expect(text(-14, 3, -hms) == "-1 years -2 mons +3 days -04:05:06")
        #expect(text(0, 0, 0) == "00:00:00")
        #expect(text(0, 0, -1_000_000) == "-00:00:01")
        #expect(text(0, 1, -1_000_000) == "1 day -00:00:01")
        #expect(text(0, -1, 1_000_000) == "-1 days +00:00:01")
        #expect(text(12, 0, 0) == "1 year")
        #expect(text(0, 0, Int64.min) == "-2562047788:00:54.775808")
        #expect(text(Int32.max, Int32.max, Int64.max) == "infinity")
    }

    @Test func intervalTextReadsBackToTheSameValue() throws {
        for text in [
            "1 year 2 mons -3 days +04:05:06.789", "-1 years -2 mons +3 days -04:05:06", "00:00:00", "-00:00:01",
            "-2562047788:00:54.775808", "2562047788:00:54.775807", "-178956970 years -8 mons -2147483648 days",
        ] {
            let value = try renderer.decode(ByteBuffer(string: text), format: .text, typeOID: 1186)
            #expect(value.postgresText == text)
        }
    }

    @Test func datesAndTimestampsFollowJSONAndISOStyles() throws {
        let day: Int64 = 86_400_000_000
        #expect(PostgresValue.date(daysSince2000: 0).jsonText == "\"2000-01-01\"")
        #expect(PostgresValue.date(daysSince2000: -746_117).jsonText == "\"0044-03-15 BC\"")
        #expect(PostgresValue.date(daysSince2000: Int32.max).jsonText == "\"infinity\"")
        #expect(PostgresValue.date(daysSince2000: Int32.min).jsonText == "\"-infinity\"")
        let stamp = PostgresTimestamp(rawValue: 9_821 * day + 23 * 3_600_000_000 + 123_456)
        #expect(PostgresValue.timestamptz(stamp).jsonText == "\"2026-11-21T23:00:00.123456+00:00\"")
        #expect(PostgresValue.timestamptz(stamp).postgresText == "2026-11-21 23:00:00.123456+00")
        #expect(PostgresValue.timestamp(stamp).jsonText == "\"2026-11-21T23:00:00.123456\"")
        #expect(PostgresValue.timestamp(PostgresTimestamp(rawValue: -day / 2)).postgresText == "1999-12-31 12:00:00")
        #expect(PostgresValue.timestamptz(PostgresTimestamp(rawValue: Int64.min)).jsonText == "\"-infinity\"")
        #expect(try json(text: "0044-03-15 12:00:00.5+00 BC", 1184) == "\"0044-03-15T12:00:00.5+00:00 BC\"")
        #expect(try json(text: "2026-11-21 23:00:00+05:30", 1184) == "\"2026-11-21T17:30:00+00:00\"")
        #expect(
            PostgresValue.timetz(microseconds: 12 * 3_600_000_000, secondsWestOfUTC: -19_800).jsonText
                == "\"12:00:00+05:30\""
        )
        #expect(PostgresValue.timetz(microseconds: 0, secondsWestOfUTC: 3_600).jsonText == "\"00:00:00-01\"")
        #expect(
            PostgresValue.timetz(microseconds: 1, secondsWestOfUTC: -19_815).jsonText == "\"00:00:00.000001+05:30:15\""
        )
        #expect(PostgresValue.time(microseconds: 24 * 3_600_000_000).jsonText == "\"24:00:00\"")
    }

    @Test func jsonIsRewrittenIntoJSONBForm() throws {
        #expect(
            try json(text: #" {"b":1, "a" : [1.0E2,true,null], "b":"\u00e9\/", "aa":{}} "#, 114)
                == #"{"a": [100, true, null], "b": "é/", "aa": {}}"#
        )
        #expect(try json(text: #""\ud83d\ude00""#, 114) == #""😀""#)
        #expect(try json(text: "[]", 114) == "[]")
    }

    @Test func unknownTypesNeverFail() throws {
        let renderer = ValueRenderer()
        #expect(try renderer.json(of: ByteBuffer(string: "a\"b"), format: .text, typeOID: 99_999) == #""a\"b""#)
        #expect(try renderer.json(of: ByteBuffer(bytes: [0, 255]), format: .binary, typeOID: 99_999) == #""\\x00ff""#)
        #expect(renderer.catalog.needsLookup(99_999))
        #expect(!renderer.catalog.needsLookup(1009))
    }

    @Test func catalogResolvesNestedTypesAndReportsWhatIsMissing() throws {
        var catalog = TypeCatalog()
        catalog.add([
            .init(
                oid: 20_000,
                name: "s.pair",
                kind: .composite(fields: [.init(name: "b", typeOID: 25), .init(name: "a", typeOID: 20_001)])
            ),
            .init(oid: 20_002, name: "s._pair", kind: .array(elementOID: 20_000, delimiter: UInt8(ascii: ","))),
        ])
        #expect(catalog.needsLookup(20_000))
        #expect(catalog.needsLookup(20_002))
        catalog.add([.init(oid: 20_001, name: "s.mood", kind: .enumeration)])
        #expect(!catalog.needsLookup(20_000))
        #expect(!catalog.needsLookup(20_002))
        let renderer = ValueRenderer(catalog: catalog)
        #expect(
            try renderer.json(
                of: ByteBuffer(string: #"{"(x,happy)","(\"a \"\"b\",)",NULL}"#),
                format: .text,
                typeOID: 20_002
            )
                == #"[{"a": "happy", "b": "x"}, {"a": null, "b": "a \"b"}, null]"#
        )
    }
}
