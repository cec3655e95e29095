// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import ArgumentParser
import Foundation
import Logging
import SiphonCore

@main
struct SiphonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "siphon",
        abstract: "Change data capture for PostgreSQL: every committed row change, in commit order, without loss.",
        discussion: """
            Connection settings come from --url (or SIPHON_URL), then libpq's variables (PGHOST, PGPORT, PGUSER,
            PGPASSWORD, PGDATABASE, PGSSLMODE). Start with `siphon demo`, which needs no database.
            """,
        subcommands: [Demo.self, Setup.self, Run.self, Tail.self, Doctor.self, Teardown.self, Sql.self, Listen.self]
    )

    /// Prints errors the way a person can act on them, and exits non-zero.
    static func main() async {
        // A closed pipe (`siphon tail | head`) becomes a write error the sinks report, so temporary slots and
        // publications are still cleaned up, instead of a signal that kills the process on the spot.
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as SiphonError {
            // Errors quote names and server messages an attacker may have written: no control reaches the terminal.
            FileHandle.standardError.write(Data("error: \(TerminalText.message(error.description))\n".utf8))
            Foundation.exit(error.code == .invalidConfiguration ? 64 : 1)
        } catch {
            exit(withError: error)
        }
    }
}

/// Options every command that talks to PostgreSQL shares.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "PostgreSQL URL, e.g. postgres://user:password@localhost:5432/app?sslmode=require.",
            discussion: "Defaults to $SIPHON_URL, then libpq's PG* environment variables.",
            valueName: "url"))
    var url: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .notice

    func settings(applicationName: String = "siphon") throws -> ConnectionSettings {
        let environment = ProcessInfo.processInfo.environment
        var settings = try ConnectionSettings(url: self.url ?? environment["SIPHON_URL"], environment: environment)
        settings.applicationName = applicationName
        return settings
    }

    func makeLogger(label: String = "siphon") -> Logger {
        LoggingBootstrap.bootstrap(level: self.logLevel)
        var logger = Logger(label: label)
        logger.logLevel = self.logLevel
        return logger
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

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
