// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// What the replication stream has said about tables and types, built only from Relation and Type messages.
///
/// pgoutput describes a table before its first change in a session and again after its schema changes, so the
/// stream itself always says how to read the next change. The catalog is never asked: it shows the schema as it
/// is now, not as it was when the change was made.
public struct RelationCache: Sendable {
    private var relations: [UInt32: PgOutputMessage.Relation] = [:]
    private var types: [UInt32: PgOutputMessage.TypeDefinition] = [:]

    public init() {}

    /// The latest description of the relation with this OID, if the stream has sent one.
    public subscript(oid: UInt32) -> PgOutputMessage.Relation? {
        self.relations[oid]
    }

    /// The latest Type message for this type OID, if the stream has sent one.
    public func type(oid: UInt32) -> PgOutputMessage.TypeDefinition? {
        self.types[oid]
    }

    /// How many relations are known.
    public var relationCount: Int { self.relations.count }

    /// Records a Relation message, replacing any earlier description of the same OID.
    public mutating func record(_ relation: PgOutputMessage.Relation) {
        var relation = relation
        relation.xid = nil
        self.relations[relation.oid] = relation
    }

    /// Records a Type message, replacing any earlier one for the same OID.
    public mutating func record(_ type: PgOutputMessage.TypeDefinition) {
        var type = type
        type.xid = nil
        self.types[type.oid] = type
    }

    /// Records everything `newer` knows, replacing what this cache knew about the same OIDs.
    public mutating func record(contentsOf newer: RelationCache) {
        self.relations.merge(newer.relations) { _, newer in newer }
        self.types.merge(newer.types) { _, newer in newer }
    }
}
