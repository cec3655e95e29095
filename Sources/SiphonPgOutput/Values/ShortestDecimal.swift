// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// The decimal digits `float4out` / `float8out` choose: Ryu (Ulf Adams, PLDI 2018) as PostgreSQL builds it
/// (src/common/d2s.c, f2s.c), which never returns a decimal lying exactly halfway between two floats
/// (`STRICTLY_SHORTEST 0`). Swift's own `description` does return such midpoints, so it cannot be used here:
/// 4.2943860492537776e16 prints as `4.294386049253778e+16` in Swift but `4.2943860492537776e+16` in PostgreSQL.
///
/// The result is `mantissa × 10^exponent` for a finite, nonzero value's magnitude.
enum ShortestDecimal {
    struct Decimal {
        var mantissa: UInt64
        var exponent: Int
    }

    // MARK: float8

    static func of(_ value: Double) -> Decimal {
        let bits = value.bitPattern
        let ieeeMantissa = bits & ((1 << 52) - 1)
        let ieeeExponent = Int((bits >> 52) & 0x7FF)

        // Integers below 2^53 print exactly (`d2d_small_int`).
        let smallExponent = ieeeExponent - 1023 - 52
        if smallExponent >= -52 && smallExponent <= 0 {
            let mask: UInt64 = (1 << UInt64(-smallExponent)) - 1
            if ieeeMantissa & mask == 0 {
                return Decimal(mantissa: ((1 << 52) | ieeeMantissa) >> UInt64(-smallExponent), exponent: 0)
            }
        }

        let e2: Int
        let m2: UInt64
        if ieeeExponent == 0 {
            e2 = 1 - 1023 - 52 - 2
            m2 = ieeeMantissa
        } else {
            e2 = ieeeExponent - 1023 - 52 - 2
            m2 = (1 << 52) | ieeeMantissa
        }
        let mv = 4 * m2
        let mmShift: UInt64 = ieeeMantissa != 0 || ieeeExponent <= 1 ? 1 : 0

        var vr: UInt64
        var vp: UInt64
        var vm: UInt64
        let e10: Int
        var vrIsTrailingZeros = false
        if e2 >= 0 {
            let q = log10Pow2(e2) - (e2 > 3 ? 1 : 0)
            e10 = q
            let shift = -e2 + q + doubleInverseBitCount + pow5Bits(q) - 1
            let factor = Tables.doubleInverse[q]
            vr = mulShift(mv, factor, shift)
            vp = mulShift(mv + 2, factor, shift)
            vm = mulShift(mv - 1 - mmShift, factor, shift)
            if q <= 21 {
                // Only one of mp, mv and mm can be a multiple of 5, if any.
                if mv % 5 == 0 {
                    vrIsTrailingZeros = multipleOfPowerOf5(mv, q)
                } else if multipleOfPowerOf5(mv + 2, q) {
                    vp -= 1
                }
            }
        } else {
            let q = log10Pow5(-e2) - (-e2 > 1 ? 1 : 0)
            e10 = q + e2
            let i = -e2 - q
            let shift = q - (pow5Bits(i) - doublePowerBitCount)
            let factor = Tables.doublePower[i]
            vr = mulShift(mv, factor, shift)
            vp = mulShift(mv + 2, factor, shift)
            vm = mulShift(mv - 1 - mmShift, factor, shift)
            if q <= 1 {
                vrIsTrailingZeros = true
                vp -= 1  // mp = mv + 2 always has a trailing zero bit: exclude the upper bound.
            } else if q < 63 {
                vrIsTrailingZeros = mv & ((1 << UInt64(q - 1)) - 1) == 0
            }
        }
        let (output, removed) = removeDigits(
            vr: vr,
            vp: vp,
            vm: vm,
            vrIsTrailingZeros: vrIsTrailingZeros,
            lastRemovedDigit: 0
        )
        return Decimal(mantissa: output, exponent: e10 + removed)
    }

    // MARK: float4

