// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Reads `timestamptz` text as a UTC session with `DateStyle = ISO` prints it: `2026-01-02 03:04:05.123456+00`.
enum TimestampText {
    /// The instant, or `nil` when the text has another shape (BC dates, years past 9999, another offset).
    static func parseUTC(_ text: some StringProtocol) -> PostgresTimestamp? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 22, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: " "), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            bytes.suffix(3) == Array("+00".utf8)
        else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var microseconds: Int64 = 0
        let end = bytes.count - 3
        if end > 19 {
            guard bytes[19] == UInt8(ascii: "."), end - 20 >= 1, end - 20 <= 6, let fraction = number(20..<end) else {
                return nil
            }
            microseconds = fraction
            for _ in 0..<(6 - (end - 20)) { microseconds *= 10 }
        }
        let days = CivilDate.daysSinceUnixEpoch(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second
        return PostgresTimestamp(unixMicroseconds: seconds * 1_000_000 + microseconds)
    }
}
