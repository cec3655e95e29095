// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// One table row, each value already rendered as PostgreSQL's `to_jsonb()` renders it.
///
/// Every capture mode produces rows in this form: logical replication renders decoded values, the trigger
/// modes receive `to_jsonb(NEW)` from the server. Columns keep table order.
public struct Row: Sendable, Hashable {
    /// A column name and its value as JSON text (`null`, `42`, `"text"`, `{"a": 1}`…).
    public struct Column: Sendable, Hashable {
        public var name: String
        public var json: String

        public init(name: String, json: String) {
            self.name = name
            self.json = json
        }
    }

    public var columns: [Column]

    public init(_ columns: [Column] = []) { self.columns = columns }

    /// The JSON text of the named column, or `nil` when the row does not carry it.
    public subscript(name: String) -> String? {
        self.columns.first(where: { $0.name == name })?.json
    }

    /// Column names in table order.
    public var names: [String] { self.columns.map(\.name) }

    /// Appends the row as a JSON object, keys in table order.
    public func appendJSONObject(to output: inout String) {
        output.append("{")
        for (position, column) in self.columns.enumerated() {
            if position > 0 { output.append(",") }
            JSONText.appendString(column.name, to: &output)
            output.append(":")
            output.append(column.json)
        }
        output.append("}")
    }

    /// The row as one JSON object, keys in table order.
    public var jsonObject: String {
        var output = ""
        self.appendJSONObject(to: &output)
        return output
    }
}