    static func of(_ value: Float) -> Decimal {
        let bits = value.bitPattern
        let ieeeMantissa = bits & ((1 << 23) - 1)
        let ieeeExponent = Int((bits >> 23) & 0xFF)

        let smallExponent = ieeeExponent - 127 - 23
        if smallExponent >= -23 && smallExponent <= 0 {
            let mask: UInt32 = (1 << UInt32(-smallExponent)) - 1
            if ieeeMantissa & mask == 0 {
                return Decimal(mantissa: UInt64(((1 << 23) | ieeeMantissa) >> UInt32(-smallExponent)), exponent: 0)
            }
        }

        let e2: Int
        let m2: UInt32
        if ieeeExponent == 0 {
            e2 = 1 - 127 - 23 - 2
            m2 = ieeeMantissa
        } else {
            e2 = ieeeExponent - 127 - 23 - 2
            m2 = (1 << 23) | ieeeMantissa
        }
        let mv = 4 * m2
        let mp = 4 * m2 + 2
        let mm = 4 * m2 - 1 - (ieeeMantissa != 0 || ieeeExponent <= 1 ? 1 : 0)

        var vr: UInt32
        var vp: UInt32
        var vm: UInt32
        let e10: Int
        var vrIsTrailingZeros = false
        var lastRemovedDigit: UInt64 = 0
        if e2 >= 0 {
            let q = log10Pow2(e2)
            e10 = q
            let shift = -e2 + q + floatInverseBitCount + pow5Bits(q) - 1
            let factor = Tables.floatInverse[q]
            vr = mulShift32(mv, factor, shift)
            vp = mulShift32(mp, factor, shift)
            vm = mulShift32(mm, factor, shift)
            if q != 0 && (vp - 1) / 10 <= vm / 10 {
                // One removed digit is needed even when the loop below removes none.
                let previousShift = -e2 + q - 1 + floatInverseBitCount + pow5Bits(q - 1) - 1
                lastRemovedDigit = UInt64(mulShift32(mv, Tables.floatInverse[q - 1], previousShift) % 10)
            }
            if q <= 9 {
                if mv % 5 == 0 {
                    vrIsTrailingZeros = multipleOfPowerOf5(UInt64(mv), q)
                } else if multipleOfPowerOf5(UInt64(mp), q) {
                    vp -= 1
                }
            }
        } else {
            let q = log10Pow5(-e2)
            e10 = q + e2
            let i = -e2 - q
            let shift = q - (pow5Bits(i) - floatPowerBitCount)
            let factor = Tables.floatPower[i]
            vr = mulShift32(mv, factor, shift)
            vp = mulShift32(mp, factor, shift)
            vm = mulShift32(mm, factor, shift)
            if q != 0 && (vp - 1) / 10 <= vm / 10 {
                let nextShift = q - 1 - (pow5Bits(i + 1) - floatPowerBitCount)
                lastRemovedDigit = UInt64(mulShift32(mv, Tables.floatPower[i + 1], nextShift) % 10)
            }
            if q <= 1 {
                vrIsTrailingZeros = true
                vp -= 1
            } else if q < 31 {
                vrIsTrailingZeros = mv & ((1 << UInt32(q - 1)) - 1) == 0
            }
        }
        let (output, removed) = removeDigits(
            vr: UInt64(vr),
            vp: UInt64(vp),
            vm: UInt64(vm),
            vrIsTrailingZeros: vrIsTrailingZeros,
            lastRemovedDigit: lastRemovedDigit
        )
        return Decimal(mantissa: output, exponent: e10 + removed)
    }

    // MARK: Shared steps

    /// Ryu step 4 with the bounds excluded: drop digits while the interval still holds a shorter number, then
    /// round (half to even only when the exact value ends in ...50…0).
    private static func removeDigits(
        vr: UInt64,
        vp: UInt64,
        vm: UInt64,
        vrIsTrailingZeros: Bool,
        lastRemovedDigit: UInt64
    ) -> (output: UInt64, removed: Int) {
        var vr = vr
        var vp = vp
        var vm = vm
        var trailingZeros = vrIsTrailingZeros
        var last = lastRemovedDigit
        var removed = 0
        while vp / 10 > vm / 10 {
            trailingZeros = trailingZeros && last == 0
            last = vr % 10
            vr /= 10
            vp /= 10
            vm /= 10
            removed += 1
        }
        if trailingZeros && last == 5 && vr % 2 == 0 { last = 4 }
        return (vr + (vr == vm || last >= 5 ? 1 : 0), removed)
    }

    private static let doubleInverseBitCount = 122
    private static let doublePowerBitCount = 121
    private static let floatInverseBitCount = 59
    private static let floatPowerBitCount = 61

    /// `e == 0 ? 1 : ceil(log2(5^e))`.
    private static func pow5Bits(_ e: Int) -> Int { Int((UInt32(e) &* 1_217_359) >> 19) + 1 }
    /// `floor(log10(2^e))`.
    private static func log10Pow2(_ e: Int) -> Int { Int((UInt32(e) &* 78_913) >> 18) }
    /// `floor(log10(5^e))`.
    private static func log10Pow5(_ e: Int) -> Int { Int((UInt32(e) &* 732_923) >> 20) }

    private static func multipleOfPowerOf5(_ value: UInt64, _ power: Int) -> Bool {
        var value = value
        var count = 0
        while value != 0, value % 5 == 0 {
            value /= 5
            count += 1
        }
        return count >= power
    }

    /// `(m × factor) >> shift`, keeping only what fits 64 bits.
    @inline(__always)
    private static func mulShift(_ m: UInt64, _ factor: UInt128, _ shift: Int) -> UInt64 {
        let low = UInt128(m) * UInt128(UInt64(truncatingIfNeeded: factor))
        let high = UInt128(m) * (factor >> 64)
        return UInt64(truncatingIfNeeded: ((low >> 64) + high) >> (shift - 64))
    }

