// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonReplication

extension SiphonAdmin {
    /// The tables `selection` names today, resolved by the rules `setup` uses (only tables a publication can hold,
    /// never Siphon's own, a close match suggested for a misspelled name). Throws the problems it found, as setup
    /// reports them.
    public static func resolveTables(
        _ selection: TableSelection, settings: ConnectionSettings, logger: Logger
    ) async throws -> [TableName] {
        let resolved = try await ServerConnection.withConnection(
            settings: settings, replication: false, logger: logger
        ) { connection in
            let session = AdminSession(connection: connection, logger: logger)
            let server = try await session.serverFacts()
            return ResolvedTables(
                selection, relations: try await session.relations(), serverVersion: server.versionNumber,
                bookkeepingSchema: Self.defaultSchema)
        }
        guard resolved.problems.isEmpty else {
            throw SiphonError(.invalidConfiguration, resolved.problems.joined(separator: "; "))
        }
        return resolved.published.map(\.name)
    }
}
