// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonReplication

/// What `siphon teardown` removes.
public struct TeardownOptions: Sendable, Hashable {
    /// Terminate the process reading the slot instead of refusing.
    public var force: Bool
    /// The bookkeeping schema setup used.
    public var schema: String

    public init(force: Bool = false, schema: String = SiphonAdmin.defaultSchema) {
        self.force = force
        self.schema = schema
    }
}

/// What `teardown` did to each object setup had recorded.
public struct TeardownReport: Sendable, Hashable, CustomStringConvertible {
    /// One entry per recorded object: slot first, then publication, replica identities, bookkeeping table, schema.
    public var outcomes: [ObjectOutcome]

    public var description: String {
        self.outcomes.isEmpty
            ? "nothing to remove: Siphon's bookkeeping table records no objects in this database"
            : self.outcomes.map(\.description).joined(separator: "\n")
    }

    /// `{"objects":[{"kind","name","action","detail"}…]}` for scripts.
    public var json: String {
        "{\"objects\":[" + self.outcomes.map(\.json).joined(separator: ",") + "]}"
    }
}

extension SiphonAdmin {
    /// Removes exactly the objects `setup` recorded in `<schema>.objects`: the slot, the publication, the
    /// replica identities it changed (restored to what they were), then the bookkeeping table and schema.
    ///
    /// A slot that a process is reading is not removed: the error names the PID, and nothing at all is removed,
    /// unless `force` is set, which terminates that process first. Objects someone already removed are reported as
    /// `alreadyGone`. A schema that holds objects setup did not record is kept (and reported as `kept`).
    public static func teardown(
        _ options: TeardownOptions,
        settings: ConnectionSettings,
        logger: Logger
    ) async throws -> TeardownReport {
        try TableName.validateIdentifier(options.schema, as: "schema")
        return try await ServerConnection.withConnection(settings: settings, replication: false, logger: logger) {
            connection in
            let session = AdminSession(connection: connection, logger: logger)
            let server = try await session.serverFacts()
            let bookkeeping = try await session.bookkeeping(schema: options.schema)
            let remover = ObjectRemover(session: session, bookkeepingTable: bookkeeping.objectsTable, server: server)
            return TeardownReport(outcomes: try await remover.remove(bookkeeping.records, force: options.force))
        }
    }
}

/// Removes recorded objects in dependency order, forgetting each record with its object. Used by teardown, and by
/// setup to undo a run whose slot could not be created.
struct ObjectRemover {
    let session: AdminSession
    let bookkeepingTable: TableName
    let server: ServerFacts

    func remove(_ records: [ObjectRecord], force: Bool) async throws -> [ObjectOutcome] {
        var outcomes: [ObjectOutcome] = []
        let slotRecords = Self.unique(records.filter { $0.kind == .slot })
        var slots: [String: SlotFacts] = [:]
        for record in slotRecords {
            slots[record.name] = try await self.session.slot(
                named: record.name,
                serverVersion: self.server.versionNumber
            )
        }
        if !force, let busy = slotRecords.compactMap({ slots[$0.name] }).first(where: \.isActive) {
            let holder = busy.activePID.map { "PID \($0)" } ?? "another process"
            let application = busy.holderApplication.flatMap { $0.isEmpty ? nil : " (application '\($0)')" } ?? ""
            throw SiphonError(
                .slotUnavailable,
                "replication slot \(busy.name) is in use by \(holder)\(application); nothing was removed. Stop "
                    + "that process and run teardown again, or use --force to terminate it"
            )
        }
        for record in slotRecords {
            guard let slot = slots[record.name] else {
                try await self.forget(record)
                outcomes.append(ObjectOutcome(object: record.object, action: .alreadyGone))
                continue
            }
            var detail: String?
            if slot.isActive, let pid = slot.activePID {
                try await self.terminate(pid, readingSlot: slot.name)
                detail = "terminated PID \(pid), which was reading it"
            }
            try await self.session.execute("SELECT pg_drop_replication_slot($1)", parameters: [slot.name])
            try await self.forget(record)
            outcomes.append(ObjectOutcome(object: record.object, action: .removed, detail: detail))
        }

        let rest = records.filter { $0.kind != .slot }
        guard !rest.isEmpty else { return outcomes }
        let relations = try await self.session.relations()
        let schemaNames = Set(
            try await self.session.rows("SELECT nspname FROM pg_namespace").map { try $0.string("nspname") }
        )
        outcomes += try await self.session.transaction {
            var outcomes: [ObjectOutcome] = []
            for record in Self.unique(rest.filter { $0.kind == .publication }) {
                let exists = try await !self.session.rows(
                    "SELECT 1 FROM pg_publication WHERE pubname = $1", parameters: [record.name]
                ).isEmpty
                if exists { try await self.session.execute("DROP PUBLICATION \(SQLQuoting.identifier(record.name))") }
                try await self.forget(record)
                outcomes.append(ObjectOutcome(object: record.object, action: exists ? .removed : .alreadyGone))
            }
            for record in Self.unique(rest.filter { $0.kind == .replicaIdentity }) {
                outcomes.append(try await self.restoreIdentity(record, relations: relations))
                try await self.forget(record)
            }
            var bookkeepingTableDropped = false
            for record in Self.unique(rest.filter { $0.kind == .table }) {
                guard let table = record.table, relations.contains(where: { $0.name == table }) else {
                    try await self.forget(record)
                    outcomes.append(ObjectOutcome(object: record.object, action: .alreadyGone))
                    continue
                }
                try await self.session.execute("DROP TABLE \(table)")
                if table == self.bookkeepingTable {
                    bookkeepingTableDropped = true
                } else {
                    try await self.forget(record)
                }
                outcomes.append(ObjectOutcome(object: record.object, action: .removed))
            }
            for record in Self.unique(rest.filter { $0.kind == .schema }) {
                guard schemaNames.contains(record.name) else {
                    outcomes.append(ObjectOutcome(object: record.object, action: .alreadyGone))
                    continue
                }
                outcomes.append(try await self.dropSchema(record, forgetIfKept: !bookkeepingTableDropped))
            }
            return outcomes
        }
        return outcomes
    }

