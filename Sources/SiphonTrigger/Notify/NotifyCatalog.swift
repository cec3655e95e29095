// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonReplication

/// What a notify listener accepts, read from the catalog: per channel, the tables that carry Siphon's triggers for
/// it, and the channel's signing key.
///
/// A notification names its table in text any role can write, so that text is only ever compared with these names;
/// SQL for a table uses the name and key columns the server quoted when this was loaded.
struct NotifyCatalog: Sendable {
    /// A table whose Siphon triggers send changes on a channel.
    struct Table: Sendable, Hashable {
        var name: TableName
        /// `schema.table` as the server quotes it (`format('%I.%I')`).
        var quotedName: String
        /// Column names in table order.
        var columns: [String]
        /// The key columns (the replica identity index's, else the primary key's, as the trigger's); empty when the
        /// whole row is the key.
        var key: [String]
        /// `key`, each quoted by the server.
        var quotedKey: [String]

        /// The statement that reads the current row whose key is `$1` (a JSON object of exactly the key columns,
        /// or the whole row for a table without key). The key is a parameter, so nothing in it is SQL.
        var fetchSQL: String {
            guard !self.quotedKey.isEmpty else {
                return "SELECT to_jsonb(t) FROM \(self.quotedName) AS t WHERE to_jsonb(t) = $1::jsonb LIMIT 1"
            }
            let match = self.quotedKey.map { "t.\($0) = k.\($0)" }.joined(separator: " AND ")
            return "SELECT to_jsonb(t) FROM \(self.quotedName) AS t, "
                + "jsonb_populate_record(NULL::\(self.quotedName), $1::jsonb) AS k WHERE \(match)"
        }
    }

    /// Whether a channel's notifications must carry a valid signature.
    enum Authentication: Sendable, Hashable {
        /// The channel has this key: anything unsigned or signed otherwise is a forgery.
        case signed(key: [UInt8])
        /// Set up before keys existed (or the key was deleted): payloads are accepted unsigned.
        case unsigned
    }

    private(set) var tables: [String: [TableName: Table]] = [:]
    private(set) var authentication: [String: Authentication] = [:]

    init() {}

    /// The configured table `name` on `channel`, or `nil` when no Siphon trigger sends its changes there.
    func table(_ name: TableName, channel: String) -> Table? { self.tables[channel]?[name] }

    /// Reads the tables and keys of `channels` (names already validated) whose trigger function lives in `schema`.
    ///
    /// Fails with the fix when the role may not read the keys: accepting unsigned payloads then would let anyone
    /// forge changes.
    static func load(
        channels: [String], schema: String, connection: ServerConnection
    ) async throws -> NotifyCatalog {
        var catalog = NotifyCatalog()
        let anyChannel = NotifyNames(schema: schema, channel: channels.first ?? "")
        var channelOfTrigger: [String: String] = [:]
        for channel in channels {
            let names = NotifyNames(schema: schema, channel: channel)
            for event in TriggerEvent.allCases { channelOfTrigger[names.trigger(event)] = channel }
            catalog.tables[channel] = [:]
        }
        let triggerNames = channelOfTrigger.keys.sorted()
        let triggers = try await connection.query(
            """
            SELECT DISTINCT c.oid, n.nspname, c.relname, format('%I.%I', n.nspname, c.relname), c.relreplident,
                   t.tgname
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE t.tgfoid = to_regprocedure($1)
                AND t.tgname IN (\(ServerConnection.placeholders(from: 2, count: triggerNames.count)))
            """, parameters: [anyChannel.function + "()"] + triggerNames
        ).rows
        var rows: [String: TriggerCatalog.TableRow] = [:]
        var quotedNames: [String: String] = [:]
        var channelsOfTable: [String: Set<String>] = [:]
        for row in triggers {
            guard let oid = row[0], let schemaName = row[1], let table = row[2], let quoted = row[3],
                let trigger = row[5], let channel = channelOfTrigger[trigger]
            else { continue }
            rows[oid] = TriggerCatalog.TableRow(
                oid: oid, name: TableName(schema: schemaName, table), replicaIdentity: row[4] ?? "d",
                isPartition: false, mayCreateTriggers: true)
            quotedNames[oid] = quoted
            channelsOfTable[oid, default: []].insert(channel)
        }
        let oids = rows.keys.sorted()
        var columns: [String: [(name: String, quoted: String)]] = [:]
        if !oids.isEmpty {
            let result = try await connection.simpleQuery(
                """
                SELECT a.attrelid, a.attname, quote_ident(a.attname) FROM pg_attribute a
                WHERE a.attrelid IN (\(oids.joined(separator: ", "))) AND a.attnum > 0 AND NOT a.attisdropped
                ORDER BY a.attrelid, a.attnum
                """)
            for row in result.rows {
                columns[row[0] ?? "", default: []].append((row[1] ?? "", row[2] ?? ""))
            }
        }
        let keys = try await TriggerCatalog(connection: connection).keys(of: oids.compactMap { rows[$0] })
        for oid in oids {
            guard let row = rows[oid], let quotedName = quotedNames[oid] else { continue }
            let tableColumns = columns[oid] ?? []
            let key = keys[oid]?.columns ?? []
            let quoted = Dictionary(tableColumns.map { ($0.name, $0.quoted) }, uniquingKeysWith: { first, _ in first })
            let table = Table(
                name: row.name, quotedName: quotedName, columns: tableColumns.map(\.name), key: key,
                quotedKey: key.compactMap { quoted[$0] })
            for channel in channelsOfTable[oid] ?? [] { catalog.tables[channel]?[row.name] = table }
        }
        try await catalog.loadKeys(channels: channels, names: anyChannel, connection: connection)
        return catalog
    }

    private mutating func loadKeys(
        channels: [String], names: NotifyNames, connection: ServerConnection
    ) async throws {
        for channel in channels { self.authentication[channel] = .unsigned }
        let present = try await connection.query(
            "SELECT to_regclass($1) IS NOT NULL, has_table_privilege(to_regclass($1), 'SELECT'), current_user",
            parameters: [names.keysTable])
        guard present.rows.first?[0] == "t" else { return }
        guard present.rows.first?[1] == "t" else {
            let role = present.rows.first?[2].flatMap { $0 } ?? connection.settings.user
            throw SiphonError(
                .invalidConfiguration,
                "role \(role) may not read \(names.keysTable), which holds the keys that authenticate change "
                    + "notifications. Fix: run siphon listen as the role that ran setup (it owns that table), or "
                    + "GRANT SELECT ON \(names.keysTable) TO \(SQLQuoting.identifier(role)); (whoever can read it "
                    + "can forge changes)")
        }
        let result = try await connection.query(
            "SELECT channel, encode(key, 'hex') FROM \(names.keysTable) "
                + "WHERE channel IN (\(ServerConnection.placeholders(from: 1, count: channels.count)))",
            parameters: channels)
        for row in result.rows {
            guard let channel = row[0], let hex = row[1], let key = NotificationSignature.bytes(fromHex: Array(hex.utf8))
            else { continue }
            self.authentication[channel] = .signed(key: key)
        }
    }
}
