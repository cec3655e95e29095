// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// `float4` / `float8` text as `float4out` / `float8out` write it with `extra_float_digits > 0`: the digits
/// `ShortestDecimal` picks, in fixed notation when the decimal exponent is in `-4..<15` (`-4..<6` for `float4`)
/// and as `1.5e-10` / `1e+300` otherwise (src/common/d2s.c and f2s.c, `to_chars`).
enum FloatText {
    /// Longest `float8out` text: sign, 17 digits, point, `e-308`.
    private static let capacity = 32

    /// Appends `float8out` text.
    static func append(_ value: Double, to output: inout String) {
        ASCIIWriter.append(capacity: capacity, to: &output) { write(value, to: &$0) }
    }

    /// Appends `float4out` text.
    static func append(_ value: Float, to output: inout String) {
        ASCIIWriter.append(capacity: capacity, to: &output) { write(value, to: &$0) }
    }

    /// Appends what `to_jsonb` makes of a `float8`: `numeric_in` of its text as a number (`1e+300` becomes a 1 and
    /// 300 zeros, `-0` becomes `0`), or a string for `NaN` and `±Infinity`.
    static func appendJSON(_ value: Double, to output: inout String) {
        if value.isNaN || value.isInfinite {
            output.append(value.isNaN ? "\"NaN\"" : value < 0 ? "\"-Infinity\"" : "\"Infinity\"")
            return
        }
        ASCIIWriter.withText(
            capacity: capacity,
            write: { write(value, to: &$0) },
            use: { _ = NumericText.appendNormalized($0, to: &output) }
        )
    }

    /// Appends what `to_jsonb` makes of a `float4`.
    static func appendJSON(_ value: Float, to output: inout String) {
        if value.isNaN || value.isInfinite {
            output.append(value.isNaN ? "\"NaN\"" : value < 0 ? "\"-Infinity\"" : "\"Infinity\"")
            return
        }
        ASCIIWriter.withText(
            capacity: capacity,
            write: { write(value, to: &$0) },
            use: { _ = NumericText.appendNormalized($0, to: &output) }
        )
    }

    static func write(_ value: Double, to writer: inout ASCIIWriter) {
        if writeSpecial(value.isNaN, value.isInfinite, value == 0, value.sign == .minus, to: &writer) { return }
        if value.sign == .minus { writer.write(UInt8(ascii: "-")) }
        write(ShortestDecimal.of(value), fixedExponentLimit: 15, to: &writer)
    }

    static func write(_ value: Float, to writer: inout ASCIIWriter) {
        if writeSpecial(value.isNaN, value.isInfinite, value == 0, value.sign == .minus, to: &writer) { return }
        if value.sign == .minus { writer.write(UInt8(ascii: "-")) }
        write(ShortestDecimal.of(value), fixedExponentLimit: 6, to: &writer)
    }

    /// `NaN`, `Infinity`, `-Infinity`, `0` and `-0`.
    private static func writeSpecial(
        _ isNaN: Bool,
        _ isInfinite: Bool,
        _ isZero: Bool,
        _ isNegative: Bool,
        to writer: inout ASCIIWriter
    ) -> Bool {
        if isNaN {
            writer.write("NaN")
        } else if isInfinite {
            writer.write(isNegative ? "-Infinity" : "Infinity")
        } else if isZero {
            writer.write(isNegative ? "-0" : "0")
        } else {
            return false
        }
        return true
    }

    private static func write(_ decimal: ShortestDecimal.Decimal, fixedExponentLimit: Int, to writer: inout ASCIIWriter)
    {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var mantissa = decimal.mantissa
            var length = 0
            repeat {
                digits[19 - length] = UInt8(truncatingIfNeeded: mantissa % 10) &+ 48
                mantissa /= 10
                length += 1
            } while mantissa > 0
            let first = 20 - length
            let exponent = decimal.exponent + length - 1
            if exponent >= -4 && exponent < fixedExponentLimit {
                // Fixed: ddd000, ddd.ddd or 0.000ddd.
                let point = length + decimal.exponent
                if point <= 0 {
                    writer.write("0.")
                    for _ in 0..<(-point) { writer.write(UInt8(ascii: "0")) }
                    for index in first..<20 { writer.write(digits[index]) }
                } else if point < length {
                    for index in first..<(first + point) { writer.write(digits[index]) }
                    writer.write(UInt8(ascii: "."))
                    for index in (first + point)..<20 { writer.write(digits[index]) }
                } else {
                    for index in first..<20 { writer.write(digits[index]) }
                    for _ in 0..<(point - length) { writer.write(UInt8(ascii: "0")) }
                }
                return
            }
            // Scientific. Only the exact-integer path leaves trailing zeros in the mantissa; they move into the
            // exponent, which keeps the value it had for the full length.
            var end = 20
            if decimal.exponent == 0 {
                while end - first > 1, digits[end - 1] == UInt8(ascii: "0") { end -= 1 }
            }
            writer.write(digits[first])
            if end - first > 1 {
                writer.write(UInt8(ascii: "."))
                for index in (first + 1)..<end { writer.write(digits[index]) }
            }
            writer.write(UInt8(ascii: "e"))
            writer.write(exponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            writer.write(UInt64(exponent.magnitude), width: 2)
        }
    }

    /// Reads `float8out` / `float4out` text (including `NaN`, `Infinity`, `-Infinity`).
    static func parseDouble(_ bytes: UnsafeRawBufferPointer) -> Double? {
        if bytesEqual(bytes, "NaN") { return .nan }
        if bytesEqual(bytes, "Infinity") { return .infinity }
        if bytesEqual(bytes, "-Infinity") { return -.infinity }
        guard isNumberText(bytes) else { return nil }
        return Double(String(decoding: bytes, as: UTF8.self))
    }

    /// Reads `float4out` text.
    static func parseFloat(_ bytes: UnsafeRawBufferPointer) -> Float? {
        if bytesEqual(bytes, "NaN") { return .nan }
        if bytesEqual(bytes, "Infinity") { return .infinity }
        if bytesEqual(bytes, "-Infinity") { return -.infinity }
        guard isNumberText(bytes) else { return nil }
        return Float(String(decoding: bytes, as: UTF8.self))
    }

    private static func isNumberText(_ bytes: UnsafeRawBufferPointer) -> Bool {
        !bytes.isEmpty
            && bytes.allSatisfy {
                NumericText.isDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+")
                    || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E")
            }
    }
}
