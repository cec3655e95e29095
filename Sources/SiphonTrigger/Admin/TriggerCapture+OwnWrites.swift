// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonReplication

extension TriggerCapture {
    /// Runs `body` on a new SQL session whose writes the triggers skip (unless a capture was set up with
    /// `captureOwnWrites`): for handlers that write back to captured tables, e.g. stamping `synced_at`, without
    /// being called again for their own write.
    ///
    /// With another client (PostgresNIO, psql), run `TriggerCapture.markOwnWritesSQL` on its session, or
    /// `SET LOCAL siphon.origin = 'siphon'` inside the transaction, for the same effect. Either counts only when the
    /// session's login role is a member of the role that owns the trigger functions (see `originSetting`):
    /// connect as the role that set capture up, or `GRANT` that role to the one you connect as.
    public static func withOwnWritesSession<Result>(
        settings: ConnectionSettings, logger: Logger, _ body: (ServerConnection) async throws -> Result
    ) async throws -> Result {
        try await ServerConnection.withConnection(settings: settings, replication: false, logger: logger) {
            connection in
            try await connection.simpleQuery(Self.markOwnWritesSQL)
            return try await body(connection)
        }
    }
}
