// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Date and time text in PostgreSQL's own formats.
///
/// Writing follows `EncodeDateOnly`, `EncodeDateTime`, `EncodeTimeOnly`, `EncodeTimezone` and `EncodeInterval`
/// (src/backend/utils/adt/datetime.c) for `DateStyle=ISO` (text output) and `USE_XSD_DATES` (the style
/// `to_jsonb` forces for date, timestamp and timestamptz), `IntervalStyle=postgres` and `TimeZone=UTC`.
/// Reading accepts exactly what those styles write.
enum DateTimeText {
    static let microsecondsPerDay: Int64 = 86_400_000_000
    static let microsecondsPerHour: Int64 = 3_600_000_000
    static let microsecondsPerMinute: Int64 = 60_000_000
    static let microsecondsPerSecond: Int64 = 1_000_000
    /// Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
    static let unixDaysAtPostgresEpoch: Int64 = 10_957

    // MARK: Writing

    /// Writes `YYYY-MM-DD` and returns whether the year is BC (the caller writes ` BC` at the very end).
    static func writeDate(daysSince2000: Int64, to writer: inout ASCIIWriter) -> Bool {
        let (year, month, day) = CivilDate.fromDaysSinceUnixEpoch(daysSince2000 + unixDaysAtPostgresEpoch)
        let isBC = year <= 0
        writer.write(UInt64(isBC ? 1 - year : year), width: 4)
        writer.write(UInt8(ascii: "-"))
        writer.write(UInt64(month), width: 2)
        writer.write(UInt8(ascii: "-"))
        writer.write(UInt64(day), width: 2)
        return isBC
    }

    /// A `date` as `date_out` (ISO) and `to_jsonb` write it.
    static func writeDate(_ days: Int32, to writer: inout ASCIIWriter) {
        switch days {
        case Int32.max: writer.write("infinity")
        case Int32.min: writer.write("-infinity")
        default: if writeDate(daysSince2000: Int64(days), to: &writer) { writer.write(" BC") }
        }
    }

    /// Writes `HH:MM:SS[.ffffff]` for a time of day (0...24h), trailing fraction zeros dropped. (Values the server
    /// never sends, negative or past 24h, still write their arithmetic value rather than trap.)
    static func writeTime(microseconds: Int64, to writer: inout ASCIIWriter) {
        if microseconds < 0 { writer.write(UInt8(ascii: "-")) }
        let magnitude = microseconds.magnitude
        let hours = magnitude / UInt64(microsecondsPerHour)
        var rest = magnitude - hours * UInt64(microsecondsPerHour)
        let minutes = rest / UInt64(microsecondsPerMinute)
        rest -= minutes * UInt64(microsecondsPerMinute)
        writer.write(hours, width: 2)
        writer.write(UInt8(ascii: ":"))
        writer.write(minutes, width: 2)
        writer.write(UInt8(ascii: ":"))
        writeSeconds(rest, to: &writer)
    }

    /// Writes whole seconds (two digits) and, when not zero, the fraction without trailing zeros (`AppendSeconds`).
    static func writeSeconds(_ microseconds: UInt64, to writer: inout ASCIIWriter) {
        let seconds = microseconds / 1_000_000
        var fraction = microseconds % 1_000_000
        writer.write(seconds, width: 2)
        guard fraction != 0 else { return }
        var digits = 6
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        writer.write(UInt8(ascii: "."))
        writer.write(fraction, width: digits)
    }

    /// Writes a zone offset (`EncodeTimezone`); `secondsWest` is PostgreSQL's sign convention (east is negative).
    static func writeZone(secondsWest: Int32, xsd: Bool, to writer: inout ASCIIWriter) {
        var seconds = Int(secondsWest.magnitude)
        var minutes = seconds / 60
        seconds -= minutes * 60
        let hours = minutes / 60
        minutes -= hours * 60
        writer.write(secondsWest <= 0 ? UInt8(ascii: "+") : UInt8(ascii: "-"))
        writer.write(UInt64(hours), width: 2)
        if seconds != 0 {
            writer.write(UInt8(ascii: ":"))
            writer.write(UInt64(minutes), width: 2)
            writer.write(UInt8(ascii: ":"))
            writer.write(UInt64(seconds), width: 2)
        } else if minutes != 0 || xsd {
            writer.write(UInt8(ascii: ":"))
            writer.write(UInt64(minutes), width: 2)
        }
    }

    /// Writes a `timestamp` (`withZone: false`) or a `timestamptz` in UTC.
    ///
    /// `xsd` selects `to_jsonb`'s form (`2026-11-21T23:00:00+00:00`) over `timestamp_out`'s ISO form
    /// (`2026-11-21 23:00:00+00`).
    static func writeTimestamp(_ raw: Int64, withZone: Bool, xsd: Bool, to writer: inout ASCIIWriter) {
        switch raw {
        case Int64.max:
            writer.write("infinity")
        case Int64.min:
            writer.write("-infinity")
        default:
            var days = raw / microsecondsPerDay
            var time = raw - days * microsecondsPerDay
            if time < 0 {
                time += microsecondsPerDay
                days -= 1
            }
            let isBC = writeDate(daysSince2000: days, to: &writer)
            writer.write(xsd ? UInt8(ascii: "T") : UInt8(ascii: " "))
            writeTime(microseconds: time, to: &writer)
            if withZone { writeZone(secondsWest: 0, xsd: xsd, to: &writer) }
            if isBC { writer.write(" BC") }
        }
    }

