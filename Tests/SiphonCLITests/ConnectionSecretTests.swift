// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonSystem
import SiphonTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Passwords stay out of errors, out of `ps`, and off the command line; a silent server cannot hang a command.
@Suite struct ConnectionSecretTests {
    static let secret = "Sup3rSecret"

    func expectNoSecret(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!text.contains(Self.secret), "\(text)", sourceLocation: sourceLocation)
        #expect(!text.contains("Pa55"), "\(text)", sourceLocation: sourceLocation)
    }

    @Test func malformedKeywordStringErrorDoesNotPrintThePassword() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (status, output, errors) = try await SiphonProcess.run(
            ["doctor", "--url", "host=127.0.0.1 password=Pa55\(Self.secret) dbname"], directory: directory)
        #expect(status == 64)
        #expect(errors.contains("missing '='"), "\(errors)")
        self.expectNoSecret(errors + output)
    }

    @Test func argumentErrorsQuotingAURLMaskThePassword() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // `--url` forgotten: the argument parser quotes the URL as an unexpected argument.
        let (status, output, errors) = try await SiphonProcess.run(
            ["doctor", "postgres://siphon:Pa55\(Self.secret)@localhost/db"], directory: directory)
        #expect(status != 0)
        #expect(errors.contains("postgres://siphon:***@localhost/db"), "\(errors)")
        self.expectNoSecret(errors + output)
    }

    @Test func urlWithASlashInThePasswordDoesNotPrintThePassword() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = "postgres://siphon:Pa55/\(Self.secret)@\(try TestEnvironment.host()):\(try TestEnvironment.port())/"
            + "\(try TestEnvironment.database())?sslmode=disable"
        let (status, output, errors) = try await SiphonProcess.run(["doctor", "--url", url], directory: directory)
        #expect(status != 0)
        // The password is parsed as the password (and is wrong), not spilled into the host or database name.
        #expect(output.contains("password authentication failed for user \"siphon\""), "\(output) \(errors)")
        self.expectNoSecret(errors + output)
    }

    @Test func passwordFromAPasswordFileOnly() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let passfile = directory.appendingPathComponent("pgpass").path
        try "# test\n\(try TestEnvironment.host()):\(try TestEnvironment.port()):*:siphon:\(try TestEnvironment.password())\n"
            .write(toFile: passfile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: passfile)
        let url = "postgres://siphon@\(try TestEnvironment.host()):\(try TestEnvironment.port())/"
            + "\(try TestEnvironment.database())?sslmode=disable"
        let (_, output, errors) = try await SiphonProcess.run(
            ["doctor", "--url", url, "--slot", "nothing_here"], directory: directory, environment: ["PGPASSFILE": passfile])
        #expect(output.contains("wal_level"), "doctor must have connected: \(output) \(errors)")
        #expect(!errors.contains("password"), "\(errors)")

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: passfile)
        let (status, _, refused) = try await SiphonProcess.run(
            ["doctor", "--url", url], directory: directory, environment: ["PGPASSFILE": passfile])
        #expect(status == 64)
        #expect(refused.contains("chmod 600"), "\(refused)")
    }

    @Test func passwordFromAURLFileOnly() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("url").path
        try "\(try TestEnvironment.url())\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(chmod(file, 0o600) == 0)
        for (arguments, environment) in [
            (["doctor", "--url-file", file, "--slot", "nothing_here"], [String: String]()),
            (["doctor", "--slot", "nothing_here"], ["SIPHON_URL_FILE": file]),
        ] {
            let (_, output, errors) = try await SiphonProcess.run(arguments, directory: directory, environment: environment)
            #expect(output.contains("wal_level"), "doctor must have connected: \(output) \(errors)")
            #expect(!errors.contains("group or world access"), "\(errors)")
        }
    }

    @Test func aURLFileOthersMayReadIsWarnedAbout() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("url").path
        try "\(try TestEnvironment.url())\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(chmod(file, 0o644) == 0)
        let (_, output, errors) = try await SiphonProcess.run(
            ["doctor", "--url-file", file, "--slot", "nothing_here"], directory: directory)
        #expect(output.contains("wal_level"), "doctor must still connect: \(output) \(errors)")
        #expect(errors.contains("has group or world access; make it readable by its owner only: chmod 600"), "\(errors)")
        #expect(!(output + errors).contains(try TestEnvironment.value("SIPHON_TEST_PASSWORD")), "\(errors)")
    }

    @Test func doctorAgainstAServerThatNeverAnswersFailsWithTheTimeout() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try SilentListener()
        defer { server.close() }
        let process = try SiphonProcess(
            ["doctor", "--url", "postgres://siphon:Pa55\(Self.secret)@127.0.0.1:\(server.port)/db?connect_timeout=2"],
            directory: directory)
        // A hang guard only: the command must end with the timeout error, long before this.
        let status = try await process.wait(timeout: .seconds(60))
        #expect(status != 0)
        // doctor reports the failed connection check on stdout.
        #expect(process.output.contains("during TLS, startup or authentication (connect_timeout=2 s)"), "\(process.output) \(process.errors)")
        self.expectNoSecret(process.output + process.errors)
    }

    @Test func psShowsTheURLWithThePasswordMasked() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try SilentListener()
        defer { server.close() }
        // The silent server keeps doctor waiting (for up to an hour) until the test has looked; an exited, unreaped
        // process would show an empty command line however long a loaded machine took to start it.
        let process = try SiphonProcess(
            ["doctor", "--url", "postgres://siphon:Pa55\(Self.secret)@127.0.0.1:\(server.port)/db?connect_timeout=3600"],
            directory: directory)
        defer { process.signal(SIGKILL) }
        try await eventually(timeout: .seconds(120), "the password to be masked in /proc/PID/cmdline") {
            let commandLine = try Self.commandLine(of: process.child.pid)
            return commandLine.contains("127.0.0.1:\(server.port)") && !commandLine.contains(Self.secret)
        }
        #expect(process.child.poll() == nil, "doctor exited early: \(process.errors)")
        process.signal(SIGKILL)
        _ = try await process.wait(timeout: .seconds(60))
    }
}

extension ConnectionSecretTests {
    /// `/proc/PID/cmdline`, read to the end (procfs reports a size of 0, which Foundation's readers trust).
    static func commandLine(of pid: pid_t) throws -> String {
        let descriptor = open("/proc/\(pid)/cmdline", O_RDONLY)
        guard descriptor >= 0 else { throw POSIXError(.ENOENT) }
        defer { _ = Glibc.close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while case let count = chunk.withUnsafeMutableBytes({ read(descriptor, $0.baseAddress, $0.count) }), count > 0 {
            bytes += chunk[..<count]
        }
        return String(decoding: bytes.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }
}

/// A TCP listener that never accepts: the kernel completes the handshake, and nobody ever answers.
final class SilentListener: Sendable {
    let descriptor: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && listen(descriptor, 16) == 0
                    && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRNOTAVAIL) }
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(self.descriptor) }
}
