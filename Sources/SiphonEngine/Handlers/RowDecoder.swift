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
            guard let timestamp = PostgresTimestamp(parsing: text, allowingDateOnly: true) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "'\(text)' is not a PostgreSQL date or timestamp")
            }
            return Date(timeIntervalSince1970: Double(timestamp.unixMicroseconds) / 1_000_000)
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
