// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import ArgumentParser
import Foundation
import Logging
import SiphonCore
import SiphonSync

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that tables hold the same rows in two PostgreSQL databases.",
        discussion: """
            Compares each --table on --from (the source) and --to (the target): the same columns by name and type, \
            the same primary key, and the same rows. Both sides are read in chunks of --chunk-size rows in key \
            order, each side in one read-only REPEATABLE READ transaction, and compared chunk by chunk by row count \
            and digest; only a chunk that differs is read row by row. Memory stays bounded by the chunk size.

            Prints each row that differs (only on the source, only on the target, or different, with the rows as \
            JSON) and a summary line per table. Exits 0 when every table is equal, 1 when one differs, and 64 when \
            a table cannot be compared (missing on a side, no primary key, different columns or keys).

            Both connection strings take libpq's PG* variables and ~/.pgpass as defaults, as --url does.
            """)

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The source database: PostgreSQL URL or libpq key=value string.",
            discussion: "A password here is visible to other users in `ps` until Siphon masks it; prefer ~/.pgpass.",
            valueName: "url"))
    var from: String

    @Option(
        name: .long,
        help: ArgumentHelp("The target database: PostgreSQL URL or libpq key=value string.", valueName: "url"))
    var to: String

    @Option(
        name: .customLong("table"),
        help: ArgumentHelp("A table to compare, e.g. public.products (repeatable).", valueName: "name"))
    var tables: [String] = []

    @Option(help: "Rows per chunk: the most held in memory at once, per side.")
    var chunkSize = 10_000

    @Option(help: "Differences printed per table; the summary counts them all.")
    var showDifferences = 20

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .notice

    func validate() throws {
        if self.tables.isEmpty { throw ValidationError("name the tables to compare with --table (repeatable)") }
        if self.chunkSize < 1 { throw ValidationError("--chunk-size must be at least 1") }
        if self.showDifferences < 0 { throw ValidationError("--show-differences cannot be negative") }
    }

    func run() async throws {
        LoggingBootstrap.bootstrap(level: self.logLevel)
        var logger = Logger(label: "siphon")
        logger.logLevel = self.logLevel
        let environment = ProcessInfo.processInfo.environment
        var source = try ConnectionSettings(url: self.from, environment: environment)
        var target = try ConnectionSettings(url: self.to, environment: environment)
        source.applicationName = "siphon verify"
        target.applicationName = "siphon verify"
        let names = try self.tables.map { try TableName(parsing: $0) }
        let verifier = TableVerifier(source: source, target: target, logger: logger)
        var allEqual = true
        for name in names {
            let report = try await verifier.verify(name, chunkSize: self.chunkSize, differenceLimit: self.showDifferences)
            print(Self.render(report), terminator: "")
            allEqual = allEqual && report.isEqual
        }
        if !allEqual { throw ExitCode(1) }
    }

    /// The differences shown, then the summary line. Names and values come from the databases: they go through
    /// `TerminalText`.
    static func render(_ report: VerifyReport) -> String {
        let table = TerminalText.name(report.table.description)
        var output = ""
        for difference in report.differences {
            let key = zip(report.keyColumns, difference.key)
                .map { TerminalText.name(SQLQuoting.identifier($0)) + "=" + TerminalText.name($1) }
                .joined(separator: ", ")
            let what =
                switch difference.kind {
                case .onlyOnSource: "only on the source"
                case .onlyOnTarget: "only on the target"
                case .changed: "different"
                }
            output += "\(table) \(key): \(what)\n"
            if let row = difference.sourceRow { output += "  source: \(TerminalText.json(row))\n" }
            if let row = difference.targetRow { output += "  target: \(TerminalText.json(row))\n" }
        }
        let unshown = report.differenceCount - report.differences.count
        if unshown > 0 { output += "\(table): … and \(unshown) more \(unshown == 1 ? "difference" : "differences")\n" }
        let seconds = Double(report.elapsed.components.seconds) + Double(report.elapsed.components.attoseconds) / 1e18
        let time = String(format: "%.2f s", seconds)
        let chunks = "\(report.chunks) \(report.chunks == 1 ? "chunk" : "chunks")"
        if report.isEqual {
            output += "\(table): equal, \(report.sourceRows) rows compared in \(chunks), \(time)\n"
        } else {
            output += "\(table): \(report.differenceCount) \(report.differenceCount == 1 ? "difference" : "differences")"
                + " (\(report.onlyOnSource) only on the source, \(report.onlyOnTarget) only on the target, "
                + "\(report.changed) different); \(report.sourceRows) rows on the source, \(report.targetRows) on "
                + "the target, in \(chunks), \(time)\n"
        }
        return output
    }
}
