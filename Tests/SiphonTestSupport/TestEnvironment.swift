// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import Logging
import PostgresNIO

/// Where the throwaway test cluster lives. `scripts/test` starts it and exports these variables.
///
/// A test that needs the database and finds no URL fails; it never skips, or CI would stay green with nothing tested.
public enum TestEnvironment {
    public struct MissingDatabase: Error, CustomStringConvertible {
        public let variable: String
        public var description: String {
            "\(self.variable) is not set: run the tests with scripts/test, which starts a throwaway PostgreSQL cluster"
        }
    }

    public static func value(_ variable: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else {
            throw MissingDatabase(variable: variable)
        }
        return value
    }

    /// URL of the `wal_level=logical` cluster, as the superuser-and-REPLICATION role `siphon`.
    public static func url() throws -> String { try value("SIPHON_TEST_URL") }
    /// URL of the second `wal_level=logical` cluster (database `siphon_test`, role `siphon`): the other side of sync.
    public static func targetURL() throws -> String { try value("SIPHON_TEST_TARGET_URL") }
    public static func host() throws -> String { try value("SIPHON_TEST_HOST") }
    public static func port() throws -> Int { Int(try value("SIPHON_TEST_PORT"))! }
    public static func password() throws -> String { try value("SIPHON_TEST_PASSWORD") }
    public static func database() throws -> String { try value("SIPHON_TEST_DATABASE") }

    /// A PostgresNIO client configuration for ordinary SQL on the logical cluster as `siphon`.
    public static func clientConfiguration(user: String = "siphon") throws -> PostgresClient.Configuration {
        PostgresClient.Configuration(
            host: try host(), port: try port(), username: user, password: try password(),
            database: try database(), tls: .disable)
    }

    /// Runs `body` with a connected PostgresNIO client, shutting it down afterwards.
    public static func withClient<Result: Sendable>(
        _ body: (PostgresClient) async throws -> Result
    ) async throws -> Result {
        let client = PostgresClient(configuration: try clientConfiguration(), backgroundLogger: Logger(label: "test"))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            do {
                return try await body(client)
            } catch let error as PSQLError {
                throw DatabaseError(description: String(reflecting: error))
            }
        }
    }

    /// A failed statement with the server's message: `PSQLError`'s own description leaves it out on purpose.
    public struct DatabaseError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs each statement on the logical cluster as `siphon`, in order, each in its own implicit transaction.
    public static func execute(_ statements: String...) async throws {
        try await withClient { client in
            for statement in statements {
                try await client.query(PostgresQuery(unsafeSQL: statement))
            }
        }
    }

    /// A short random suffix for per-test schemas, slots and publications, so tests can run in parallel.
    public static func uniqueName(_ prefix: String) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return prefix + "_" + String((0..<10).map { _ in alphabet.randomElement()! })
    }
}
