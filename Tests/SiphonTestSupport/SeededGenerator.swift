// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation

/// SplitMix64: a small seeded generator, so a randomised test that fails can be repeated exactly from its seed.
public struct SeededGenerator: RandomNumberGenerator {
    public var state: UInt64

    public init(state: UInt64) {
        self.state = state
    }

    public mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension SeededGenerator {
    /// A generator for random fault injection: seeded from `SIPHON_TEST_SEED` when it is set (to replay a failed
    /// run), otherwise from the clock. The seed is printed with `label`, so a failure can be replayed.
    public static func forFaultInjection(_ label: String) -> SeededGenerator {
        let seed =
            ProcessInfo.processInfo.environment["SIPHON_TEST_SEED"].flatMap { UInt64($0) }
            ?? UInt64(truncatingIfNeeded: Int64(Date().timeIntervalSince1970 * 1_000_000))
        print("\(label): fault injection seed \(seed) (replay with SIPHON_TEST_SEED=\(seed))")
        return SeededGenerator(state: seed)
    }
}
