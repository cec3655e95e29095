// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonReplication

/// An ordinary SQL session (`replication: false`) with typed access to text results and explicit transactions.
struct AdminSession {
    let connection: ServerConnection
    let logger: Logger

    /// Runs one statement and returns its rows with columns addressable by name.
    func rows(_ sql: String) async throws -> [CatalogRow] {
        self.logger.debug("Admin query", metadata: ["sql": "\(sql)"])
        return Self.catalogRows(try await self.connection.simpleQuery(sql))
    }

    private static func catalogRows(_ result: QueryResult) -> [CatalogRow] {
        var positions: [String: Int] = [:]
        for (index, column) in result.columns.enumerated() { positions[column] = index }
        return result.rows.map { CatalogRow(positions: positions, values: $0) }
    }

    /// Runs one statement with `$1`, `$2`, … bound to `parameters` and returns its rows like `rows(_:)`: names
    /// from the user or the catalog are compared as values, never put into SQL text.
    func rows(_ sql: String, parameters: [String?]) async throws -> [CatalogRow] {
        self.logger.debug("Admin query", metadata: ["sql": "\(sql)"])
        return Self.catalogRows(try await self.connection.query(sql, parameters: parameters))
    }

    /// Runs a statement whose result we only need to succeed.
    func execute(_ sql: String) async throws {
        self.logger.debug("Admin statement", metadata: ["sql": "\(sql)"])
        try await self.connection.simpleQuery(sql)
    }

    /// Runs a statement with `$1`, `$2`, … bound to `parameters`, whose result we only need to succeed.
    func execute(_ sql: String, parameters: [String?]) async throws {
        self.logger.debug("Admin statement", metadata: ["sql": "\(sql)"])
        try await self.connection.query(sql, parameters: parameters)
    }

    /// Runs `body` between `BEGIN` and `COMMIT`; any error rolls everything back.
    func transaction<Result>(_ body: () async throws -> Result) async throws -> Result {
        try await self.execute("BEGIN")
        do {
            let result = try await body()
            try await self.execute("COMMIT")
            return result
        } catch {
            try? await self.execute("ROLLBACK")
            throw error
        }
    }
}

/// One row of a catalog query, values as the server's text output.
struct CatalogRow {
    let positions: [String: Int]
    let values: [String?]

    func optionalString(_ column: String) throws -> String? {
        guard let index = self.positions[column], index < self.values.count else {
            throw SiphonError(.protocolViolation, "catalog query returned no column \(column)")
        }
        return self.values[index]
    }

    func string(_ column: String) throws -> String {
        guard let value = try self.optionalString(column) else {
            throw SiphonError(.protocolViolation, "catalog column \(column) is unexpectedly NULL")
        }
        return value
    }

    func bool(_ column: String) throws -> Bool {
        try self.optionalString(column) == "t"
    }

    func int(_ column: String) throws -> Int64 {
        let text = try self.string(column)
        guard let value = Int64(text) else {
            throw SiphonError(.protocolViolation, "catalog column \(column) is not an integer: \(text)")
        }
        return value
    }

    func optionalInt(_ column: String) throws -> Int64? {
        guard try self.optionalString(column) != nil else { return nil }
        return try self.int(column)
    }
}
