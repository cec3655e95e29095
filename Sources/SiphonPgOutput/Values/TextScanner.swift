// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// A forward cursor over the bytes of a value's text form.
struct TextScanner {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { self.position >= self.bytes.count }

    @inline(__always)
    func peek() -> UInt8? { self.position < self.bytes.count ? self.bytes[self.position] : nil }

    @inline(__always)
    mutating func next() -> UInt8? {
        guard self.position < self.bytes.count else { return nil }
        defer { self.position += 1 }
        return self.bytes[self.position]
    }

    @inline(__always)
    mutating func consume(_ byte: UInt8) -> Bool {
        guard self.peek() == byte else { return false }
        self.position += 1
        return true
    }

    /// Consumes `text` if the remaining bytes start with it.
    mutating func consume(_ text: StaticString) -> Bool {
        let matched = text.withUTF8Buffer { expected in
            guard self.bytes.count - self.position >= expected.count else { return false }
            for (offset, byte) in expected.enumerated() where self.bytes[self.position + offset] != byte {
                return false
            }
            return true
        }
        if matched { self.position += text.utf8CodeUnitCount }
        return matched
    }

    /// Reads `minimum...maximum` decimal digits as a number.
    mutating func readDigits(minimum: Int = 1, maximum: Int = 18) -> Int64? {
        var value: Int64 = 0
        var count = 0
        while count < maximum, let byte = self.peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            count += 1
            self.position += 1
        }
        return count >= minimum ? value : nil
    }

    /// Reads an optionally signed decimal integer that fits `Int64`.
    mutating func readSignedInteger() -> Int64? {
        var negative = false
        if self.consume(UInt8(ascii: "-")) {
            negative = true
        } else {
            _ = self.consume(UInt8(ascii: "+"))
        }
        var magnitude: UInt64 = 0
        var count = 0
        while let byte = self.peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            magnitude = sum
            count += 1
            self.position += 1
        }
        guard count > 0 else { return nil }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// Reads a fraction of a second after a `.`: up to six digits as microseconds (more digits are rejected).
    mutating func readMicrosecondFraction() -> Int64? {
        var value: Int64 = 0
        var count = 0
        while let byte = self.peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            guard count < 6 else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            count += 1
            self.position += 1
        }
        guard count > 0 else { return nil }
        for _ in count..<6 { value *= 10 }
        return value
    }
}

/// Whether the bytes equal `text` exactly.
func bytesEqual(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
    text.withUTF8Buffer { expected in
        expected.count == bytes.count && zip(expected, bytes).allSatisfy { $0 == $1 }
    }
}
