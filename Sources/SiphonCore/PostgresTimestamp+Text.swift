// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// The one reader and the one fast writer of timestamp text: the envelope's `commitTime`, the outbox's
/// `timestamptz` columns and the dates handlers decode all go through here.
extension PostgresTimestamp {
    /// Parses RFC 3339 text and the forms PostgreSQL prints: `2026-11-21T23:00:00.123456Z` (the envelope),
    /// `2026-01-02T03:04:05.5+02:00` (`to_jsonb()`), `2026-01-02 03:04:05.123456+00` (`timestamptz` text in a
    /// session with `DateStyle = ISO`). No offset means UTC. Takes 0 to 9 fraction digits; digits past microseconds
    /// must be zeros. With `allowingDateOnly`, a bare date (`2026-01-02`) is its midnight in UTC. `nil` for any
    /// other shape, a date that does not exist, BC dates and years past 9999.
    public init?(parsing text: some StringProtocol, allowingDateOnly: Bool = false) {
        var reader = TimestampReader(bytes: Array(text.utf8))
        guard let year = reader.number(4), reader.literal("-"), let month = reader.number(2), (1...12).contains(month),
            reader.literal("-"), let day = reader.number(2), (1...31).contains(day)
        else { return nil }
        let days = CivilDate.daysSinceUnixEpoch(year: year, month: month, day: day)
        guard CivilDate.fromDaysSinceUnixEpoch(days) == (year, month, day) else { return nil }
        if reader.atEnd {
            guard allowingDateOnly else { return nil }
            self.init(unixMicroseconds: days * 86_400_000_000)
            return
        }
        guard reader.literal("T") || reader.literal(" "), let hour = reader.number(2), hour < 24, reader.literal(":"),
            let minute = reader.number(2), minute < 60, reader.literal(":"), let second = reader.number(2), second < 60,
            let fraction = reader.fraction(), let offset = reader.offsetSeconds(), reader.atEnd
        else { return nil }
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        self.init(unixMicroseconds: seconds * 1_000_000 + fraction)
    }

    /// Appends exactly what `description` returns, without building intermediate strings (the envelope's hot path).
    public func append(to output: inout String) {
        let (year, month, day, secondOfDay, fraction) = self.utcFields
        guard (0...9999).contains(year) else {
            // Outside four-digit years the layout changes width; the general path renders those rare values.
            output.append(self.description)
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
            // Pieces of at most 15 bytes are small strings: appending them allocates nothing.
            for start in stride(from: 0, to: 27, by: 15) {
                let piece = UnsafeBufferPointer(rebasing: text[start..<min(start + 15, 27)])
                output.append(String(decoding: piece, as: UTF8.self))
            }
        }
    }

    /// The calendar date, second of the day and microseconds of the instant in UTC.
    var utcFields: (year: Int64, month: Int64, day: Int64, secondOfDay: Int64, microseconds: Int64) {
        let micros = self.unixMicroseconds
        let seconds = Self.floorDivide(micros, 1_000_000)
        let days = Self.floorDivide(seconds, 86_400)
        let (year, month, day) = CivilDate.fromDaysSinceUnixEpoch(days)
        return (year, month, day, seconds - days * 86_400, micros - seconds * 1_000_000)
    }

    /// Milliseconds since the Unix epoch, rounded down (Debezium's `ts_ms`).
    public var unixMilliseconds: Int64 { Self.floorDivide(self.unixMicroseconds, 1000) }

    /// `value / divisor` rounded towards negative infinity.
    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return value % divisor < 0 ? quotient - 1 : quotient
    }
}

/// A cursor over timestamp text.
private struct TimestampReader {
    let bytes: [UInt8]
    var position = 0

    var atEnd: Bool { self.position == self.bytes.count }

    mutating func number(_ width: Int) -> Int64? {
        guard self.position + width <= self.bytes.count else { return nil }
        var value: Int64 = 0
        for byte in self.bytes[self.position..<self.position + width] {
            guard let digit = Self.digit(byte) else { return nil }
            value = value * 10 + digit
        }
        self.position += width
        return value
    }

    mutating func literal(_ character: Unicode.Scalar) -> Bool {
        guard self.position < self.bytes.count, self.bytes[self.position] == UInt8(ascii: character) else { return false }
        self.position += 1
        return true
    }

    /// Microseconds of an optional `.digits` part; `nil` when it is malformed or finer than microseconds.
    mutating func fraction() -> Int64? {
        guard self.literal(".") else { return 0 }
        var fraction: Int64 = 0
        var digits = 0
        while self.position < self.bytes.count, let digit = Self.digit(self.bytes[self.position]) {
            if digits < 6 {
                fraction = fraction * 10 + digit
            } else if digit != 0 {
                return nil
            }
            digits += 1
            self.position += 1
        }
        guard (1...9).contains(digits) else { return nil }
        for _ in min(digits, 6)..<6 { fraction *= 10 }
        return fraction
    }

    /// Seconds east of UTC of an optional `Z`, `±HH`, `±HH:MM` or `±HHMM`.
    mutating func offsetSeconds() -> Int64? {
        if self.atEnd || self.literal("Z") { return 0 }
        let sign: Int64
        if self.literal("+") {
            sign = 1
        } else if self.literal("-") {
            sign = -1
        } else {
            return nil
        }
        guard let hours = self.number(2), hours < 16 else { return nil }
        var minutes: Int64 = 0
        if !self.atEnd {
            _ = self.literal(":")
            guard let value = self.number(2), value < 60 else { return nil }
            minutes = value
        }
        return sign * (hours * 3600 + minutes * 60)
    }

    private static func digit(_ byte: UInt8) -> Int64? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int64(byte - UInt8(ascii: "0")) : nil
    }
}
