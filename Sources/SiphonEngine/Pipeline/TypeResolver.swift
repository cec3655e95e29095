// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonPgOutput
import SiphonReplication

/// Fills the renderer's type catalog from the server, outside the decoder: once before streaming for the published
/// tables, then for any type a later Relation message brings (a column added with a new enum, say).
struct TypeResolver {
    let settings: ConnectionSettings
    let logger: Logger

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
    func preload(connection: ReplicationConnection, publications: [String]) async throws -> Preloaded {
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
        let rows = try await ReplicationConnection.withConnection(
            settings: self.settings, replication: false, queryTimeout: ReplicationConnection.sideQueryTimeout,
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

    /// Looks up types of `relation` the renderer does not know yet, on a separate SQL connection (the replication
    /// connection is busy streaming).
    func resolve(_ relation: PgOutputMessage.Relation, into renderer: inout ValueRenderer) async throws {
        let missing = relation.columns.map(\.typeOID).filter(renderer.catalog.needsLookup)
        guard !missing.isEmpty else { return }
        self.logger.debug(
            "Looking up column types", metadata: ["pg.relation": "\(relation.namespace).\(relation.name)", "types": "\(missing)"])
        let rows = try await ReplicationConnection.withConnection(
            settings: self.settings, replication: false, queryTimeout: ReplicationConnection.sideQueryTimeout,
            logger: self.logger
        ) { connection in
            try await connection.simpleQuery(TypeCatalog.lookupSQL(for: missing)).rows
        }
        renderer.catalog.add(try Self.entries(rows))
    }

    private static func entries(_ rows: [[String?]]) throws -> [TypeCatalog.Entry] {
        do {
            return try TypeCatalog.entries(fromLookupRows: rows)
        } catch {
            throw SiphonError(.decodingFailed, "cannot read the server's type catalog: \(error)", underlying: error)
        }
    }
}
