// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonReplication

/// Parks changes that a sink kept refusing in `siphon.dead_letters`, with the error, for a person to look at.
///
/// The table lives in ``ChangeFilter/ownSchema``, so its own changes are never delivered (or parked) again.
struct DeadLetterStore: Sendable {
    let settings: ConnectionSettings
    let logger: Logger

    /// One row per parked change and sink, with the change as Siphon's envelope and the last error.
    static let createTableSQL = OwnTable.createSQL(
        "dead_letters",
        columns: """
            id bigserial PRIMARY KEY, change_id text NOT NULL, sink text NOT NULL, schema_name text NOT NULL,
            table_name text NOT NULL, operation text NOT NULL, change jsonb NOT NULL, error text NOT NULL,
            attempts int NOT NULL, parked_at timestamptz NOT NULL DEFAULT now(), UNIQUE (change_id, sink)
            """)

    func park(_ change: Change, sink: String, error: any Error, attempts: Int) async throws {
        var json = ""
        ChangeEnvelope.append(change, format: .siphon, to: &json)
        // The change and the error are attacker text: they travel as parameters, never as SQL.
        let insert = """
            INSERT INTO siphon.dead_letters (change_id, sink, schema_name, table_name, operation, change, error, attempts)
            VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)
            ON CONFLICT (change_id, sink) DO UPDATE SET error = EXCLUDED.error, attempts = EXCLUDED.attempts,
                parked_at = now()
            """
        let parameters: [String?] = [
            change.id.description, sink, change.schema, change.table, change.operation.rawValue, json, "\(error)",
            String(attempts),
        ]
        try await ServerConnection.withConnection(
            settings: self.settings, replication: false, queryTimeout: ServerConnection.sideQueryTimeout,
            logger: self.logger
        ) {
            connection in
            try await connection.simpleQuery(Self.createTableSQL)
            try await connection.query(insert, parameters: parameters)
        }
        self.logger.error(
            "Change parked as a dead letter",
            metadata: ["change.id": "\(change.id)", "sink.name": "\(sink)", "error": "\(error)"])
    }
}
