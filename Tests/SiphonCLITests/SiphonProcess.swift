// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import Logging
import SiphonCore
import SiphonEngine
import SiphonReplication
import SiphonSystem
import SiphonTestSupport
import Testing

/// The real `siphon` binary as a subprocess, with its output in files.
final class SiphonProcess: Sendable {
    let child: ChildProcess
    let standardOutput: URL
    let standardError: URL

    /// The `siphon` binary built next to the test bundle.
    static var binary: URL {
        get throws {
            let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            for candidate in [directory, directory.deletingLastPathComponent()] {
                let url = candidate.appendingPathComponent("siphon")
                if FileManager.default.isExecutableFile(atPath: url.path) { return url }
            }
            throw SiphonError(.invalidConfiguration, "the siphon binary was not built next to \(directory.path)")
        }
    }

    /// Starts `siphon arguments…`, or `launcher + [siphon] + arguments` (a shell that sets signals up first, say).
    init(
        _ arguments: [String], directory: URL, environment: [String: String] = [:], launcher: [String] = [],
        blockedSignals: [Int32] = []
    ) throws {
        let name = UUID().uuidString.prefix(8)
        self.standardOutput = directory.appendingPathComponent("stdout-\(name).txt")
        self.standardError = directory.appendingPathComponent("stderr-\(name).txt")
        // The child sees only what the test gives it: no PG* or SIPHON_* from the test environment.
        let inherited = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") && !$0.key.hasPrefix("SIPHON_") }
        self.child = try ChildProcess(
            launcher + [try Self.binary.path] + arguments, standardOutput: self.standardOutput.path,
            standardError: self.standardError.path, environment: inherited.merging(environment) { $1 },
            blockedSignals: blockedSignals)
    }

    /// Runs `siphon` to completion and returns (exit status, stdout, stderr).
    static func run(_ arguments: [String], directory: URL, environment: [String: String] = [:]) async throws -> (Int32, String, String) {
        let process = try SiphonProcess(arguments, directory: directory, environment: environment)
        let status = try await process.wait(timeout: .seconds(60))
        return (status, process.output, process.errors)
    }

    var output: String { (try? String(contentsOf: self.standardOutput, encoding: .utf8)) ?? "" }
    var errors: String { (try? String(contentsOf: self.standardError, encoding: .utf8)) ?? "" }

    func signal(_ signal: Int32) { self.child.signal(signal) }

    /// Waits for the process to exit; kills it and fails after `timeout`.
    func wait(timeout: Duration) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let status = self.child.poll() { return status }
            if ContinuousClock.now > deadline {
                self.signal(SIGKILL)
                _ = self.child.waitBlocking()
                throw SiphonError(.cancelled, "siphon did not exit within \(timeout); stderr: \(self.errors)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// A scratch folder per test.
func makeScratchDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("siphon-cli-test-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(90), _ what: String, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw SiphonError(.cancelled, "timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// Runs SQL on the cluster at `url` through Siphon's own client (simple query protocol).
func sql(_ url: String, _ statements: String) async throws -> QueryResult {
    try await ServerConnection.withConnection(
        settings: try ConnectionSettings(url: url, environment: [:]), replication: false, logger: Logger(label: "test")
    ) { try await $0.simpleQuery(statements) }
}

/// How many objects `siphon demo` left behind at `url` (its schema and slot): 0 after a clean exit.
func demoLeftovers(_ url: String) async throws -> [[String?]] {
    try await sql(
        url,
        "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = 'siphon_demo') + "
            + "(SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'siphon_demo')"
    ).rows
}

/// The changes in a jsonl file, decoded. While a `siphon run` may still be appending (`whileWriting`), a last line
/// without its newline is a write in progress and is left out; once every writer has stopped, a torn last line
/// fails the decode.
func readChanges(_ file: URL, whileWriting: Bool = true) throws -> [Change] {
    guard var text = try? String(contentsOf: file, encoding: .utf8) else { return [] }
    if whileWriting, let end = text.lastIndex(of: "\n") {
        text = String(text[...end])
    } else if whileWriting {
        return []
    }
    return try text.split(separator: "\n").map { try ChangeEnvelope.decode(line: String($0)) }
}
