// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Setup, teardown and health checks of the objects Siphon needs in PostgreSQL.
///
/// - `setup(_:settings:logger:)` validates everything first, then creates what is missing: the bookkeeping schema
///   and its `objects` table, the publication, `REPLICA IDENTITY FULL` where asked, and the logical slot (last).
/// - `teardown(_:settings:logger:)` removes exactly what the bookkeeping table recorded.
/// - `doctor(_:settings:logger:)` checks every precondition and says how to fix what is wrong.
///
/// All three talk to PostgreSQL over one ordinary SQL session of `ServerConnection`.
public enum SiphonAdmin {
    /// The schema that holds Siphon's bookkeeping table unless another is configured.
    public static let defaultSchema = "siphon"
    /// Where the pipeline parks dead letters (`ChangeFilter.ownSchema`). Never captured, like the bookkeeping schema.
    public static let deadLetterSchema = "siphon"
    /// The bookkeeping table in that schema: one row per object Siphon created.
    public static let objectsTableName = "objects"

    /// Checks that `name` can be a logical replication slot name (PostgreSQL allows only `[a-z0-9_]`, 63 at most).
    public static func validateSlotName(_ name: String) throws(SiphonError) {
        let allowed = name.utf8.allSatisfy {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                || $0 == UInt8(ascii: "_")
        }
        guard allowed, !name.isEmpty, name.utf8.count <= TableName.maximumIdentifierLength else {
            throw SiphonError(
                .invalidConfiguration,
                "invalid replication slot name '\(name)': PostgreSQL allows only lower-case letters, digits and "
                    + "underscores, 1 to \(TableName.maximumIdentifierLength) characters"
            )
        }
    }
}

/// Which tables Siphon captures.
public enum TableSelection: Sendable, Hashable, CustomStringConvertible {
    /// Every table in the database, including tables created later (`FOR ALL TABLES`; needs a superuser).
    case allTables
    /// The tables that match any of these patterns when setup runs (`FOR TABLE …` with the expanded list).
    case matching([TablePattern])

    /// Parses patterns such as `public.orders`, `'public."Order Items"'`, `sales.*`.
    public init(parsing patterns: [String]) throws(SiphonError) {
        var parsed: [TablePattern] = []
        for pattern in patterns { parsed.append(try TablePattern(parsing: pattern)) }
        self = .matching(parsed)
    }

    public var description: String {
        switch self {
        case .allTables: return "all tables"
        case .matching(let patterns): return patterns.map(\.description).joined(separator: ", ")
        }
    }
}

/// What setup does to the replica identity of the selected tables.
public enum ReplicaIdentityChoice: String, Sendable, Hashable, CaseIterable {
    /// Leave it alone: old rows carry the primary key (tables without one are refused).
    case `default`
    /// `ALTER TABLE … REPLICA IDENTITY FULL`: old rows carry every column; teardown restores the previous setting.
    case full
}

/// An object Siphon creates in PostgreSQL.
public struct SiphonObject: Hashable, Sendable, CustomStringConvertible {
    /// The kinds of object setup creates and records.
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        /// The bookkeeping schema.
        case schema
        /// The bookkeeping table.
        case table
        case publication
        /// A table's `REPLICA IDENTITY`, changed to `FULL`.
        case replicaIdentity = "replica_identity"
        /// The logical replication slot.
        case slot

        /// How a person calls it.
        public var noun: String {
            switch self {
            case .schema: return "schema"
            case .table: return "table"
            case .publication: return "publication"
            case .replicaIdentity: return "replica identity of"
            case .slot: return "replication slot"
            }
        }
    }

    /// What sort of object it is.
    public var kind: Kind
    /// The name as SQL writes it: `siphon`, `siphon.objects`, `orders_pub`, `public."Order Items"`, `orders_slot`.
    public var name: String

    public init(kind: Kind, name: String) {
        self.kind = kind
        self.name = name
    }

    public var description: String { "\(self.kind.noun) \(self.name)" }
}

/// What setup or teardown did to one object.
public struct ObjectOutcome: Hashable, Sendable, CustomStringConvertible {
    /// What setup or teardown did.
    public enum Action: String, Hashable, Sendable, CaseIterable {
        /// Setup created it (and recorded it, so teardown removes it).
        case created
        /// Setup found it in place and left it as it was.
        case alreadyExisted = "already_existed"
        /// Teardown removed it.
        case removed
        /// Teardown put the table's replica identity back to what it was before setup.
        case restored
        /// It was recorded, but it was already gone; teardown only forgot the record.
        case alreadyGone = "already_gone"
        /// It was recorded, but teardown left it because removing it would touch what setup did not record.
        case kept
    }

    /// The object concerned.
    public var object: SiphonObject
    /// What happened to it.
    public var action: Action
    /// Why, or what else a person should know (differences of an existing publication, a terminated PID, …).
    public var detail: String?

    public init(object: SiphonObject, action: Action, detail: String? = nil) {
        self.object = object
        self.action = action
        self.detail = detail
    }

    public var description: String {
        let verb: String
        switch self.action {
        case .created: verb = "created"
        case .alreadyExisted: verb = "already existed"
        case .removed: verb = "removed"
        case .restored: verb = "restored"
        case .alreadyGone: verb = "already gone"
        case .kept: verb = "kept"
        }
        return "\(verb): \(self.object)" + (self.detail.map { " (\($0))" } ?? "")
    }

    var json: String {
        "{\"kind\":\(JSONText.string(self.object.kind.rawValue)),\"name\":\(JSONText.string(self.object.name)),"
            + "\"action\":\(JSONText.string(self.action.rawValue)),\"detail\":"
            + (self.detail.map { JSONText.string($0) } ?? "null") + "}"
    }
}