    /// Writes an `interval` as `interval_out` does with `IntervalStyle=postgres`.
    static func writeInterval(_ interval: PostgresInterval, to writer: inout ASCIIWriter) {
        if interval.months == Int32.max, interval.days == Int32.max, interval.microseconds == Int64.max {
            writer.write("infinity")
            return
        }
        if interval.months == Int32.min, interval.days == Int32.min, interval.microseconds == Int64.min {
            writer.write("-infinity")
            return
        }
        var isZero = true
        var isBefore = false
        func part(_ value: Int64, _ unit: StaticString, _ writer: inout ASCIIWriter) {
            guard value != 0 else { return }
            if !isZero { writer.write(UInt8(ascii: " ")) }
            if isBefore && value > 0 { writer.write(UInt8(ascii: "+")) }
            writer.write(signed: value)
            writer.write(UInt8(ascii: " "))
            writer.write(unit)
            if value != 1 { writer.write(UInt8(ascii: "s")) }
            // Each nonzero field sets the sign marker for the next one only (PostgreSQL's own quirk).
            isBefore = value < 0
            isZero = false
        }
        part(Int64(interval.months) / 12, "year", &writer)
        part(Int64(interval.months) % 12, "mon", &writer)
        part(Int64(interval.days), "day", &writer)
        let time = interval.microseconds
        let hours = time / microsecondsPerHour
        var rest = time - hours * microsecondsPerHour
        let minutes = rest / microsecondsPerMinute
        rest -= minutes * microsecondsPerMinute
        if isZero || time != 0 {
            let minus = time < 0
            if !isZero { writer.write(UInt8(ascii: " ")) }
            if minus {
                writer.write(UInt8(ascii: "-"))
            } else if isBefore {
                writer.write(UInt8(ascii: "+"))
            }
            writer.write(hours.magnitude, width: 2)
            writer.write(UInt8(ascii: ":"))
            writer.write(minutes.magnitude, width: 2)
            writer.write(UInt8(ascii: ":"))
            writeSeconds(rest.magnitude, to: &writer)
        }
    }

    // MARK: Reading

