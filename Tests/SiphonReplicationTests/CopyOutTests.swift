// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import NIOCore
import SiphonCore
import SiphonReplication
import SiphonTestSupport
import Testing

/// `ServerConnection.copyOut` against the real server.
@Suite struct CopyOutTests {
    let logger = Logger(label: "copy-out")

    func withConnection<Result>(_ body: (ServerConnection) async throws -> Result) async throws -> Result {
        try await ServerConnection.withConnection(
            settings: try ConnectionSettings(url: try TestEnvironment.url(), environment: [:]), replication: false,
            logger: self.logger, body)
    }

    @Test func streamsEveryRowAndLeavesTheSessionUsable() async throws {
        let (text, tag, after) = try await self.withConnection { connection in
            var text = ""
            let tag = try await connection.copyOut(
                "COPY (SELECT g, repeat('x', g % 7) FROM generate_series(1, 20000) AS g) TO STDOUT"
            ) { chunk in text += String(buffer: chunk) }
            let after = try await connection.simpleQuery("SELECT 1").rows
            return (text, tag, after)
        }
        let expected = (1...20_000).map { "\($0)\t\(String(repeating: "x", count: $0 % 7))\n" }.joined()
        #expect(text == expected)
        #expect(tag == "COPY 20000")
        #expect(after == [["1"]])
    }

    @Test func aFailingCopySaysWhyAndLeavesTheSessionUsable() async throws {
        let (error, after) = try await self.withConnection { connection in
            let error = await #expect(throws: SiphonError.self) {
                try await connection.copyOut("COPY (SELECT 1 / (g - 500) FROM generate_series(1, 1000) AS g) TO STDOUT") {
                    _ in
                }
            }
            return (error, try await connection.simpleQuery("SELECT 2").rows)
        }
        #expect(error?.serverError?.sqlState == "22012")
        #expect(after == [["2"]])
    }

    @Test func aCommandThatIsNotACopyIsRefused() async throws {
        let error = try await self.withConnection { connection in
            await #expect(throws: SiphonError.self) { try await connection.copyOut("SELECT 1") { _ in } }
        }
        #expect(error?.code == .protocolViolation)
    }
}
