// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonReplication

/// What the role that writes a side must be allowed to do, checked before anything is created: every missing
/// privilege is named with the `GRANT` that gives it, instead of a server error on the first batch.
enum SyncPrivileges {
    /// The replication-origin functions the apply session calls, with their argument types.
    static let originFunctions = [
        "pg_replication_origin_create(text)", "pg_replication_origin_session_setup(text)",
        "pg_replication_origin_xact_setup(pg_lsn, timestamp with time zone)",
    ]
    static let tablePrivileges = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"]

    /// The problems of the connected role on the side `side` (e.g. "target") writing `tables`; empty when it may.
    static func problems(writing tables: [TableName], side: String, on connection: ServerConnection) async throws
        -> [String]
    {
        let functions = Self.originFunctions.enumerated().map { "has_function_privilege($\($0.offset + 1), 'EXECUTE')" }
        // Before PostgreSQL 15 only superusers may set it (GRANT SET ON PARAMETER came with 15).
        let setsReplicationRole =
            connection.serverVersionNumber >= 150000
            ? "has_parameter_privilege('session_replication_role', 'SET')"
            : "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
        let role = try await connection.query(
            """
            SELECT current_user, \(setsReplicationRole),
                CASE WHEN to_regnamespace('siphon') IS NULL THEN has_database_privilege(current_database(), 'CREATE')
                    ELSE has_schema_privilege('siphon', 'USAGE') END,
                \(functions.joined(separator: ", "))
            """, parameters: Self.originFunctions
        ).rows.first ?? []
        let user = SQLQuoting.identifier(role.first.flatMap { $0 } ?? "?")
        var problems: [String] = []
        if role.count > 1, role[1] != "t" {
            problems.append(
                "the \(side) role \(user) may not SET session_replication_role, which keeps the \(side)'s triggers and "
                    + "foreign keys from firing while a batch is applied; as a superuser: GRANT SET ON PARAMETER "
                    + "session_replication_role TO \(user);")
        }
        if role.count > 2, role[2] != "t" {
            problems.append(
                "the \(side) role \(user) may not create the schema siphon (for siphon.sync_progress) or use it; "
                    + "GRANT CREATE ON DATABASE \(SQLQuoting.identifier(connection.settings.database)) TO \(user); "
                    + "or GRANT USAGE, CREATE ON SCHEMA siphon TO \(user);")
        }
        let missingFunctions = Self.originFunctions.indices.filter { role.count > 3 + $0 && role[3 + $0] != "t" }
        if !missingFunctions.isEmpty {
            let names = missingFunctions.map { Self.originFunctions[$0] }
            problems.append(
                "the \(side) role \(user) may not call \(names.joined(separator: ", ")), which tag the sync's writes "
                    + "with its replication origin so they are not sent back; as a superuser: GRANT EXECUTE ON "
                    + "FUNCTION \(names.joined(separator: ", ")) TO \(user);")
        }
        for table in tables {
            let checks = Self.tablePrivileges.enumerated().map { "has_table_privilege($1, $\($0.offset + 2))" }
            let held =
                try await connection.query(
                    "SELECT \(checks.joined(separator: ", ")) WHERE to_regclass($1) IS NOT NULL",
                    parameters: [table.description] + Self.tablePrivileges
                ).rows.first ?? []
            // A table that does not exist yet is created by the sync (or reported missing) elsewhere.
            let missing = zip(Self.tablePrivileges, held).filter { $0.1 != "t" }.map(\.0)
            if !missing.isEmpty {
                problems.append(
                    "the \(side) role \(user) lacks \(missing.joined(separator: ", ")) on \(table); GRANT "
                        + "\(Self.tablePrivileges.joined(separator: ", ")) ON \(table) TO \(user);")
            }
        }
        return problems
    }
}