    /// Reads `YYYY-MM-DD` (year of four or more digits) and returns days since 2000-01-01, ignoring any era.
    static func readDate(_ scanner: inout TextScanner) -> (year: Int64, month: Int64, day: Int64)? {
        guard let year = scanner.readDigits(minimum: 4, maximum: 9), scanner.consume(UInt8(ascii: "-")),
            let month = scanner.readDigits(minimum: 2, maximum: 2), scanner.consume(UInt8(ascii: "-")),
            let day = scanner.readDigits(minimum: 2, maximum: 2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        return (year, month, day)
    }

    static func days(year: Int64, month: Int64, day: Int64, isBC: Bool) -> Int64 {
        CivilDate.daysSinceUnixEpoch(year: isBC ? 1 - year : year, month: month, day: day)
            - unixDaysAtPostgresEpoch
    }

    /// Reads `HH:MM:SS[.ffffff]` and returns microseconds since midnight.
    static func readTime(_ scanner: inout TextScanner) -> Int64? {
        guard let hours = scanner.readDigits(minimum: 2, maximum: 2), scanner.consume(UInt8(ascii: ":")),
            let minutes = scanner.readDigits(minimum: 2, maximum: 2), scanner.consume(UInt8(ascii: ":")),
            let seconds = scanner.readDigits(minimum: 2, maximum: 2), hours <= 24, minutes < 60, seconds < 61
        else { return nil }
        var fraction: Int64 = 0
        if scanner.consume(UInt8(ascii: ".")) {
            guard let value = scanner.readMicrosecondFraction() else { return nil }
            fraction = value
        }
        return hours * microsecondsPerHour + minutes * microsecondsPerMinute + seconds * microsecondsPerSecond
            + fraction
    }

    /// Reads `±HH[:MM[:SS]]` and returns the offset in seconds east of UTC.
    static func readZone(_ scanner: inout TextScanner) -> Int64? {
        let sign: Int64
        if scanner.consume(UInt8(ascii: "+")) {
            sign = 1
        } else if scanner.consume(UInt8(ascii: "-")) {
            sign = -1
        } else {
            return nil
        }
        guard let hours = scanner.readDigits(minimum: 2, maximum: 2) else { return nil }
        var seconds = hours * 3600
        if scanner.consume(UInt8(ascii: ":")) {
            guard let minutes = scanner.readDigits(minimum: 2, maximum: 2) else { return nil }
            seconds += minutes * 60
            if scanner.consume(UInt8(ascii: ":")) {
                guard let extra = scanner.readDigits(minimum: 2, maximum: 2) else { return nil }
                seconds += extra
            }
        }
        return sign * seconds
    }

    /// Reads a `date` in ISO style (`2026-11-21`, `0044-03-15 BC`, `infinity`).
    static func parseDate(_ bytes: UnsafeRawBufferPointer) -> Int32? {
        if bytesEqual(bytes, "infinity") { return Int32.max }
        if bytesEqual(bytes, "-infinity") { return Int32.min }
        var scanner = TextScanner(bytes)
        guard let (year, month, day) = readDate(&scanner) else { return nil }
        let isBC = scanner.consume(" BC")
        guard scanner.isAtEnd else { return nil }
        let result = days(year: year, month: month, day: day, isBC: isBC)
        guard let days = Int32(exactly: result), days != Int32.max, days != Int32.min else { return nil }
        return days
    }

    /// Reads a `timestamp` (`withZone: false`) or `timestamptz` in ISO style and returns microseconds since
    /// 2000-01-01 (UTC for `timestamptz`).
    static func parseTimestamp(_ bytes: UnsafeRawBufferPointer, withZone: Bool) -> Int64? {
        if bytesEqual(bytes, "infinity") { return Int64.max }
        if bytesEqual(bytes, "-infinity") { return Int64.min }
        var scanner = TextScanner(bytes)
        guard let (year, month, day) = readDate(&scanner), scanner.consume(UInt8(ascii: " ")),
            let time = readTime(&scanner)
        else { return nil }
        var offsetEast: Int64 = 0
        if withZone {
            guard let zone = readZone(&scanner) else { return nil }
            offsetEast = zone
        }
        let isBC = scanner.consume(" BC")
        guard scanner.isAtEnd else { return nil }
        let dayCount = days(year: year, month: month, day: day, isBC: isBC)
        let (dayMicros, overflow) = dayCount.multipliedReportingOverflow(by: microsecondsPerDay)
        let (local, overflow2) = dayMicros.addingReportingOverflow(time)
        let (utc, overflow3) = local.subtractingReportingOverflow(offsetEast * microsecondsPerSecond)
        guard !overflow, !overflow2, !overflow3, utc != Int64.max, utc != Int64.min else { return nil }
        return utc
    }

    /// Reads an `interval` in `IntervalStyle=postgres` (`1 year 2 mons -3 days +04:05:06.789`).
    static func parseInterval(_ bytes: UnsafeRawBufferPointer) -> PostgresInterval? {
        if bytesEqual(bytes, "infinity") {
            return PostgresInterval(months: Int32.max, days: Int32.max, microseconds: Int64.max)
        }
        if bytesEqual(bytes, "-infinity") {
            return PostgresInterval(months: Int32.min, days: Int32.min, microseconds: Int64.min)
        }
        var scanner = TextScanner(bytes)
        var months: Int64 = 0
        var days: Int64 = 0
        var time: Int64 = 0
        var first = true
        while !scanner.isAtEnd {
            if !first { guard scanner.consume(UInt8(ascii: " ")) else { return nil } }
            first = false
            var negative = false
            if scanner.consume(UInt8(ascii: "-")) {
                negative = true
            } else {
                _ = scanner.consume(UInt8(ascii: "+"))
            }
            guard let number = scanner.readDigits(minimum: 1, maximum: 10) else { return nil }
            if scanner.consume(UInt8(ascii: ":")) {
                guard number <= 2_562_047_788 else { return nil }
                // The time part: hours (any number of digits) : minutes : seconds[.fraction].
                guard let minutes = scanner.readDigits(minimum: 2, maximum: 2), scanner.consume(UInt8(ascii: ":")),
                    let seconds = scanner.readDigits(minimum: 2, maximum: 2)
                else { return nil }
                var fraction: Int64 = 0
                if scanner.consume(UInt8(ascii: ".")) {
                    guard let value = scanner.readMicrosecondFraction() else { return nil }
                    fraction = value
                }
                let magnitude =
                    UInt64(number) * UInt64(microsecondsPerHour) + UInt64(minutes)
                    * UInt64(microsecondsPerMinute) + UInt64(seconds) * UInt64(microsecondsPerSecond) + UInt64(fraction)
                // -2562047788:00:54.775808 is Int64.min, one past Int64.max in magnitude.
                guard time == 0, magnitude <= (negative ? Int64.min.magnitude : UInt64(Int64.max)) else { return nil }
                time = negative ? Int64(bitPattern: 0 &- magnitude) : Int64(magnitude)
                continue
            }
            let value = negative ? -number : number
            guard scanner.consume(UInt8(ascii: " ")) else { return nil }
            if scanner.consume("years") || scanner.consume("year") {
                months += value * 12
            } else if scanner.consume("mons") || scanner.consume("mon") {
                months += value
            } else if scanner.consume("days") || scanner.consume("day") {
                days += value
            } else {
                return nil
            }
        }
        guard let months32 = Int32(exactly: months), let days32 = Int32(exactly: days) else { return nil }
        return PostgresInterval(months: months32, days: days32, microseconds: time)
    }
}
