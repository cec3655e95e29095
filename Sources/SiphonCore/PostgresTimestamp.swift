// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// A point in time as PostgreSQL stores it: microseconds since 2000-01-01 00:00:00 UTC.
///
/// Kept as the raw integer so that nothing is lost to floating point and rendering stays exact.
public struct PostgresTimestamp: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64

    public init(rawValue: Int64) { self.rawValue = rawValue }

    /// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01).
    public static let unixEpochOffsetMicroseconds: Int64 = 946_684_800_000_000

    public init(unixMicroseconds: Int64) { self.rawValue = unixMicroseconds - Self.unixEpochOffsetMicroseconds }

    public var unixMicroseconds: Int64 { self.rawValue + Self.unixEpochOffsetMicroseconds }

    /// RFC 3339 in UTC with microseconds, e.g. `2026-11-21T23:00:00.123456Z`.
    public var description: String {
        let (year, month, day, secondOfDay, fraction) = self.utcFields
        return CivilDate.pad(year, 4) + "-" + CivilDate.pad(month, 2) + "-" + CivilDate.pad(day, 2) + "T"
            + CivilDate.pad(secondOfDay / 3600, 2) + ":" + CivilDate.pad(secondOfDay / 60 % 60, 2) + ":"
            + CivilDate.pad(secondOfDay % 60, 2) + "." + CivilDate.pad(fraction, 6) + "Z"
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Proleptic Gregorian calendar arithmetic (Howard Hinnant's `civil_from_days` / `days_from_civil`).
public enum CivilDate {
    /// Year, month (1...12) and day (1...31) of a day count since 1970-01-01. Year 0 is 1 BC.
    public static func fromDaysSinceUnixEpoch(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date. Year 0 is 1 BC.
    public static func daysSinceUnixEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Zero-padded decimal of a non-negative number.
    public static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
