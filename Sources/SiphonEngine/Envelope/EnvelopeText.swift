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
