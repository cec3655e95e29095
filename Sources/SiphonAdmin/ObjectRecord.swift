// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// One row of the bookkeeping table: an object Siphon created, and for a replica identity what it replaced.
struct ObjectRecord: Hashable, Sendable {
    var kind: SiphonObject.Kind
    /// The schema of a table (`table`, `replicaIdentity`); `nil` for the other kinds.
    var schemaName: String?
    var name: String
    /// For `replicaIdentity`: the identity before setup set `FULL`.
    var previousIdentity: ReplicaIdentity?

    init(kind: SiphonObject.Kind, schemaName: String? = nil, name: String, previousIdentity: ReplicaIdentity? = nil) {
        self.kind = kind
        self.schemaName = schemaName
        self.name = name
        self.previousIdentity = previousIdentity
    }

    init(row: CatalogRow) throws {
        let kindText = try row.string("kind")
        guard let kind = SiphonObject.Kind(rawValue: kindText) else {
            throw SiphonError(.protocolViolation, "unknown object kind '\(kindText)' in Siphon's bookkeeping table")
        }
        self.kind = kind
        self.schemaName = try row.optionalString("schema_name")
        self.name = try row.string("name")
        self.previousIdentity = try row.optionalString("previous_replica_identity").map { code in
            try ReplicaIdentity(code: code, index: try row.optionalString("previous_identity_index"))
        }
    }

    /// The table this record is about, for `table` and `replicaIdentity` records.
    var table: TableName? {
        guard let schemaName else { return nil }
        return TableName(schema: schemaName, self.name)
    }

    var object: SiphonObject {
        switch self.kind {
        case .schema, .publication: return SiphonObject(kind: self.kind, name: SQLQuoting.identifier(self.name))
        case .slot: return SiphonObject(kind: self.kind, name: self.name)
        case .table, .replicaIdentity:
            return SiphonObject(kind: self.kind, name: self.table?.description ?? SQLQuoting.identifier(self.name))
        }
    }

    /// Whether `other` records the same object (a re-created object replaces its old record).
    func isSameObject(as other: ObjectRecord) -> Bool {
        self.kind == other.kind && self.schemaName == other.schemaName && self.name == other.name
    }

    private var previousIdentityCode: String? {
        switch self.previousIdentity {
        case nil: return nil
        case .default: return "d"
        case .nothing: return "n"
        case .full: return "f"
        case .index: return "i"
        }
    }

    private var previousIdentityIndex: String? {
        if case .index(let name) = self.previousIdentity { return name }
        return nil
    }

    /// Replaces any record of the same object with this one. The names and the command line are parameters.
    func insert(into table: TableName, command: String) -> (sql: String, parameters: [String?]) {
        let sql = """
            WITH replaced AS (
                DELETE FROM \(table) WHERE kind = $1 AND name = $3 AND schema_name IS NOT DISTINCT FROM $2
            )
            INSERT INTO \(table) (kind, schema_name, name, previous_replica_identity, previous_identity_index,
                                  created_by)
            VALUES ($1, $2, $3, $4, $5, $6)
            """
        return (
            sql,
            [
                self.kind.rawValue, self.schemaName, self.name, self.previousIdentityCode, self.previousIdentityIndex,
                command,
            ]
        )
    }

    /// Creates the bookkeeping table. Its comment tells a person who finds it what it is for.
    static func createTableSQL(_ table: TableName) -> [String] {
        [
            """
            CREATE TABLE \(table) (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                kind text NOT NULL CHECK (kind IN ('schema', 'table', 'publication', 'replica_identity', 'slot')),
                schema_name text,
                name text NOT NULL,
                previous_replica_identity text CHECK (previous_replica_identity IN ('d', 'n', 'f', 'i')),
                previous_identity_index text,
                created_at timestamptz NOT NULL DEFAULT now(),
                created_by text NOT NULL,
                created_by_role text NOT NULL DEFAULT current_user
            )
            """,
            "COMMENT ON TABLE \(table) IS "
                + SQLQuoting.literal("Objects created by siphon setup; siphon teardown removes exactly these."),
        ]
    }
}
