// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonReplication
import SiphonTrigger

/// The initial copy from a side read through a trigger outbox: each table's rows go into the outbox as reads, so
/// they travel the same ordered path as the changes after them.
///
/// Each table is copied in one transaction that first takes a SHARE lock: writers wait until it commits, so no change
/// commits between the rows read and the triggers' own records, which would otherwise be delivered before the older
/// read and then be overwritten by it. Writes to the table pause for as long as the copy takes.
struct OutboxCopy {
    let direction: SyncDirection
    let tables: [TableName]
    let logger: Logger

    /// Copies unless the target has applied something of this direction already (then it was copied before).
    func runOnce() async throws {
        let key = self.direction.progressKey
        let started = try await ServerConnection.withConnection(
            settings: self.direction.target, replication: false, logger: self.logger
        ) { try await $0.query("SELECT FROM siphon.sync_progress WHERE name = $1", parameters: [key]).rows.count > 0 }
        guard !started else { return }
        let outbox = SQLQuoting.identifier(TriggerCapture.defaultSchema) + "." + SQLQuoting.identifier(self.direction.outbox)
        try await ServerConnection.withConnection(settings: self.direction.source, replication: false, logger: self.logger) {
            connection in
            for name in self.tables {
                guard let table = try await SyncTable.resolve(name, side: "source", on: connection) else {
                    throw SiphonError(.invalidConfiguration, "table \(name) does not exist on the source")
                }
                let keys = table.keyColumns.map(\.name)
                // The key as the triggers record it: the key columns of the row's JSON, names as parameters.
                let key =
                    "jsonb_build_object("
                    + keys.indices.map { "$\($0 + 3)::text, to_jsonb(t) -> $\($0 + 3)::text" }.joined(separator: ", ")
                    + ")"
                try await connection.simpleQuery("BEGIN")
                do {
                    try await connection.simpleQuery("LOCK TABLE \(table.quotedName) IN SHARE MODE")
                    let tag = try await connection.query(
                        "INSERT INTO \(outbox) (op, schema_name, table_name, key, new) "
                            + "SELECT 'read', $1, $2, \(key), to_jsonb(t) FROM \(table.quotedName) AS t",
                        parameters: [name.schema, name.table] + keys
                    ).commandTag
                    try await connection.simpleQuery("COMMIT")
                    self.logger.notice(
                        "Initial copy queued in the outbox",
                        metadata: ["pg.table": "\(name)", "rows": "\(tag.split(separator: " ").last ?? "?")"])
                } catch {
                    _ = try? await connection.simpleQuery("ROLLBACK")
                    throw error
                }
            }
        }
    }
}
