// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import NIOCore
import PostgresNIO
import SiphonCore
import SiphonReplication
import SiphonWire
import SiphonTestSupport
import Testing

@Suite struct ServerConnectionTests {
    let logger = Logger(label: "test")

    func settings(user: String = "siphon", password: String? = nil, extra: String = "") throws -> ConnectionSettings {
        let password = try password ?? TestEnvironment.password()
        return try ConnectionSettings(
            url: "postgres://\(user):\(password)@\(TestEnvironment.host()):\(TestEnvironment.port())/"
                + "\(TestEnvironment.database())?sslmode=disable\(extra)",
            environment: [:])
    }

    /// The message for each way of not reaching a server, as libpq words it.
    @Test(arguments: [
        (
            "postgres://siphon@127.0.0.1:1/db?sslmode=disable",
            #"connection to server at "127.0.0.1", port 1 failed: Connection refused. Is the server running on that host and accepting TCP/IP connections?"#
        ),
        ("postgres://siphon@nonexistent.invalid:5432/db?sslmode=disable", #"could not translate host name "nonexistent.invalid" to address: "#),
        (
            "host=/nonexistent/socket/dir port=5432 user=siphon dbname=db",
            #"connection to server on socket "/nonexistent/socket/dir/.s.PGSQL.5432" failed: No such file or directory. Is the server running locally and accepting connections on that socket?"#
        ),
    ])
    func aServerThatCannotBeReachedIsDescribedAsLibpqDoes(url: String, expected: String) async throws {
        let settings = try ConnectionSettings(url: url, environment: [:])
        let error = await #expect(throws: SiphonError.self) {
            try await ServerConnection.withConnection(settings: settings, replication: false, logger: self.logger) { _ in }
        }
        #expect(error?.code == .connectionFailed)
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("SingleConnectionFailure") == false)
    }

    @Test func scramAuthenticationAndIdentifySystem() async throws {
        let identity = try await ServerConnection.withConnection(settings: try self.settings(), logger: self.logger) {
            try await $0.identifySystem()
        }
        #expect(identity.timeline == 1)
        #expect(identity.database == (try TestEnvironment.database()))
        #expect(identity.walPosition > LSN.zero)
    }

    @Test func md5CleartextAndTrustAuthentication() async throws {
        for user in ["siphon_md5", "siphon_cleartext", "siphon_trust"] {
            // Cleartext over an unverified connection only with require_auth listing it (see docs/security.md).
            let settings = try self.settings(
                user: user, password: user == "siphon_trust" ? "" : nil,
                extra: user == "siphon_cleartext" ? "&require_auth=password" : "")
            let result = try await ServerConnection.withConnection(settings: settings, logger: self.logger) {
                try await $0.simpleQuery("SELECT current_user")
            }
            #expect(result.rows == [[user]])
        }
    }

    /// A Ctrl-C cancels the task waiting for an answer; the caller must see cancellation, not a connection failure
    /// (the demo once ended with "cannot connect: CancellationError()" this way).
    @Test func aCancelledWaitForAnAnswerIsCancellationNotAConnectionFailure() async throws {
        let settings = try self.settings()
        let query = Task {
            try await ServerConnection.withConnection(settings: settings, replication: false, logger: self.logger) {
                try await $0.simpleQuery("SELECT pg_sleep(30)")
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        query.cancel()
        await #expect(throws: CancellationError.self) { try await query.value }
    }

    @Test func wrongPasswordIsAnAuthenticationError() async throws {
        let error = await #expect(throws: SiphonError.self) {
            try await ServerConnection.withConnection(
                settings: try self.settings(password: "wrong"), logger: self.logger
            ) { _ in }
        }
        #expect(error?.code == .authenticationFailed)
        #expect(error?.serverError?.sqlState == "28P01")
        #expect(error?.message.contains("password authentication failed for user \"siphon\"") == true)
    }

    @Test func roleWithoutReplicationIsToldHowToGrantIt() async throws {
        let error = await #expect(throws: SiphonError.self) {
            try await ServerConnection.withConnection(
                settings: try self.settings(user: "siphon_norepl"), logger: self.logger
            ) { _ in }
        }
        #expect(error?.code == .authenticationFailed)
        #expect(error?.message.contains("ALTER ROLE siphon_norepl REPLICATION") == true)
    }

    @Test func unknownHostFailsWithConnectionError() async throws {
        let settings = try ConnectionSettings(
            url: "postgres://siphon:x@no-such-host.invalid:5432/db?sslmode=disable&connect_timeout=3", environment: [:])
        let error = await #expect(throws: SiphonError.self) {
            try await ServerConnection.withConnection(settings: settings, logger: self.logger) { _ in }
        }
        #expect(error?.code == .connectionFailed)
        #expect(error?.message.contains("no-such-host.invalid") == true)
        #expect(error?.message.contains(":x@") == false)
    }

    @Test func unixSocketConnection() async throws {
        let directory = try TestEnvironment.value("SIPHON_TEST_SOCKET_DIR")
        let settings = try ConnectionSettings(
            url: nil,
            environment: [
                "PGHOST": directory, "PGPORT": String(try TestEnvironment.port()), "PGUSER": "siphon",
                "PGPASSWORD": try TestEnvironment.password(), "PGDATABASE": try TestEnvironment.database(),
            ])
        let result = try await ServerConnection.withConnection(settings: settings, logger: self.logger) {
            try await $0.simpleQuery("SELECT 1 + 1 AS two")
        }
        #expect(result.columns == ["two"])
        #expect(result.rows == [["2"]])
    }

    @Test func walLevelReplicaIsExplained() async throws {
        let url = try TestEnvironment.value("SIPHON_TEST_REPLICA_URL")
        let error = await #expect(throws: SiphonError.self) {
            try await ServerConnection.withConnection(
                settings: try ConnectionSettings(url: url, environment: [:]), logger: self.logger
            ) { connection in
                _ = try await connection.createReplicationSlot("siphon_never", temporary: true)
            }
        }
        #expect(error?.serverError?.sqlState == "55000")
        #expect(error?.message.contains("set wal_level = logical") == true)
        #expect(error?.message.contains("restart PostgreSQL") == true)
    }

    @Test func streamsPgOutputAndAcknowledgesOnlyWhatWasConfirmed() async throws {
        let table = TestEnvironment.uniqueName("stream")
        let publication = TestEnvironment.uniqueName("pub")
        let slot = TestEnvironment.uniqueName("slot")
        try await TestEnvironment.execute(
            "CREATE TABLE \(table) (id int PRIMARY KEY, note text)", "CREATE PUBLICATION \(publication) FOR TABLE \(table)")
        var kinds: [UInt8] = []
        var commitEnd = LSN.zero
        var confirmed: QueryResult?
        do {
            try await ServerConnection.withConnection(settings: try self.settings(), logger: self.logger) { connection in
                let created = try await connection.createReplicationSlot(slot, temporary: true)
                #expect(created.consistentPoint > LSN.zero)
                #expect(created.plugin == "pgoutput")
                try await TestEnvironment.execute("INSERT INTO \(table) VALUES (1, 'one'), (2, 'two')")
                // Protocol 1 and no logical messages: other tests' large transactions (stream blocks) and heartbeats
                // (non-transactional messages, sent to every slot) must not show up here.
                try await connection.streamChanges(
                    slot: slot, options: PgOutputOptions(publications: [publication], messages: false, protocolVersion: 1)
                ) {
                    stream in
                    while let message = try await stream.next() {
                        guard case .xLogData(let data) = message else { continue }
                        let payload = data.payload
                        let kind = payload.getInteger(at: payload.readerIndex, as: UInt8.self)!
                        kinds.append(kind)
                        if kind == UInt8(ascii: "C") {
                            // Commit: flags (1 byte), commit LSN, end LSN.
                            commitEnd = LSN(rawValue: payload.getInteger(at: payload.readerIndex + 10, as: UInt64.self)!)
                            break
                        }
                    }
                    #expect(stream.acknowledged < commitEnd)
                    try await stream.acknowledge(upTo: commitEnd)
                    #expect(stream.acknowledged == commitEnd)
                }
                confirmed = try await connection.simpleQuery(
                    "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '\(slot)'")
            }
        } catch {
            try await TestEnvironment.execute("DROP PUBLICATION \(publication)", "DROP TABLE \(table)")
            throw error
        }
        try await TestEnvironment.execute("DROP PUBLICATION \(publication)", "DROP TABLE \(table)")
        #expect(kinds == Array("BRIIC".utf8))
        #expect(confirmed?.rows == [[commitEnd.description]])
    }

    @Test func exportedSnapshotCanBeImportedThenTheSlotDropped() async throws {
        let slot = TestEnvironment.uniqueName("slot")
        try await ServerConnection.withConnection(settings: try self.settings(), logger: self.logger) { connection in
            let created = try await connection.createReplicationSlot(slot, snapshot: .export)
            let snapshot = try #require(created.snapshotName)
            // The snapshot lives until the next command on this connection: import it from an ordinary session.
            let imported = try await ServerConnection.withConnection(
                settings: try self.settings(), replication: false, logger: self.logger
            ) { session in
                try await session.simpleQuery(
                    "BEGIN ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT '\(snapshot)'; SELECT 1; COMMIT")
            }
            #expect(imported.commandTag == "COMMIT")
            try await connection.dropReplicationSlot(slot, wait: true)
            let remaining = try await connection.simpleQuery(
                "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '\(slot)'")
            #expect(remaining.rows == [["0"]])
        }
    }

    @Test func unknownPublicationIsReported() async throws {
        let slot = TestEnvironment.uniqueName("slot")
        let table = TestEnvironment.uniqueName("t")
        let error = await #expect(throws: SiphonError.self) {
            try await ServerConnection.withConnection(settings: try self.settings(), logger: self.logger) { connection in
                _ = try await connection.createReplicationSlot(slot, temporary: true)
                try await TestEnvironment.execute(
                    "CREATE TABLE \(table) (id int primary key)", "INSERT INTO \(table) VALUES (1)", "DROP TABLE \(table)")
                try await connection.streamChanges(slot: slot, options: PgOutputOptions(publications: ["no_such_pub"])) {
                    stream in
                    while try await stream.next() != nil {}
                }
            }
        }
        #expect(error?.serverError?.sqlState == "42704")
        #expect(error?.message.contains("publication \"no_such_pub\" does not exist") == true)
    }

    @Test func activeSlotIsReportedAsUnavailable() async throws {
        let slot = TestEnvironment.uniqueName("slot")
        let publication = TestEnvironment.uniqueName("pub")
        try await TestEnvironment.execute("CREATE PUBLICATION \(publication)")
        let settings = try self.settings()
        let options = PgOutputOptions(publications: [publication])
        let error = try await ServerConnection.withConnection(settings: settings, logger: self.logger) { first in
            _ = try await first.createReplicationSlot(slot, temporary: true)
            return try await first.streamChanges(slot: slot, options: options) { _ in
                await #expect(throws: SiphonError.self) {
                    try await ServerConnection.withConnection(settings: settings, logger: self.logger) { second in
                        try await second.streamChanges(slot: slot, options: options) { _ in }
                    }
                }
            }
        }
        try await TestEnvironment.execute("DROP PUBLICATION \(publication)")
        #expect(error?.code == .slotUnavailable)
        #expect(error?.serverError?.sqlState == "55006")
        #expect(error?.message.contains("is active for PID") == true)
    }
}
