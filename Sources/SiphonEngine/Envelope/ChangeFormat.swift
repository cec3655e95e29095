// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// The JSON shapes a change can be written in, one object per line. `docs/change-format.md` is the contract.
public enum ChangeFormat: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Siphon's own envelope: `{"id":…,"op":"insert",…,"new":{…},"old":…,"key":{…},"unchanged_toast":[]}`.
    case siphon
    /// Debezium's PostgreSQL connector envelope as Kafka Connect's JSON converter writes it with schemas
    /// disabled: `{"before":…,"after":…,"source":{…},"op":"c",…}`.
    case debezium

    public var description: String { self.rawValue }
}

/// What Debezium's `source` block names that a `Change` does not carry.
public struct DebeziumSource: Sendable, Hashable {
    /// The database the changes come from (`source.db`). Debezium writes `""` when it does not know it either.
    public var database: String
    /// What `source.version` says produced the event (Debezium writes its own version there).
    public var version: String

    public init(database: String = "", version: String = "siphon") {
        self.database = database
        self.version = version
    }
}
