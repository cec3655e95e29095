// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import ArgumentParser
import Foundation
import Logging
import SiphonCore
import SiphonEngine
import SiphonService
import SiphonSync
import SiphonSystem

struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Keep tables in another PostgreSQL database up to date with these, one way or both.",
        discussion: """
            Checks that the tables match on both sides and that the writing role may apply, creates what the sync \
            needs (a publication and slot, or with --from-capture trigger an outbox, on the side it reads; a \
            replication origin and siphon.sync_progress on the side it writes), copies the rows the source holds, \
            then applies every source transaction to the target in commit order. Each change takes effect exactly \
            once, also across crashes: the target records how far it applied in the same transaction as the data, \
            and the source is acknowledged only after that commit.

            With --both-ways the target's changes flow back too; what one direction applied is never sent back. \
            The first copy goes one way (source to target), unless --merge with a newest:COLUMN --conflict rule \
            copies both ways.

            The URLs come from --from/--to or SIPHON_SYNC_FROM/SIPHON_SYNC_TO (keep passwords off the command \
            line). SIGTERM or SIGINT stop it cleanly. `siphon verify` tells whether the tables are equal.
            """)

    @Option(help: ArgumentHelp("The database to read (URL or key=value string).", valueName: "url"))
    var from: String?

    @Option(help: ArgumentHelp("The database to write (URL or key=value string).", valueName: "url"))
    var to: String?

    @Option(name: .customLong("table"), help: "A table to sync, written as SQL does: schema.table (repeatable).")
    var tables: [String] = []

    @Option(help: "Names the sync's slots, origins and progress rows; syncs between the same databases need different names.")
    var name: String = "default"

    @Flag(help: "Also apply the target's changes to the source.")
    var bothWays = false

    @Option(help: "How the source's changes are read: logical (a replication slot) or trigger (an outbox, for a database without logical replication).")
    var fromCapture: SyncCapture = .logical

    @Option(help: "With --both-ways: how the target's changes are read (logical or trigger).")
    var toCapture: SyncCapture = .logical

    @Flag(help: "Do not copy the rows the tables hold now; apply only changes from here on.")
    var noInitialCopy = false

    @Flag(help: "With --both-ways and a newest:COLUMN rule: copy each side's rows to the other, the newer row winning where both hold a key.")
    var merge = false

    @Flag(help: "Create tables missing on the target from the source's columns and primary key.")
    var createTables = false

    @Option(
        name: .customLong("conflict"),
        help: ArgumentHelp(
            "How rows both sides wrote are resolved: newest:COLUMN or stop:COLUMN, for every table or one (TABLE=RULE).",
            discussion: "COLUMN orders a row's versions (updated_at, a version number). Without a rule the source wins.",
            valueName: "rule"))
    var conflicts: [String] = []

    @Option(help: "Changes per target transaction, at most.")
    var batchSize: Int = 5000

    @Option(help: "Rows per chunk of the initial copy.")
    var snapshotChunkSize: Int = 10_000

    @Flag(help: "Print which ids the two sides' sequences would both hand out, and the ALTER SEQUENCE that keeps them apart; exit 1 if any.")
    var planSequences = false

    @Flag(help: "Run that plan: odd ids on the source and even on the target (--both-ways), or the target's sequences moved beyond the source's.")
    var applySequences = false

    @Flag(help: "Remove what the sync created on both sides (slots, publications, origins, progress) and exit.")
    var teardown = false

    @Flag(help: "With --teardown: terminate a process still reading a slot instead of refusing.")
    var force = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .notice

    func run() async throws {
        LoggingBootstrap.bootstrap(level: self.logLevel)
        var logger = Logger(label: "siphon")
        logger.logLevel = self.logLevel
        let environment = ProcessInfo.processInfo.environment
        guard let from = self.from ?? environment["SIPHON_SYNC_FROM"], let to = self.to ?? environment["SIPHON_SYNC_TO"]
        else {
            throw SiphonError(
                .invalidConfiguration, "name both databases: --from URL and --to URL (or SIPHON_SYNC_FROM, SIPHON_SYNC_TO)")
        }
        guard self.snapshotChunkSize > 0 else {
            throw SiphonError(.invalidConfiguration, "--snapshot-chunk-size must be positive")
        }
        var source = try ConnectionSettings(url: from, environment: environment)
        source.applicationName = "siphon sync"
        var target = try ConnectionSettings(url: to, environment: environment)
        target.applicationName = "siphon sync"
        let tables = try self.tables.map { try TableName(parsing: $0) }
        let sync = try TableSync(
            configuration: SyncConfiguration(
                name: self.name, source: source, target: target, tables: tables, bothWays: self.bothWays,
                sourceCapture: self.fromCapture, targetCapture: self.toCapture, initialCopy: !self.noInitialCopy,
                mergeInitialCopy: self.merge, createMissingTables: self.createTables,
                conflictRules: try Self.conflictRules(self.conflicts, tables: tables), batchSize: self.batchSize,
                snapshots: SnapshotOptions(chunkSize: self.snapshotChunkSize)),
            logger: logger)
        if self.planSequences || self.applySequences {
            let plan = try await sync.sequencePlan()
            print(TerminalText.message(plan.description), terminator: "")
            guard self.applySequences else {
                if !plan.findings.isEmpty { throw ExitCode(1) }
                return
            }
            try await sync.apply(plan)
            if !plan.findings.isEmpty { print("applied") }
            return
        }
        if self.teardown {
            try await sync.teardown(force: self.force)
            FileHandle.standardError.write(Data("siphon sync: removed sync \(self.name)\n".utf8))
            return
        }
        try await sync.prepare()
        let pipelines = sync.makePipelines()
        SignalDisposition.restoreDefaults([SIGINT, SIGTERM])
        logger.notice(
            "siphon sync starting",
            metadata: [
                "from": "\(source)", "to": "\(target)", "siphon.tables": "\(sync.configuration.tables)",
                "both_ways": "\(self.bothWays)",
            ])
        try await SiphonService.run(pipelines[0], alongside: Array(pipelines.dropFirst()), logger: logger)
        let applied = pipelines.map(\.statistics.changesDelivered)
        logger.notice("siphon sync stopped", metadata: ["changes": "\(applied)"])
    }

    /// `newest:updated_at` for every table, or `public.products=stop:version` for one; a table's own rule wins.
    static func conflictRules(_ options: [String], tables: [TableName]) throws -> [TableName: ConflictRule] {
        var rules: [TableName: ConflictRule] = [:]
        var perTable: [TableName: ConflictRule] = [:]
        for option in options {
            if let equals = option.lastIndex(of: "=") {
                let table = try TableName(parsing: String(option[..<equals]))
                perTable[table] = try ConflictRule(parsing: String(option[option.index(after: equals)...]))
            } else {
                let rule = try ConflictRule(parsing: option)
                for table in tables { rules[table] = rule }
            }
        }
        return rules.merging(perTable) { $1 }
    }
}

extension SyncCapture: ExpressibleByArgument {}
