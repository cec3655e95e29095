// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// A position in PostgreSQL's write-ahead log (`pg_lsn`), written as two hex halves: `16/B374D848`.
public struct LSN: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Parses PostgreSQL's `XXX/XXX` text form; `nil` when it is not one.
    public init?(_ text: some StringProtocol) {
        let halves = text.split(separator: "/", omittingEmptySubsequences: false)
        guard halves.count == 2, (1...8).contains(halves[0].count), (1...8).contains(halves[1].count),
            let high = UInt64(halves[0], radix: 16), let low = UInt64(halves[1], radix: 16)
        else { return nil }
        self.rawValue = high << 32 | low
    }

    /// The invalid position PostgreSQL writes as `0/0`.
    public static let zero = LSN(rawValue: 0)

    public var description: String {
        String(self.rawValue >> 32, radix: 16, uppercase: true) + "/"
            + String(self.rawValue & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }

    public static func < (lhs: LSN, rhs: LSN) -> Bool { lhs.rawValue < rhs.rawValue }
}
