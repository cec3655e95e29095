// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import SiphonCore
@testable import SiphonReplication
import SiphonTestSupport
import Testing

/// A server in the middle, and servers that stop answering, against the real client code.
@Suite struct ConnectionSecurityTests {
    let logger = Logger(label: "test")
    static let password = "Sup3rSecret-never-on-the-wire"

    /// Connects to the fake server and returns the error; stops the server after `hangGuard` so a client that would
    /// wait forever fails instead of hanging the test run (a guard, not a timing assertion).
    func connectionError(
        to server: FakePostgresServer, query: String, hangGuard: Duration = .seconds(60),
        queryTimeout: Duration? = nil, _ body: @escaping (ServerConnection) async throws -> Void = { _ in }
    ) async throws -> SiphonError? {
        let guardTask = Task {
            try await Task.sleep(for: hangGuard)
            await server.stop()
        }
        defer { guardTask.cancel() }
        let settings = try ConnectionSettings(
            url: "postgres://siphon:\(Self.password)@127.0.0.1:\(server.port)/db?\(query)", environment: [:])
        do {
            try await ServerConnection.withConnection(
                settings: settings, replication: false, queryTimeout: queryTimeout, logger: self.logger, body)
            return nil
        } catch let error as SiphonError {
            return error
        }
    }

    @Test(arguments: ["sslmode=prefer", "sslmode=disable"])
    func cleartextPasswordRequestOverPlainTCPIsRefused(query: String) async throws {
        let server = try await FakePostgresServer.start(.askForCleartextPassword)
        defer { Task { await server.stop() } }
        let error = try await self.connectionError(to: server, query: query)
        #expect(error?.code == .authenticationFailed)
        #expect(error?.message.contains("cleartext") == true, "\(error?.message ?? "no error")")
        #expect(!server.contains(Self.password))
        #expect(server.contains("siphon"), "the fake server must have seen the startup message")
    }

    @Test func cleartextPasswordRequestOverUnverifiedTLSIsRefused() async throws {
        let server = try await FakePostgresServer.start(.askForCleartextPassword, tls: true)
        defer { Task { await server.stop() } }
        let error = try await self.connectionError(to: server, query: "sslmode=require")
        #expect(error?.code == .authenticationFailed)
        #expect(error?.message.contains("cleartext") == true, "\(error?.message ?? "no error")")
        #expect(!server.contains(Self.password))
        #expect(server.contains("siphon"), "the fake server must have seen the (decrypted) startup message")
    }

    @Test func successWithoutTheSCRAMServerSignatureIsRefused() async throws {
        let server = try await FakePostgresServer.start(.succeedAfterFirstSCRAMMessage)
        defer { Task { await server.stop() } }
        var ran = false
        let error = try await self.connectionError(to: server, query: "sslmode=disable") { _ in ran = true }
        #expect(!ran)
        #expect(error?.code == .authenticationFailed)
        #expect(error?.message.contains("before proving it knows the password") == true, "\(error?.message ?? "no error")")
    }

    @Test(arguments: ["sslmode=prefer", "sslmode=disable"])
    func serverThatAcceptsAndNeverAnswersTimesOut(query: String) async throws {
        let server = try await FakePostgresServer.start(.silent)
        defer { Task { await server.stop() } }
        let error = try await self.connectionError(to: server, query: query + "&connect_timeout=1")
        #expect(error?.code == .connectionFailed)
        #expect(error?.message.contains("stopped answering during TLS, startup or authentication (connect_timeout=1 s)") == true,
            "\(error?.message ?? "no error")")
    }

    @Test func queryToAServerThatStoppedAnsweringTimesOut() async throws {
        let server = try await FakePostgresServer.start(.readyThenSilent)
        defer { Task { await server.stop() } }
        let error = try await self.connectionError(to: server, query: "sslmode=disable", queryTimeout: .seconds(1)) {
            _ = try await $0.simpleQuery("SELECT 1")
        }
        #expect(error?.code == .connectionFailed)
        #expect(error?.message.contains("left a command unanswered for 1") == true, "\(error?.message ?? "no error")")
    }

    // MARK: The real server

    func realSettings(_ query: String) throws -> ConnectionSettings {
        try ConnectionSettings(
            url: "postgres://siphon:\(try TestEnvironment.password())@localhost:\(try TestEnvironment.port())/"
                + "\(try TestEnvironment.database())?\(query)",
            environment: [:])
    }

    @Test(arguments: ["sslmode=require", "sslmode=verify-full"])
    func requiredChannelBindingAuthenticatesOverTLS(mode: String) async throws {
        let ca = try TestEnvironment.value("SIPHON_TEST_CA_FILE")
        let settings = try self.realSettings("\(mode)&sslrootcert=\(ca)&channel_binding=require&require_auth=scram-sha-256")
        let ssl = try await ServerConnection.withConnection(settings: settings, replication: false, logger: self.logger) {
            try await $0.simpleQuery("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()").rows
        }
        #expect(ssl == [["true"]])
    }

    @Test func tcpKeepalivesAreOnWithLibpqsKnobs() async throws {
        for (query, expected) in [("", [1, 60, 10, 6]), ("&keepalives_idle=30&keepalives_interval=5&keepalives_count=3", [1, 30, 5, 3])] {
            let settings = try self.realSettings("sslmode=disable" + query)
            let options = try await ServerConnection.withConnection(settings: settings, replication: false, logger: self.logger) {
                connection in
                var values: [Int] = []
                for option in [
                    ChannelOptions.socketOption(.so_keepalive), .tcpOption(.init(rawValue: TCP_KEEPIDLE)),
                    .tcpOption(.init(rawValue: TCP_KEEPINTVL)), .tcpOption(.init(rawValue: TCP_KEEPCNT)),
                ] {
                    values.append(Int(try await connection.channel.getOption(option).get()))
                }
                return values
            }
            #expect(options == expected, "\(query)")
        }
    }

    @Test func requiredChannelBindingWithoutTLSFailsClearly() async throws {
        let error = await #expect(throws: SiphonError.self) {
            try await ServerConnection.withConnection(
                settings: try self.realSettings("sslmode=disable&channel_binding=require"), logger: self.logger
            ) { _ in }
        }
        #expect(error?.code == .authenticationFailed)
        #expect(error?.message.contains("channel_binding=require needs TLS") == true, "\(error?.message ?? "")")
    }
}
