// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Capture without logical replication: generated triggers that write every change to an outbox table (read by
/// `OutboxSource`) or send it on a notify channel (read by `NotifySource`).
///
/// - `plan(_:settings:logger:)` resolves the tables in the catalog and returns the SQL as an up/down migration.
/// - `apply(_:settings:logger:)` and `remove(_:settings:logger:)` run it directly.
/// - `doctor(_:settings:logger:)` reports missing and stale triggers.
public enum TriggerCapture {
    /// The schema that holds Siphon's tables and functions unless another is configured.
    public static let defaultSchema = "siphon"
    /// The session setting that marks a session's writes as Siphon's own. Any role may set it, so the triggers honor
    /// it only in sessions whose login role is a member of the role that owns Siphon's trigger functions (the role
    /// that set capture up); other sessions' writes are captured with it as their origin.
    public static let originSetting = "siphon.origin"
    /// The value of `originSetting` on Siphon's own connections; triggers skip these writes by default.
    public static let ownOrigin = "siphon"
    /// Run this on a connection whose writes must not be captured again (a handler writing back to the database).
    public static let markOwnWritesSQL = "SET siphon.origin = 'siphon'"
    /// Longest outbox or channel name: derived trigger names must fit PostgreSQL's 63-byte limit.
    public static let maximumNameLength = 40

    /// Checks an outbox or channel name: lower-case letters, digits and `_`, not starting with a digit.
    static func validateName(_ name: String, as noun: String) throws(SiphonError) {
        var valid = !name.isEmpty && name.utf8.count <= Self.maximumNameLength
        for (index, byte) in name.utf8.enumerated() where valid {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "_"): continue
            case UInt8(ascii: "0")...UInt8(ascii: "9"): valid = index > 0
            default: valid = false
            }
        }
        guard valid else {
            throw SiphonError(
                .invalidConfiguration,
                "invalid \(noun) name '\(name)': use 1 to \(Self.maximumNameLength) lower-case letters, digits and "
                    + "underscores, not starting with a digit")
        }
    }

    /// Checks everything in `specification` that does not need the database.
    static func validate(_ specification: CaptureSpecification) throws(SiphonError) {
        try TableName.validateIdentifier(specification.schema, as: "schema")
        switch specification.target {
        case .outbox(let name):
            try Self.validateName(name, as: "outbox")
            let names = OutboxNames(schema: specification.schema, name: name)
            if names.wakeChannel.utf8.count > TableName.maximumIdentifierLength {
                throw SiphonError(
                    .invalidConfiguration,
                    "the outbox's wake-up channel '\(names.wakeChannel)' (schema.outbox) is longer than "
                        + "\(TableName.maximumIdentifierLength) bytes; use a shorter schema or outbox name")
            }
            var seen: Set<String> = []
            for group in specification.groups {
                try TableName.validateIdentifier(group.name, as: "consumer group")
                guard (1...1024).contains(group.partitions) else {
                    throw SiphonError(
                        .invalidConfiguration,
                        "consumer group '\(group.name)' has \(group.partitions) partitions; use 1 to 1024")
                }
                guard seen.insert(group.name).inserted else {
                    throw SiphonError(.invalidConfiguration, "consumer group '\(group.name)' is listed twice")
                }
            }
        case .notify(let channel):
            try Self.validateName(channel, as: "channel")
        }
        if specification.tables.isEmpty {
            throw SiphonError(.invalidConfiguration, "no tables to capture: name at least one table")
        }
        for capture in specification.tables {
            if capture.operations.isEmpty {
                throw SiphonError(.invalidConfiguration, "no operations chosen for \(capture.tables)")
            }
            if !capture.columns.isEmpty && !capture.operations.contains(.update) {
                throw SiphonError(
                    .invalidConfiguration,
                    "columns \(capture.columns) for \(capture.tables) only filter updates, but update is not "
                        + "among the chosen operations")
            }
            if let condition = capture.condition, condition.trimmingWhitespace.isEmpty {
                throw SiphonError(.invalidConfiguration, "the WHEN condition for \(capture.tables) is empty")
            }
        }
    }
}

/// The names of an outbox's objects.
struct OutboxNames: Sendable, Hashable {
    let schema: String
    let name: String

    /// `schema.name`: the outbox table, as SQL writes it.
    var table: String { Self.qualified(self.schema, self.name) }
    /// The consumer groups' positions.
    var cursorsTable: String { Self.qualified(self.schema, self.cursorsTableName) }
    var cursorsTableName: String { self.name + "_cursors" }
    /// The one trigger function every captured table calls.
    var function: String { Self.qualified(self.schema, self.functionName) }
    var functionName: String { self.name + "_capture" }
    /// `to_jsonb()` with the rendering settings pinned, for sessions that render values otherwise.
    var renderingFunction: String { Self.qualified(self.schema, self.name + "_json") }
    /// The channel readers listen on: `schema.name`.
    var wakeChannel: String { self.schema + "." + self.name }
    /// The advisory lock (`key, 0`) an idle reader holds: writers notify only while it is held.
    var idleLockKey: Int32 { OutboxQueries.stableHash("siphon idle \(self.wakeChannel)") }
    /// The trigger for one event on a table: `siphon_outbox_insert`.
    func trigger(_ event: TriggerEvent) -> String { "siphon_\(self.name)_\(event.rawValue)" }
    /// The index the reader uses to find changes by transaction.
    var xidIndexName: String { self.name + "_xid" }

    static func qualified(_ schema: String, _ name: String) -> String {
        TableName.quoteIdentifier(schema) + "." + TableName.quoteIdentifier(name)
    }
}

/// What a generated trigger fires on. Updates get two triggers when old rows carry only the key: `update` for those
/// that keep their key (the function then skips `to_jsonb(OLD)`) and `rekey` for those that change it, chosen by
/// `WHEN` clauses that PostgreSQL evaluates before calling the function.
enum TriggerEvent: String, CaseIterable, Sendable {
    case insert, update, rekey, delete, truncate

    var operation: Change.Operation {
        switch self {
        case .insert: return .insert
        case .update, .rekey: return .update
        case .delete: return .delete
        case .truncate: return .truncate
        }
    }

    /// How a person calls what the trigger captures.
    var noun: String { self == .rekey ? "updates that change the key" : self.rawValue }
}

/// The names of a notify channel's objects.
struct NotifyNames: Sendable, Hashable {
    let schema: String
    let channel: String

    /// The trigger function, shared by every channel.
    var function: String { OutboxNames.qualified(self.schema, Self.functionName) }
    static let functionName = "notify_change"
    /// `to_jsonb()` with the rendering settings pinned, shared by every channel like the trigger function.
    var renderingFunction: String { OutboxNames.qualified(self.schema, "notify_json") }
    /// The channels' signing keys (see `NotificationSignature`), shared by every channel like the trigger function.
    var keysTable: String { OutboxNames.qualified(self.schema, Self.keysTableName) }
    static let keysTableName = "notify_keys"
    /// The trigger for one event on a table: `siphon_notify_orders_insert`.
    func trigger(_ event: TriggerEvent) -> String { "siphon_notify_\(self.channel)_\(event.rawValue)" }
}

extension StringProtocol {
    var trimmingWhitespace: String {
        String(self.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
