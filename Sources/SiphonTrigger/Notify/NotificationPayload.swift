// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// What the notify trigger sends: `{"op", "schema", "table", "key", "old", "new"}`, or, when that would pass
/// PostgreSQL's 8000-byte limit, `{"op", "schema", "table", "key", "truncated": true}`.
struct NotificationPayload: Sendable, Hashable {
    var operation: Change.Operation
    var table: TableName
    /// `to_jsonb()` objects as text.
    var key: String
    var old: String?
    var new: String?
    /// The rows were left out because they did not fit; the listener fetches the current row by key.
    var truncated: Bool

    /// Reads a payload; anything else (another program's notification on the channel, a cut-off text) fails with
    /// `decodingFailed` and a message that shows the payload's start.
    init(json: String) throws(SiphonError) {
        var operation: Change.Operation?
        var schema: String?
        var table: String?
        var key: String?
        var old: String?
        var new: String?
        var truncated = false
        do {
            for (name, value) in try JSONObjectText.members(of: json) {
                switch name {
                case "op":
                    let text = try JSONObjectText.string(fromLiteral: value)
                    guard let known = Change.Operation(rawValue: text) else {
                        throw SiphonError(.decodingFailed, "unknown operation '\(text)'")
                    }
                    operation = known
                case "schema": schema = try JSONObjectText.string(fromLiteral: value)
                case "table": table = try JSONObjectText.string(fromLiteral: value)
                case "key": key = try Self.object(value, name)
                case "old": old = value == "null" ? nil : try Self.object(value, name)
                case "new": new = value == "null" ? nil : try Self.object(value, name)
                case "truncated": truncated = value == "true"
                default: continue
                }
            }
        } catch let error as SiphonError {
            throw Self.malformed(json, because: error.message)
        } catch {
            throw Self.malformed(json, because: "\(error)")
        }
        guard let operation, let schema, let table, let key else {
            throw Self.malformed(json, because: "op, schema, table or key is missing")
        }
        self.operation = operation
        self.table = TableName(schema: schema, table)
        self.key = key
        self.old = old
        self.new = new
        self.truncated = truncated
    }

    private static func object(_ value: String, _ name: String) throws -> String {
        guard value.hasPrefix("{") else { throw SiphonError(.decodingFailed, "\(name) is not an object") }
        _ = try JSONObjectText.members(of: value)
        return value
    }

    private static func malformed(_ json: String, because reason: String) -> SiphonError {
        let start = json.prefix(200)
        return SiphonError(
            .decodingFailed,
            "not a Siphon change notification (\(reason)): \(start)\(start.count < json.count ? "…" : "")")
    }
}