    /// Puts back the replica identity setup replaced, unless someone changed it since.
    private func restoreIdentity(
        _ record: ObjectRecord,
        relations: [CatalogRelation]
    ) async throws -> ObjectOutcome {
        guard let table = record.table, let relation = relations.first(where: { $0.name == table }) else {
            return ObjectOutcome(object: record.object, action: .alreadyGone)
        }
        guard relation.replicaIdentity == .full else {
            return ObjectOutcome(
                object: record.object,
                action: .kept,
                detail: "it was changed to \(relation.replicaIdentity) after setup, so teardown leaves it"
            )
        }
        var previous = record.previousIdentity ?? .default
        var detail = "back to \(previous)"
        if case .index(let index) = previous {
            let exists = try await !self.session.rows(
                """
                SELECT 1 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                WHERE i.indrelid = \(relation.oid) AND ic.relname = $1
                """, parameters: [index ?? ""]
            ).isEmpty
            if !exists {
                previous = .default
                detail = "back to DEFAULT, because the index it used before is gone"
            }
        }
        try await self.session.execute("ALTER TABLE \(table) REPLICA IDENTITY \(previous.sql)")
        return ObjectOutcome(object: record.object, action: .restored, detail: detail)
    }

    /// Drops a schema setup created, or keeps it when it holds objects setup did not record (say, dead letters).
    private func dropSchema(_ record: ObjectRecord, forgetIfKept: Bool) async throws -> ObjectOutcome {
        try await self.session.execute("SAVEPOINT siphon_drop_schema")
        do {
            try await self.session.execute("DROP SCHEMA \(SQLQuoting.identifier(record.name))")
            return ObjectOutcome(object: record.object, action: .removed)
        } catch let error as SiphonError where error.serverError?.sqlState == "2BP01" {
            try await self.session.execute("ROLLBACK TO SAVEPOINT siphon_drop_schema")
            if forgetIfKept { try await self.forget(record) }
            let detail = error.serverError?.detail.map { ": " + $0.replacingNewlines() } ?? ""
            return ObjectOutcome(
                object: record.object,
                action: .kept,
                detail: "it holds objects siphon setup did not record\(detail)"
            )
        }
    }

    /// Terminates the process reading a slot and waits until the server has released the slot.
    private func terminate(_ pid: Int64, readingSlot slot: String) async throws {
        _ = try await self.session.rows("SELECT pg_terminate_backend(\(pid))")
        for _ in 0..<200 {
            let facts = try await self.session.slot(named: slot, serverVersion: self.server.versionNumber)
            if facts?.isActive != true { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw SiphonError(
            .slotUnavailable,
            "terminated PID \(pid), but replication slot \(slot) was still in use 10 seconds later; run teardown again"
        )
    }

    /// Deletes every record of this object from the bookkeeping table.
    private func forget(_ record: ObjectRecord) async throws {
        try await self.session.execute(
            """
            DELETE FROM \(self.bookkeepingTable) WHERE kind = $1 AND name = $2
            AND schema_name IS NOT DISTINCT FROM $3
            """, parameters: [record.kind.rawValue, record.name, record.schemaName]
        )
    }

    /// One record per object (a re-created object may have left an older record).
    private static func unique(_ records: [ObjectRecord]) -> [ObjectRecord] {
        var unique: [ObjectRecord] = []
        for record in records where !unique.contains(where: { $0.isSameObject(as: record) }) {
            unique.append(record)
        }
        return unique
    }
}

extension String {
    fileprivate func replacingNewlines() -> String {
        self.split(whereSeparator: \.isNewline).joined(separator: "; ")
    }
}
