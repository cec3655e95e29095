// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import ArgumentParser
import Foundation
import Logging
import SiphonAdmin
import SiphonCore
import SiphonEngine

@main
struct SiphonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "siphon",
        abstract: "Change data capture for PostgreSQL: every committed row change, in commit order, without loss.",
        discussion: """
            Connection settings come from --url or --url-file (or SIPHON_URL, SIPHON_URL_FILE), then libpq's variables \
            (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, …), and the password from ~/.pgpass (or \
            PGPASSFILE) when none is given. Keep passwords off the command line, where `ps` shows them to every user. \
            Start with `siphon demo`, which needs no database.
            """,
        subcommands: [
            Demo.self, Setup.self, Run.self, Snapshot.self, Sync.self, Verify.self, Tail.self, Doctor.self,
            Teardown.self, Sql.self, Listen.self,
        ]
    )

    /// Prints errors the way a person can act on them, and exits non-zero.
    static func main() async {
        // A closed pipe (`siphon tail | head`) becomes a write error the sinks report, so temporary slots and
        // publications are still cleaned up, instead of a signal that kills the process on the spot.
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot()
            CommandLineScrubber.maskConnectionStrings()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as SiphonError {
            // The last line of defence: whatever quoted a connection string, its password is masked; errors quote
            // names and server messages an attacker may have written, so no control character reaches the terminal.
            let message = ConnectionSettings.redacted(connectionString: "\(error)")
            FileHandle.standardError.write(Data("error: \(TerminalText.message(message))\n".utf8))
            Foundation.exit(error.code == .invalidConfiguration ? 64 : 1)
        } catch {
            // Argument errors quote the argument (`Unexpected argument 'postgres://…'` when --url was forgotten).
            let message = Self.fullMessage(for: error)
            let masked = ConnectionSettings.redacted(connectionString: message)
            guard masked != message else { exit(withError: error) }
            FileHandle.standardError.write(Data((TerminalText.message(masked) + "\n").utf8))
            Foundation.exit(Self.exitCode(for: error).rawValue)
        }
    }
}

/// Options every command that talks to PostgreSQL shares.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "PostgreSQL URL or libpq key=value string, e.g. postgres://user@localhost:5432/app?sslmode=verify-full.",
            discussion: "Defaults to $SIPHON_URL, then libpq's PG* environment variables. A password here is "
                + "visible to other users in `ps` until Siphon masks it; prefer --url-file or ~/.pgpass.",
            valueName: "url"))
    var url: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "File holding the URL or key=value string (instead of --url, so the password stays off the command line).",
            discussion: "Defaults to $SIPHON_URL_FILE.",
            valueName: "path"))
    var urlFile: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .notice

    func settings(applicationName: String = "siphon") throws -> ConnectionSettings {
        let environment = ProcessInfo.processInfo.environment
        let connectionString = try self.commandLineConnectionString() ?? ConnectionStringFile.fromEnvironment(environment)
        var settings = try ConnectionSettings(url: connectionString, environment: environment)
        settings.applicationName = applicationName
        return settings
    }

    /// Whether a flag or `SIPHON_URL`/`SIPHON_URL_FILE` names a database (`siphon demo` starts its own otherwise).
    func namesADatabase(environment: [String: String]) -> Bool {
        self.url != nil || self.urlFile != nil || environment["SIPHON_URL"] != nil || environment["SIPHON_URL_FILE"] != nil
    }

    /// The connection string the flags give: `--url`, or the contents of `--url-file`.
    func commandLineConnectionString() throws -> String? {
        switch (self.url, self.urlFile) {
        case (.some, .some):
            throw SiphonError(.invalidConfiguration, "give either --url or --url-file, not both")
        case (let url, nil):
            return url
        case (nil, .some(let path)):
            return try ConnectionStringFile.read(path, place: "--url-file")
        }
    }

    func makeLogger(label: String = "siphon") -> Logger {
        LoggingBootstrap.bootstrap(level: self.logLevel)
        var logger = Logger(label: label)
        logger.logLevel = self.logLevel
        return logger
    }
}

