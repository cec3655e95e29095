// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonCore

/// Decodes a `Row` (values as `to_jsonb()` JSON) into a `Decodable` model; errors name table, column and value.
///
/// Dates accept what PostgreSQL writes: `timestamptz` (`2026-11-21T23:00:00.123456+00:00`), `timestamp` (taken as
/// UTC) and `date`.
struct RowDecoder {
    let schema: String
    let table: String

    func decode<Model: Decodable>(_ type: Model.Type, from row: Row) throws -> Model {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = PostgresDateParser.parse(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "'\(text)' is not a PostgreSQL date or timestamp")
            }
            return date
        }
        do {
            return try decoder.decode(Model.self, from: Data(row.jsonObject.utf8))
        } catch let error as DecodingError {
            throw SiphonError(.decodingFailed, self.describe(error, row: row, model: "\(Model.self)"), underlying: error)
        }
    }

    private func describe(_ error: DecodingError, row: Row, model: String) -> String {
        let place = "cannot decode a row of \(self.schema).\(self.table) into \(model)"
        func column(_ path: [any CodingKey]) -> String { path.first?.stringValue ?? "?" }
        func value(_ path: [any CodingKey]) -> String { row[column(path)] ?? "(absent)" }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(place): column \"\((context.codingPath + [key]).first?.stringValue ?? key.stringValue)\" is missing from the row"
        case .typeMismatch(let type, let context):
            return "\(place): column \"\(column(context.codingPath))\" holds \(value(context.codingPath)), not \(type)"
        case .valueNotFound(let type, let context):
            return "\(place): column \"\(column(context.codingPath))\" is null, but \(model) expects \(type)"
        case .dataCorrupted(let context):
            return "\(place): column \"\(column(context.codingPath))\" holds \(value(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(place): \(error)"
        }
    }
}

/// Parses the date and timestamp texts `to_jsonb()` produces.
enum PostgresDateParser {
    static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0..<4), bytes.count >= 10, bytes[4] == UInt8(ascii: "-"), let month = number(5..<7),
            let day = number(8..<10)
        else { return nil }
        let days = CivilDate.daysSinceUnixEpoch(year: Int64(year), month: Int64(month), day: Int64(day))
        var seconds = Double(days) * 86_400
        guard bytes.count > 10 else { return Date(timeIntervalSince1970: seconds) }
        guard bytes[10] == UInt8(ascii: "T"), let hour = number(11..<13), let minute = number(14..<16),
            let second = number(17..<19)
        else { return nil }
        seconds += Double(hour * 3600 + minute * 60 + second)
        var index = 19
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            var scale = 0.1
            index += 1
            while index < bytes.count, (48...57).contains(bytes[index]) {
                seconds += Double(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
        }
        if index < bytes.count {
            let sign: Double = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            guard let offsetHours = number(index + 1..<index + 3) else { return nil }
            let offsetMinutes = number(index + 4..<index + 6) ?? 0
            seconds -= sign * Double(offsetHours * 3600 + offsetMinutes * 60)
        }
        return Date(timeIntervalSince1970: seconds)
    }
}