    @inline(__always)
    private static func mulShift32(_ m: UInt32, _ factor: UInt64, _ shift: Int) -> UInt32 {
        let low = UInt64(m) * (factor & 0xFFFF_FFFF)
        let high = UInt64(m) * (factor >> 32)
        return UInt32(truncatingIfNeeded: ((low >> 32) + high) >> UInt64(shift - 32))
    }

    /// Ryu's power-of-5 tables, computed once on first use rather than pasted in as constants:
    /// `power[i] = 5^i` scaled to `bits` significant bits, `inverse[i] = ⌊2^(len(5^i) − 1 + bits) / 5^i⌋ + 1`.
    private enum Tables {
        static let doubleInverse: [UInt128] = (0..<342).map { inverse(of: $0, bits: doubleInverseBitCount) }
        static let doublePower: [UInt128] = (0..<326).map { power(of: $0, bits: doublePowerBitCount) }
        static let floatInverse: [UInt64] = (0..<31).map { UInt64(inverse(of: $0, bits: floatInverseBitCount)) }
        static let floatPower: [UInt64] = (0..<48).map { UInt64(power(of: $0, bits: floatPowerBitCount)) }

        private static func power(of exponent: Int, bits: Int) -> UInt128 {
            let value = BigNumber.fivePower(exponent)
            return value.shifted(by: bits - value.bitLength)
        }

        private static func inverse(of exponent: Int, bits: Int) -> UInt128 {
            let divisor = BigNumber.fivePower(exponent)
            return BigNumber.powerOfTwo(divisor.bitLength - 1 + bits, dividedBy: divisor) + 1
        }
    }

    /// Just enough unsigned big-integer arithmetic to build the tables (little-endian 64-bit limbs).
    private struct BigNumber {
        var limbs: [UInt64]

        static func fivePower(_ exponent: Int) -> BigNumber {
            var number = BigNumber(limbs: [1])
            for _ in 0..<exponent {
                var carry: UInt64 = 0
                for index in number.limbs.indices {
                    let (high, low) = number.limbs[index].multipliedFullWidth(by: 5)
                    let (sum, overflow) = low.addingReportingOverflow(carry)
                    number.limbs[index] = sum
                    carry = high + (overflow ? 1 : 0)
                }
                if carry != 0 { number.limbs.append(carry) }
            }
            return number
        }

        var bitLength: Int {
            guard let top = self.limbs.lastIndex(where: { $0 != 0 }) else { return 0 }
            return top * 64 + (64 - self.limbs[top].leadingZeroBitCount)
        }

        func bit(_ index: Int) -> Bool {
            index / 64 < self.limbs.count && (self.limbs[index / 64] >> UInt64(index % 64)) & 1 == 1
        }

        /// The value shifted left (positive) or right (negative) by `amount` bits, truncated to 128 bits.
        func shifted(by amount: Int) -> UInt128 {
            var result: UInt128 = 0
            for index in 0..<128 where index - amount >= 0 && self.bit(index - amount) {
                result |= 1 << UInt128(index)
            }
            return result
        }

        /// `⌊2^exponent / divisor⌋`, which must fit 128 bits (binary long division).
        static func powerOfTwo(_ exponent: Int, dividedBy divisor: BigNumber) -> UInt128 {
            var remainder = BigNumber(limbs: [1])
            var quotient: UInt128 = 0
            for position in stride(from: exponent, through: 0, by: -1) {
                if position < exponent { remainder.doubled() }
                quotient <<= 1
                if !remainder.isLess(than: divisor) {
                    remainder.subtract(divisor)
                    quotient |= 1
                }
            }
            return quotient
        }

        private mutating func doubled() {
            var carry: UInt64 = 0
            for index in self.limbs.indices {
                let next = self.limbs[index] >> 63
                self.limbs[index] = self.limbs[index] << 1 | carry
                carry = next
            }
            if carry != 0 { self.limbs.append(carry) }
        }

        private func isLess(than other: BigNumber) -> Bool {
            let count = max(self.limbs.count, other.limbs.count)
            for index in stride(from: count - 1, through: 0, by: -1) {
                let left = index < self.limbs.count ? self.limbs[index] : 0
                let right = index < other.limbs.count ? other.limbs[index] : 0
                if left != right { return left < right }
            }
            return false
        }

        private mutating func subtract(_ other: BigNumber) {
            var borrow: UInt64 = 0
            for index in self.limbs.indices {
                let right = index < other.limbs.count ? other.limbs[index] : 0
                let (partial, overflow1) = self.limbs[index].subtractingReportingOverflow(right)
                let (result, overflow2) = partial.subtractingReportingOverflow(borrow)
                self.limbs[index] = result
                borrow = overflow1 || overflow2 ? 1 : 0
            }
        }
    }
}
