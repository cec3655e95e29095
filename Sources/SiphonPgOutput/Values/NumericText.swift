// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// `numeric` text, written as `numeric_out` (src/backend/utils/adt/numeric.c, `get_str_from_var`) does.
enum NumericText {
    /// `numeric_send` sign words.
    static let positive: UInt16 = 0x0000
    static let negative: UInt16 = 0x4000
    static let nan: UInt16 = 0xC000
    static let positiveInfinity: UInt16 = 0xD000
    static let negativeInfinity: UInt16 = 0xF000

    /// The decoded header and base-10000 digits of a binary `numeric`.
    struct Binary {
        var weight: Int
        var sign: UInt16
        var displayScale: Int
        var digits: UnsafeRawBufferPointer

        var digitCount: Int { self.digits.count / 2 }

        func digit(_ index: Int) -> Int {
            guard index >= 0, index < self.digitCount else { return 0 }
            return Int(self.digits[index * 2]) << 8 | Int(self.digits[index * 2 + 1])
        }

        /// Reads `numeric_send` output: int16 ndigits, int16 weight, uint16 sign, int16 dscale, ndigits × int16.
        init?(_ bytes: UnsafeRawBufferPointer) {
            guard bytes.count >= 8 else { return nil }
            func int16(_ offset: Int) -> Int16 {
                Int16(bitPattern: UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]))
            }
            let count = Int(int16(0))
            guard count >= 0, bytes.count == 8 + count * 2 else { return nil }
            self.weight = Int(int16(2))
            self.sign = UInt16(bitPattern: int16(4))
            self.displayScale = Int(int16(6))
            guard self.displayScale >= 0 else { return nil }
            self.digits = UnsafeRawBufferPointer(rebasing: bytes[8...])
            for index in 0..<count where self.digit(index) > 9999 { return nil }
        }
    }

    /// Appends `numeric_out` of a finite binary numeric.
    static func appendFinite(_ numeric: Binary, to output: inout String) {
        let integerDigits = numeric.weight < 0 ? 1 : (numeric.weight + 1) * 4
        let capacity = 1 + integerDigits + 1 + numeric.displayScale
        ASCIIWriter.append(capacity: capacity, to: &output) { writer in
            if numeric.sign == negative { writer.write(UInt8(ascii: "-")) }
            var group: Int
            if numeric.weight < 0 {
                group = numeric.weight + 1
                writer.write(UInt8(ascii: "0"))
            } else {
                writer.write(UInt64(numeric.digit(0)), width: 1)
                group = 1
                while group <= numeric.weight {
                    writer.write(UInt64(numeric.digit(group)), width: 4)
                    group += 1
                }
            }
            guard numeric.displayScale > 0 else { return }
            writer.write(UInt8(ascii: "."))
            var written = 0
            while written < numeric.displayScale {
                let value = numeric.digit(group)
                var divisor = 1000
                while divisor > 0, written < numeric.displayScale {
                    writer.write(UInt8(truncatingIfNeeded: value / divisor % 10) &+ 48)
                    divisor /= 10
                    written += 1
                }
                group += 1
            }
        }
    }

    /// Whether `bytes` is `numeric_out` text of a finite value: `-?digits(.digits)?`.
    static func isFiniteText(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        var integerDigits = 0
        while index < bytes.count, isDigit(bytes[index]) {
            index += 1
            integerDigits += 1
        }
        guard integerDigits > 0 else { return false }
        if index == bytes.count { return true }
        guard bytes[index] == UInt8(ascii: ".") else { return false }
        index += 1
        let fractionStart = index
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        return index == bytes.count && index > fractionStart
    }

    /// Appends `numeric_out(numeric_in(literal))` for a JSON number literal (`-?int(.frac)?([eE][+-]?exp)?`).
    ///
    /// This is how `jsonb` stores every number it parses, and how `to_jsonb` turns a float's text into a number:
    /// the display scale is the count of written fraction digits minus the exponent, never below zero.
    /// Returns `false` (writing nothing) when `literal` is not such a number or its exponent is beyond ±1000,
    /// which `numeric_in` rejects.
    static func appendNormalized(_ literal: UnsafeRawBufferPointer, to output: inout String) -> Bool {
        var index = 0
        let count = literal.count
        let isNegative = index < count && literal[index] == UInt8(ascii: "-")
        if isNegative { index += 1 }
        let integerStart = index
        while index < count, isDigit(literal[index]) { index += 1 }
        let integerEnd = index
        guard integerEnd > integerStart else { return false }
        var fractionStart = index
        var fractionEnd = index
        if index < count, literal[index] == UInt8(ascii: ".") {
            index += 1
            fractionStart = index
            while index < count, isDigit(literal[index]) { index += 1 }
            fractionEnd = index
            guard fractionEnd > fractionStart else { return false }
        }
        var exponent = 0
        if index < count, literal[index] == UInt8(ascii: "e") || literal[index] == UInt8(ascii: "E") {
            index += 1
            var exponentNegative = false
            if index < count, literal[index] == UInt8(ascii: "+") || literal[index] == UInt8(ascii: "-") {
                exponentNegative = literal[index] == UInt8(ascii: "-")
                index += 1
            }
            let exponentStart = index
            while index < count, isDigit(literal[index]) {
                exponent = exponent * 10 + Int(literal[index] - UInt8(ascii: "0"))
                guard exponent <= 1000 else { return false }
                index += 1
            }
            guard index > exponentStart else { return false }
            if exponentNegative { exponent = -exponent }
        }
        guard index == count else { return false }

        let integerCount = integerEnd - integerStart
        let fractionCount = fractionEnd - fractionStart
        let digitCount = integerCount + fractionCount
        func digit(_ position: Int) -> UInt8 {
            if position < 0 || position >= digitCount { return UInt8(ascii: "0") }
            return position < integerCount
                ? literal[integerStart + position] : literal[fractionStart + position - integerCount]
        }
        let displayScale = max(0, fractionCount - exponent)
        let point = integerCount + exponent
        var firstSignificant = 0
        while firstSignificant < point, firstSignificant < digitCount, digit(firstSignificant) == UInt8(ascii: "0") {
            firstSignificant += 1
        }
        let isZero = (0..<digitCount).allSatisfy { digit($0) == UInt8(ascii: "0") }
        let integerLength = max(1, point - firstSignificant)
        ASCIIWriter.append(capacity: 2 + integerLength + displayScale, to: &output) { writer in
            if isNegative && !isZero { writer.write(UInt8(ascii: "-")) }
            if isZero || point - firstSignificant <= 0 {
                writer.write(UInt8(ascii: "0"))
            } else {
                for position in firstSignificant..<point { writer.write(digit(position)) }
            }
            if displayScale > 0 {
                writer.write(UInt8(ascii: "."))
                for position in point..<(point + displayScale) { writer.write(digit(position)) }
            }
        }
        return true
    }

    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