/// A connection string kept in a file (`--url-file`, `SIPHON_URL_FILE`, `url_file:`), so the password is in
/// neither the command line nor the environment of the process.
enum ConnectionStringFile {
    /// The file's text without surrounding white space; errors never show the contents.
    static func read(_ path: String, place: String) throws -> String {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw SiphonError(
                .invalidConfiguration, "\(place): cannot read the connection string file \(path): \(error.localizedDescription)")
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else {
            throw SiphonError(.invalidConfiguration, "\(place): the connection string file \(path) is empty")
        }
        if let warning = Self.exposureWarning(path: path, connectionString: trimmed) {
            FileHandle.standardError.write(Data("warning: \(TerminalText.message(warning))\n".utf8))
        }
        return trimmed
    }

    /// A warning when the file holds a password and other users may read it. Not a refusal, as libpq refuses a
    /// `.pgpass`: secrets mounted into containers are often 0644 inside a directory only their pod can reach.
    static func exposureWarning(path: String, connectionString: String) -> String? {
        var status = stat()
        guard ConnectionSettings.redacted(connectionString: connectionString) != connectionString,
            stat(path, &status) == 0, status.st_mode & 0o077 != 0  // S_IRWXG | S_IRWXO
        else { return nil }
        return "the connection string file \(path) holds a password and has group or world access; "
            + "make it readable by its owner only: chmod 600 \(path)"
    }

    /// `SIPHON_URL`, or the contents of the file `SIPHON_URL_FILE` names.
    static func fromEnvironment(_ environment: [String: String]) throws -> String? {
        switch (environment["SIPHON_URL"], environment["SIPHON_URL_FILE"]) {
        case (.some, .some):
            throw SiphonError(.invalidConfiguration, "set either SIPHON_URL or SIPHON_URL_FILE, not both")
        case (let url, nil):
            return url
        case (nil, .some(let path)):
            return try Self.read(path, place: "SIPHON_URL_FILE")
        }
    }
}

/// Masks passwords in the process's own argument strings once they are parsed, so `ps` and `/proc/PID/cmdline`
/// stop showing them. Another user can still read them in the moment between start and parsing: a password
/// belongs in ~/.pgpass or a --url-file.
enum CommandLineScrubber {
    /// The options that take a connection string (`siphon verify` takes two).
    static let connectionStringOptions = ["--url", "--from", "--to"]

    static func maskConnectionStrings() {
        var connectionStringFollows = false
        for index in 1..<Int(CommandLine.argc) {
            guard let argument = CommandLine.unsafeArgv[index] else { continue }
            let text = String(cString: argument)
            defer { connectionStringFollows = Self.connectionStringOptions.contains(text) }
            let value: Substring
            if connectionStringFollows {
                value = text[...]
            } else if let option = Self.connectionStringOptions.first(where: { text.hasPrefix($0 + "=") }) {
                value = text.dropFirst(option.count + 1)
            } else {
                continue
            }
            let masked = Array(ConnectionSettings.redacted(connectionString: String(value)).utf8)
            guard masked != Array(value.utf8) else { continue }
            let start = text.utf8.count - value.utf8.count
            let available = value.utf8.count
            // The argument's memory cannot grow: a masked text longer than the original (a one-byte password)
            // becomes stars throughout, and a shorter one is padded with spaces.
            let replacement = masked.count <= available ? masked : Array(repeating: UInt8(ascii: "*"), count: available)
            argument.withMemoryRebound(to: UInt8.self, capacity: start + available) { bytes in
                for offset in 0..<available {
                    bytes[start + offset] = offset < replacement.count ? replacement[offset] : UInt8(ascii: " ")
                }
            }
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension ChangeFormat: ExpressibleByArgument {}
extension DeliveryPolicy.PoisonAction: ExpressibleByArgument {}
extension ReplicaIdentityChoice: ExpressibleByArgument {}

/// Logs go to stderr, so stdout stays clean for changes.
enum LoggingBootstrap {
    private static let once: Void = {
        LoggingSystem.bootstrap { label in
            var handler = TerminalSafeLogHandler(inner: StreamLogHandler.standardError(label: label))
            handler.logLevel = .trace
            return handler
        }
    }()

    static func bootstrap(level: Logger.Level) { _ = self.once }
}
