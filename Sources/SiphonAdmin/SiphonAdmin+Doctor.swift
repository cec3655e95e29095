// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonReplication

/// What `siphon doctor` checks besides the server: the slot, publication and tables Siphon is configured for.
public struct DoctorOptions: Sendable, Hashable {
    /// The slot to check; `nil` skips the slot checks.
    public var slot: String?
    /// The publication to check; `nil` skips the publication checks.
    public var publication: String?
    /// The configured tables; `nil` checks the tables the publication publishes.
    public var tables: TableSelection?
    /// The bookkeeping schema (its own table is never counted as a captured table).
    public var schema: String

    public init(
        slot: String? = nil,
        publication: String? = nil,
        tables: TableSelection? = nil,
        schema: String = SiphonAdmin.defaultSchema
    ) {
        self.slot = slot
        self.publication = publication
        self.tables = tables
        self.schema = schema
    }
}

extension SiphonAdmin {
    /// Checks every precondition of `siphon run` and says how to fix each one that fails. Never throws: a failed
    /// connection or login is itself a failed check.
    public static func doctor(
        _ options: DoctorOptions,
        settings: ConnectionSettings,
        logger: Logger
    ) async -> DoctorReport {
        do {
            return try await ServerConnection.withConnection(
                settings: settings,
                replication: false,
                queryTimeout: ServerConnection.sideQueryTimeout,
                logger: logger
            ) { connection in
                let session = AdminSession(connection: connection, logger: logger)
                do {
                    let server = try await session.serverFacts()
                    let connected = DoctorReport.Check(
                        name: "connection",
                        status: .ok,
                        message: "connected to \(settings) as \(SQLQuoting.identifier(server.role))"
                    )
                    let facts = DoctorFacts(
                        server: server,
                        relations: try await session.relations(),
                        slot: try await options.slot.asyncMap {
                            try await session.slot(named: $0, serverVersion: server.versionNumber)
                        } ?? nil,
                        publication: try await options.publication.asyncMap {
                            try await session.publication(named: $0, serverVersion: server.versionNumber)
                        } ?? nil,
                        snapshots: try await options.slot.asyncMap { try await session.snapshots(ofSlot: $0) } ?? []
                    )
                    return DoctorReport(checks: [connected] + DoctorChecks(options: options, facts: facts).evaluate())
                } catch {
                    return DoctorReport(checks: [
                        DoctorReport.Check(
                            name: "connection",
                            status: .error,
                            message: "connected to \(settings), but reading the catalog failed: \(error)",
                            fix: "connect as a role that may read pg_catalog and pg_settings"
                        )
                    ])
                }
            }
        } catch {
            return DoctorReport(checks: [Self.connectionCheck(error, settings: settings)])
        }
    }

    /// A failed connection as a check, with the fix for the usual causes.
    static func connectionCheck(_ error: any Error, settings: ConnectionSettings) -> DoctorReport.Check {
        let siphonError = error as? SiphonError
        let user = SQLQuoting.identifier(settings.user)
        let fix: String
        switch siphonError?.serverError?.sqlState {
        case "28P01":
            fix =
                "use the right password in the connection URL or PGPASSWORD; a superuser can set a new one: "
                + "ALTER ROLE \(user) PASSWORD '<new password>';"
        case "28000":
            fix =
                "allow \(user) in the server's pg_hba.conf (e.g. host \(settings.database) \(settings.user) "
                + "<client address>/32 scram-sha-256), then SELECT pg_reload_conf();"
        case "3D000":
            fix = "fix the database name in the URL, or: CREATE DATABASE \(SQLQuoting.identifier(settings.database));"
        default:
            fix =
                "check that PostgreSQL runs at \(settings) and accepts connections there (listen_addresses and port "
                + "in postgresql.conf, pg_hba.conf, firewalls)"
        }
        return DoctorReport.Check(
            name: "connection",
            status: .error,
            message: Self.cannotConnect(siphonError?.message ?? "\(error)"),
            fix: fix
        )
    }
}

extension SiphonAdmin {
    /// A connection failure already says it could not connect; a server's refusal (a password, a database) does not.
    static func cannotConnect(_ message: String) -> String {
        message.hasPrefix("cannot connect") ? message : "cannot connect: " + message
    }
}

extension Optional {
    fileprivate func asyncMap<Mapped>(_ transform: (Wrapped) async throws -> Mapped) async rethrows -> Mapped? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
