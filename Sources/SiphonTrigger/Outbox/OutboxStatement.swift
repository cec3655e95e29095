// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonReplication

/// One statement of the outbox reader with the values it compares against: the group's name and the cursor's
/// snapshots travel as parameters (`$1`, `$2`, …), never as SQL text.
struct OutboxStatement: Sendable, Hashable {
    var sql: String
    var parameters: [String?]
}

extension ServerConnection {
    /// Runs `statement` in one round trip, like `simpleQuery`.
    @discardableResult
    func query(_ statement: OutboxStatement) async throws -> QueryResult {
        try await self.query(statement.sql, parameters: statement.parameters)
    }
}
