// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonReplication
import SiphonTestSupport
import Testing

/// The test cluster runs with a certificate for the name `localhost` only, signed by a CA the script made.
@Suite struct TLSConnectionTests {
    let logger = Logger(label: "test")

    func settings(host: String, query: String) throws -> ConnectionSettings {
        try ConnectionSettings(
            url: "postgres://siphon:\(try TestEnvironment.password())@\(host):\(try TestEnvironment.port())/"
                + "\(try TestEnvironment.database())?\(query)",
            environment: [:])
    }

    func sslInUse(_ settings: ConnectionSettings) async throws -> String? {
        try await ServerConnection.withConnection(settings: settings, logger: self.logger) {
            try await $0.simpleQuery("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()").rows.first?.first ?? nil
        }
    }

    @Test func requireEncryptsTheConnection() async throws {
        #expect(try await self.sslInUse(try self.settings(host: "127.0.0.1", query: "sslmode=require")) == "true")
    }

    @Test func disableDoesNot() async throws {
        #expect(try await self.sslInUse(try self.settings(host: "127.0.0.1", query: "sslmode=disable")) == "false")
    }

    @Test func verifyFullPassesWithTheRightCAAndHostName() async throws {
        let ca = try TestEnvironment.value("SIPHON_TEST_CA_FILE")
        #expect(try await self.sslInUse(try self.settings(host: "localhost", query: "sslmode=verify-full&sslrootcert=\(ca)")) == "true")
    }

    @Test func verifyFullFailsWhenTheHostNameDoesNotMatch() async throws {
        let ca = try TestEnvironment.value("SIPHON_TEST_CA_FILE")
        let error = await #expect(throws: SiphonError.self) {
            _ = try await self.sslInUse(try self.settings(host: "127.0.0.1", query: "sslmode=verify-full&sslrootcert=\(ca)"))
        }
        #expect(error?.code == .connectionFailed)
        #expect(error?.message.contains("TLS") == true, "\(error?.message ?? "")")
    }

    @Test func verifyCAFailsWithAnotherCA() async throws {
        let otherCA = try TestEnvironment.value("SIPHON_TEST_OTHER_CA_FILE")
        let error = await #expect(throws: SiphonError.self) {
            _ = try await self.sslInUse(try self.settings(host: "localhost", query: "sslmode=verify-ca&sslrootcert=\(otherCA)"))
        }
        #expect(error?.code == .connectionFailed)
    }

    @Test func verifyCAPassesWithTheRightCAWhateverTheName() async throws {
        let ca = try TestEnvironment.value("SIPHON_TEST_CA_FILE")
        #expect(try await self.sslInUse(try self.settings(host: "127.0.0.1", query: "sslmode=verify-ca&sslrootcert=\(ca)")) == "true")
    }
}
