// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonPgOutput
import SiphonReplication

/// Fills the renderer's type catalog from the server, outside the decoder: once before streaming for the published
/// tables, then for the column types of every later Relation message (a column added with a new enum, say).
///
/// Types created by a transaction that is still running are invisible to the separate connection the lookups use.
/// pgoutput sends such a transaction before it commits only when it streams it (protocol 2); its changes are held
/// until the Stream Commit, and if the types are visible by then the session restarts (``TypeRestart``) so that
/// the transaction is decoded again and rendered with them.
struct TypeResolver {
    let settings: ConnectionSettings
    let logger: Logger
    /// Column types the catalog could not show yet, by the streamed transaction that created them.
    private var invisibleUntilCommit: [UInt32: Set<UInt32>] = [:]

    init(settings: ConnectionSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// What preloading found: a renderer that knows every type the published tables use, and whether all of them
    /// render the same from the binary format.
    struct Preloaded {
        var renderer: ValueRenderer
        var binarySafe: Bool
        /// Types that only render right from text, for the log.
        var textOnlyTypes: [String]
    }

    /// Looks up the types of every column of the published tables, on the connection before it starts streaming.
    func preload(connection: ServerConnection, publications: [String]) async throws -> Preloaded {
        let names = publications.map { SQLQuoting.literal($0) }.joined(separator: ", ")
        let columns = try await connection.simpleQuery(
            """
            SELECT DISTINCT a.atttypid, format_type(a.atttypid, NULL)
            FROM pg_publication_tables p
            JOIN pg_namespace n ON n.nspname = p.schemaname
            JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE p.pubname IN (\(names))
            """)
        let types = columns.rows.compactMap { row -> (UInt32, String)? in
            guard let oid = row[0].flatMap({ UInt32($0) }) else { return nil }
            return (oid, row[1] ?? "\(oid)")
        }
        var renderer = ValueRenderer()
        let missing = types.map(\.0).filter(renderer.catalog.needsLookup)
        if !missing.isEmpty {
            let rows = try await connection.simpleQuery(TypeCatalog.lookupSQL(for: missing)).rows
            renderer.catalog.add(try Self.entries(rows))
        }
        let textOnly = types.filter { !renderer.catalog.supportsBinaryFormat($0.0) }.map(\.1)
        return Preloaded(renderer: renderer, binarySafe: textOnly.isEmpty, textOnlyTypes: textOnly)
    }

    /// The primary key columns of a table with `REPLICA IDENTITY FULL`, whose Relation message flags every column as
    /// key; `nil` for other tables (their key flags already are the key) or a table without a primary key.
    func primaryKey(of relation: PgOutputMessage.Relation) async throws -> [String]? {
        guard relation.replicaIdentity == .full else { return nil }
        let rows = try await ServerConnection.withConnection(
            settings: self.settings, replication: false, queryTimeout: ServerConnection.sideQueryTimeout,
            logger: self.logger
        ) { connection in
            try await connection.simpleQuery(
                """
                SELECT a.attname FROM pg_index i
                JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                WHERE i.indrelid = \(relation.oid) AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)
                """
            ).rows
        }
        let names = rows.compactMap { $0.first ?? nil }
        return names.isEmpty ? nil : names
    }

    /// Brings the renderer's catalog up to date with a Relation message (pgoutput sends the Type messages of its
    /// column types just before it), on a separate SQL connection (the replication connection is busy streaming).
    ///
    /// Every non-built-in column type is looked up again, so an `ALTER TYPE` made while running is seen. Throws
    /// ``TypeRestart`` when the session cannot render the relation right: a binary stream met a type that only
    /// renders right from text. Types the lookup cannot see yet were created by the streamed transaction
    /// `streamedTransaction`, which has not committed; they are looked up again at its commit.
    mutating func relationArrived(
        _ relation: PgOutputMessage.Relation,
        streamedTransaction: UInt32?,
        binary: Bool,
        into renderer: inout ValueRenderer
    ) async throws {
        let wanted = Set(relation.columns.map(\.typeOID).filter { !TypeCatalog.isBuiltin($0) })
        let invisible = try await self.lookUp(wanted, into: &renderer)
        if let xid = streamedTransaction, !invisible.isEmpty {
            self.invisibleUntilCommit[xid, default: []].formUnion(invisible)
        }
        let textOnly = relation.columns.filter {
            !invisible.contains($0.typeOID) && !renderer.catalog.supportsBinaryFormat($0.typeOID)
        }
        if binary && !textOnly.isEmpty {
            throw TypeRestart(
                reason: "columns \(textOnly.map(\.name)) of \(relation.namespace).\(relation.name) only render right "
                    + "from the text format",
                needsTextFormat: true)
        }
    }

    /// A streamed transaction is about to be emitted: the types it created are committed now. When the lookup finds
    /// any it could not see while the transaction ran, its held changes rendered them wrong: throws ``TypeRestart``
    /// so that the transaction is decoded again, with them known.
    mutating func streamedTransactionCommitting(
        _ xid: UInt32,
        binary: Bool,
        into renderer: inout ValueRenderer
    ) async throws {
        guard let pending = self.invisibleUntilCommit.removeValue(forKey: xid) else { return }
        let stillInvisible = try await self.lookUp(pending, into: &renderer)
        let found = pending.subtracting(stillInvisible)
        // Types dropped since cannot be looked up any more; their values stay rendered as the server sent them.
        guard !found.isEmpty else { return }
        throw TypeRestart(
            reason: "transaction \(xid) created types \(found.sorted()) that were not visible while it was streamed",
            needsTextFormat: binary && !found.allSatisfy(renderer.catalog.supportsBinaryFormat))
    }

    /// A streamed transaction was rolled back: the types it created never existed.
    mutating func streamedTransactionAborted(_ xid: UInt32) {
        self.invisibleUntilCommit[xid] = nil
    }

    /// Looks up `oids` and adds what the server knows; returns the OIDs its catalog does not show (created by a
    /// transaction still running, or dropped since).
    private func lookUp(_ oids: Set<UInt32>, into renderer: inout ValueRenderer) async throws -> Set<UInt32> {
        guard !oids.isEmpty else { return [] }
        self.logger.debug("Looking up column types", metadata: ["types": "\(oids.sorted())"])
        let rows = try await ServerConnection.withConnection(
            settings: self.settings, replication: false, queryTimeout: ServerConnection.sideQueryTimeout,
            logger: self.logger
        ) { connection in
            try await connection.simpleQuery(TypeCatalog.lookupSQL(for: oids.sorted())).rows
        }
        let entries = try Self.entries(rows)
        renderer.catalog.add(entries)
        return oids.subtracting(entries.map(\.oid))
    }

    private static func entries(_ rows: [[String?]]) throws -> [TypeCatalog.Entry] {
        do {
            return try TypeCatalog.entries(fromLookupRows: rows)
        } catch {
            throw SiphonError(.decodingFailed, "cannot read the server's type catalog: \(error)", underlying: error)
        }
    }
}

/// Ends a replication session so that the pipeline starts a new one at once, from the last acknowledged position:
/// the stream just described types that this session cannot render right.
///
/// Binary or text is chosen once per `START_REPLICATION`, so a binary stream that meets a column type which only
/// renders right from text (`regclass` sends only an OID in binary) continues in text, for good. Nothing delivered
/// is lost; what was delivered but not yet acknowledged (part of a transaction larger than a batch) comes again,
/// with the same change ids.
struct TypeRestart: Error, CustomStringConvertible {
    var reason: String
    /// The next sessions must ask for the text format.
    var needsTextFormat: Bool

    var description: String { self.reason }
}
