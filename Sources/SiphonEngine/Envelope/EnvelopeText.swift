// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Appends numbers, positions and times to a `String` without building a temporary `String` per value.
///
/// Digits are written into a stack buffer and appended in pieces of at most 15 bytes: Swift keeps strings that
/// short inline ("small strings"), so no piece touches the heap.
enum EnvelopeText {
    /// Appends the decimal digits of `value`.
    static func appendDecimal(_ value: UInt64, to output: inout String) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var start = 20
            var rest = value
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            } while rest != 0
            self.append(UnsafeBufferPointer(rebasing: digits[start..<20]), to: &output)
        }
    }

    /// Appends the decimal digits of `value`, with a leading `-` when it is negative.
    static func appendDecimal(_ value: Int64, to output: inout String) {
        if value < 0 { output.append("-") }
        self.appendDecimal(value.magnitude, to: &output)
    }

    /// Appends `lsn` as PostgreSQL writes it: `16/B374D848`.
    static func appendLSN(_ lsn: LSN, to output: inout String) {
        self.appendHex(UInt32(truncatingIfNeeded: lsn.rawValue >> 32), to: &output)
        output.append("/")
        self.appendHex(UInt32(truncatingIfNeeded: lsn.rawValue), to: &output)
    }

    /// Appends `timestamp` exactly as `PostgresTimestamp.description` renders it: `2026-11-21T23:00:00.123456Z`.
    static func appendTimestamp(_ timestamp: PostgresTimestamp, to output: inout String) {
        let micros = timestamp.unixMicroseconds
        let seconds = Self.floorDivide(micros, 1_000_000)
        let fraction = micros - seconds * 1_000_000
        let days = Self.floorDivide(seconds, 86_400)
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = CivilDate.fromDaysSinceUnixEpoch(days)
        guard (0...9999).contains(year) else {
            // Outside four-digit years the layout changes width; the slow path renders those rare values.
            output.append(timestamp.description)
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 27) { text in
            func put(_ value: Int64, at offset: Int, width: Int) {
                var rest = value
                for position in stride(from: offset + width - 1, through: offset, by: -1) {
                    text[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                    rest /= 10
                }
            }
            put(year, at: 0, width: 4)
            text[4] = UInt8(ascii: "-")
            put(month, at: 5, width: 2)
            text[7] = UInt8(ascii: "-")
            put(day, at: 8, width: 2)
            text[10] = UInt8(ascii: "T")
            put(secondOfDay / 3600, at: 11, width: 2)
            text[13] = UInt8(ascii: ":")
            put(secondOfDay / 60 % 60, at: 14, width: 2)
            text[16] = UInt8(ascii: ":")
            put(secondOfDay % 60, at: 17, width: 2)
            text[19] = UInt8(ascii: ".")
            put(fraction, at: 20, width: 6)
            text[26] = UInt8(ascii: "Z")
            self.append(UnsafeBufferPointer(rebasing: text[0..<27]), to: &output)
        }
    }

    /// Parses the timestamps ``appendTimestamp(_:to:)`` writes. Also takes 0 to 9 fraction digits (extra digits
    /// past microseconds must be zeros) and `+00:00` for `Z`; `nil` for anything else.
    static func parseTimestamp(_ text: some StringProtocol) -> PostgresTimestamp? {
        let bytes = Array(text.utf8)
        var position = 0
        func number(_ width: Int) -> Int64? {
            guard position + width <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[position..<position + width] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            position += width
            return value
        }
        func literal(_ character: Unicode.Scalar) -> Bool {
            guard position < bytes.count, bytes[position] == UInt8(ascii: character) else { return false }
            position += 1
            return true
        }
        guard let year = number(4), literal("-"), let month = number(2), (1...12).contains(month), literal("-"),
            let day = number(2), (1...31).contains(day), literal("T"), let hour = number(2), hour < 24,
            literal(":"), let minute = number(2), minute < 60, literal(":"), let second = number(2), second < 60
        else { return nil }
        var fraction: Int64 = 0
        if literal(".") {
            var digits = 0
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
                let digit = Int64(bytes[position] - UInt8(ascii: "0"))
                if digits < 6 {
                    fraction = fraction * 10 + digit
                } else if digit != 0 {
                    return nil
                }
                digits += 1
                position += 1
            }
            guard (1...9).contains(digits) else { return nil }
            for _ in min(digits, 6)..<6 { fraction *= 10 }
        }
        guard literal("Z") || (literal("+") && number(2) == 0 && literal(":") && number(2) == 0),
            position == bytes.count
        else { return nil }
        let days = CivilDate.daysSinceUnixEpoch(year: year, month: month, day: day)
        guard CivilDate.fromDaysSinceUnixEpoch(days) == (year, month, day) else { return nil }
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second
        return PostgresTimestamp(unixMicroseconds: seconds * 1_000_000 + fraction)
    }

    /// Whether `text` can go between JSON quotes as it is.
    static func needsNoEscaping(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
    }

    /// `value / divisor` rounded towards negative infinity.
    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return value % divisor < 0 ? quotient - 1 : quotient
    }

    private static func appendHex(_ value: UInt32, to output: inout String) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 8) { digits in
            var start = 8
            var rest = value
            repeat {
                start -= 1
                let nibble = UInt8(truncatingIfNeeded: rest & 0xF)
                digits[start] = nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "A") &+ (nibble &- 10)
                rest >>= 4
            } while rest != 0
            self.append(UnsafeBufferPointer(rebasing: digits[start..<8]), to: &output)
        }
    }

    private static func append(_ ascii: UnsafeBufferPointer<UInt8>, to output: inout String) {
        var offset = 0
        while offset < ascii.count {
            let end = min(offset + 15, ascii.count)
            output.append(String(decoding: UnsafeBufferPointer(rebasing: ascii[offset..<end]), as: UTF8.self))
            offset = end
        }
    }
}
