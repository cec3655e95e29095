// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// Builds short ASCII text in a stack buffer and appends it to a `String` in one step.
///
/// Appending piece by piece to a `String` costs a uniqueness and capacity check per piece; formatting a timestamp
/// into a stack buffer first keeps the per-value cost to one append.
struct ASCIIWriter {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var count = 0

    private init(base: UnsafeMutablePointer<UInt8>, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    /// Runs `body` with a writer of `capacity` bytes and appends what it wrote to `output`.
    @inline(__always)
    static func append(capacity: Int, to output: inout String, _ body: (inout ASCIIWriter) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
            var writer = ASCIIWriter(base: buffer.baseAddress!, capacity: capacity)
            body(&writer)
            output.append(
                String(decoding: UnsafeBufferPointer(start: buffer.baseAddress!, count: writer.count), as: UTF8.self)
            )
        }
    }

    /// Runs `write` with a writer of `capacity` bytes, then `use` with the bytes it wrote.
    @inline(__always)
    static func withText<Result>(
        capacity: Int,
        write: (inout ASCIIWriter) -> Void,
        use: (UnsafeRawBufferPointer) -> Result
    ) -> Result {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
            var writer = ASCIIWriter(base: buffer.baseAddress!, capacity: capacity)
            write(&writer)
            return use(UnsafeRawBufferPointer(start: buffer.baseAddress!, count: writer.count))
        }
    }

    @inline(__always)
    mutating func write(_ byte: UInt8) {
        precondition(self.count < self.capacity, "ASCIIWriter overflow")
        self.base[self.count] = byte
        self.count += 1
    }

    mutating func write(_ text: StaticString) {
        text.withUTF8Buffer { bytes in
            for byte in bytes { self.write(byte) }
        }
    }

    /// Writes `value` (non-negative) in decimal with at least `width` digits.
    mutating func write(_ value: UInt64, width: Int) {
        // Dates and times are mostly two-digit fields: skip counting digits for them.
        if width == 2 && value < 100 {
            precondition(self.count + 2 <= self.capacity, "ASCIIWriter overflow")
            self.base[self.count] = UInt8(truncatingIfNeeded: value / 10) &+ 48
            self.base[self.count + 1] = UInt8(truncatingIfNeeded: value % 10) &+ 48
            self.count += 2
            return
        }
        var digits = 0
        var remaining = value
        repeat {
            digits += 1
            remaining /= 10
        } while remaining > 0
        var total = max(digits, width)
        precondition(self.count + total <= self.capacity, "ASCIIWriter overflow")
        remaining = value
        while total > 0 {
            total -= 1
            self.base[self.count + total] = UInt8(truncatingIfNeeded: remaining % 10) &+ 48
            remaining /= 10
        }
        self.count += max(digits, width)
    }

    /// Writes `value` in decimal with a leading `-` when negative.
    mutating func write(signed value: Int64) {
        if value < 0 { self.write(UInt8(ascii: "-")) }
        self.write(value.magnitude, width: 1)
    }

    mutating func writeHex(_ byte: UInt8) {
        self.write(hexDigits[Int(byte >> 4)])
        self.write(hexDigits[Int(byte & 0x0F)])
    }
}

/// Lower-case hexadecimal digits, as PostgreSQL writes them.
let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

/// Appends a non-negative or negative integer in decimal.
@inline(__always)
func appendDecimal(_ value: Int64, to output: inout String) {
    ASCIIWriter.append(capacity: 20, to: &output) { $0.write(signed: value) }
}

/// Appends raw bytes known to be UTF-8 text.
@inline(__always)
func appendUTF8(_ bytes: UnsafeRawBufferPointer, to output: inout String) {
    output.append(String(decoding: bytes, as: UTF8.self))
}

/// The value of an ASCII hexadecimal digit, or `nil`.
@inline(__always)
func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}

/// Whether `byte` is whitespace as C's `isspace` sees it in the C locale.
@inline(__always)
func isASCIISpace(_ byte: UInt8) -> Bool {
    byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
}
