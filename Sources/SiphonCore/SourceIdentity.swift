// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.


/// Where changes come from, as precisely as the server says: named fields compared one by one.
public struct SourceIdentity: Sendable, Hashable, CustomStringConvertible {
    /// One named part of the identity, e.g. `system_identifier` = `7312…`.
    public struct Field: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public var fields: [Field]
    /// The `Change.ID.source` of this source's changes (with `#<partition>` appended for outbox partitions).
    public var changeSource: String

    public init(fields: [Field], changeSource: String) {
        self.fields = fields
        self.changeSource = changeSource
    }

    /// Whether `source`, a `Change.ID.source`, names this source's changes.
    public func produces(_ source: String) -> Bool {
        source == self.changeSource || source.hasPrefix(self.changeSource + "#")
    }

    /// A logical replication slot: the cluster (`IDENTIFY_SYSTEM`'s system identifier), its timeline (a restore or
    /// promotion starts a new one, whose positions repeat the old one's), the database and the slot.
    public static func logicalSlot(systemID: String, timeline: Int, database: String, slot: String) -> Self {
        Self(
            fields: [
                Field("system_identifier", systemID), Field("timeline", String(timeline)), Field("database", database),
                Field("slot", slot),
            ],
            changeSource: slot)
    }

    /// A trigger-mode outbox: the cluster (when the role may read its system identifier), the database and the
    /// outbox table. Its partitions are told apart by the change ids' sources.
    public static func outbox(systemID: String?, database: String, schema: String, table: String) -> Self {
        var fields: [Field] = []
        if let systemID { fields.append(Field("system_identifier", systemID)) }
        fields.append(Field("database", database))
        fields.append(Field("outbox", "\(schema).\(table)"))
        return Self(fields: fields, changeSource: table)
    }

    /// The parts that differ from `other`, worded for an error message: `slot "a" (file) vs "b" (this run)`.
    public func differences(from recorded: SourceIdentity) -> [String] {
        let names = (recorded.fields.map(\.name) + self.fields.map(\.name)).reduce(into: [String]()) {
            if !$0.contains($1) { $0.append($1) }
        }
        return names.compactMap { name in
            let mine = self.fields.first { $0.name == name }?.value
            let theirs = recorded.fields.first { $0.name == name }?.value
            guard mine != theirs else { return nil }
            return "\(name) \(Self.quoted(theirs)) recorded vs \(Self.quoted(mine)) now"
        }
    }

    public var description: String {
        self.fields.map { "\($0.name) \(Self.quoted($0.value))" }.joined(separator: ", ")
    }

    private static func quoted(_ value: String?) -> String {
        guard let value else { return "(none)" }
        var text = "\""
        for scalar in value.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F || scalar == "\"" || scalar == "\\" {
                text += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                text.unicodeScalars.append(scalar)
            }
        }
        return text + "\""
    }
}
