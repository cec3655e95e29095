// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonCore
import SiphonSystem

/// A throwaway PostgreSQL cluster in a temporary folder, for `siphon demo` (the same approach as `scripts/test`).
///
/// PostgreSQL refuses to run as root, so when we are root the server runs as the `postgres` user.
struct LocalCluster {
    let directory: URL
    let binDirectory: URL
    let port: Int

    /// Starts a cluster with `wal_level=logical` on a free port of 127.0.0.1, trusting local connections.
    static func start(log: (String) -> Void) throws -> LocalCluster {
        let bin = try Self.findOrInstallBinaries(log: log)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("siphon-demo-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let runAsPostgres = geteuid() == 0
        if runAsPostgres { try Self.run("/bin/chown", ["postgres", directory.path]) }
        let data = directory.appendingPathComponent("data").path
        log("Creating a throwaway PostgreSQL cluster in \(directory.path)")
        try Self.run(
            bin.appendingPathComponent("initdb").path,
            ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            asPostgres: runAsPostgres)
        let port = try Self.freePort()
        let settings = """
            listen_addresses = '127.0.0.1'
            port = \(port)
            unix_socket_directories = '\(directory.path)'
            wal_level = logical
            max_replication_slots = 10
            max_wal_senders = 10
            fsync = off

            """
        try settings.write(toFile: data + "/postgresql.auto.conf", atomically: true, encoding: .utf8)
        try Self.run(
            bin.appendingPathComponent("pg_ctl").path,
            ["-D", data, "-l", directory.appendingPathComponent("server.log").path, "-w", "-t", "60", "start"],
            asPostgres: runAsPostgres)
        return LocalCluster(directory: directory, binDirectory: bin, port: port)
    }

    var url: String { "postgres://postgres@127.0.0.1:\(self.port)/postgres?sslmode=disable" }

    /// Stops the server and deletes the folder.
    func stop() {
        try? Self.run(
            self.binDirectory.appendingPathComponent("pg_ctl").path,
            ["-D", self.directory.appendingPathComponent("data").path, "-m", "fast", "-w", "stop"],
            asPostgres: geteuid() == 0)
        try? FileManager.default.removeItem(at: self.directory)
    }

    private static func findOrInstallBinaries(log: (String) -> Void) throws -> URL {
        if let found = Self.findBinaries() { return found }
        guard geteuid() == 0 else {
            throw SiphonError(
                .invalidConfiguration,
                "PostgreSQL's server binaries (initdb, pg_ctl) are not installed. Install them with "
                    + "`sudo apt-get install -y postgresql-15`, or point the demo at a database with --url")
        }
        log("PostgreSQL is not installed; installing postgresql-15 with apt-get (a minute or two)...")
        do {
            try Self.run("/usr/bin/apt-get", ["install", "-y", "postgresql-15"], environment: ["DEBIAN_FRONTEND": "noninteractive"])
        } catch {
            try Self.run("/usr/bin/apt-get", ["update"])
            try Self.run("/usr/bin/apt-get", ["install", "-y", "postgresql-15"], environment: ["DEBIAN_FRONTEND": "noninteractive"])
        }
        guard let found = Self.findBinaries() else {
            throw SiphonError(.invalidConfiguration, "installed postgresql-15, but initdb is still not found")
        }
        return found
    }

    private static func findBinaries() -> URL? {
        let root = URL(fileURLWithPath: "/usr/lib/postgresql")
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            let bin = root.appendingPathComponent(version).appendingPathComponent("bin")
            if FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent("initdb").path) { return bin }
        }
        return nil
    }

    private static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw SiphonError(.connectionFailed, "cannot open a socket to find a free port") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw SiphonError(.connectionFailed, "cannot find a free port on 127.0.0.1") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs a program to completion with its output in a file (not a pipe: the server that pg_ctl starts inherits
    /// the descriptors and would hold a pipe open forever).
    private static func run(
        _ executable: String, _ arguments: [String], asPostgres: Bool = false, environment: [String: String] = [:]
    ) throws {
        let argv = asPostgres ? ["/usr/sbin/runuser", "-u", "postgres", "--", executable] + arguments : [executable] + arguments
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("siphon-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let status = try ChildProcess.run(
            argv, standardOutput: outputPath,
            environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
        guard status == 0 else {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw SiphonError(
                .invalidConfiguration,
                "\(URL(fileURLWithPath: executable).lastPathComponent) failed (status \(status)): \(text)")
        }
    }
}
