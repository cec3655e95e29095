// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SiphonAdmin
import SiphonCore
import SiphonEngine
import SiphonReplication
import SiphonService
import Synchronization

struct Tail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch changes live in the terminal. Leaves nothing behind when it exits.",
        discussion: """
            Uses a temporary replication slot (gone when tail exits) and, unless --publication names one, a temporary \
            publication for the --table tables (all tables without --table; that needs a superuser). Changes made \
            while tail is not running are not shown: use `siphon run` with a permanent slot for that.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Existing publication to follow; by default a temporary one is made for --table.")
    var publication: String?

    @Option(name: .customLong("table"), help: "Table to watch, written as SQL does; wildcards * allowed (repeatable).")
    var tables: [String] = []

    @Option(
        help: """
            Output: pretty (coloured, for people), jsonl (Siphon's envelope) or debezium. Characters a terminal \
            would obey are shown escaped.
            """)
    var format: TailFormat = .pretty

    @Option(help: "Exit after this many changes.")
    var maxChanges: Int?

    @Option(help: "Exit after this many seconds.")
    var timeout: Double?

    @Flag(help: "Ask for binary column values (same output).")
    var binary = false

    func validate() throws {
        if let maxChanges, maxChanges <= 0 { throw ValidationError("--max-changes must be positive") }
        if let timeout, timeout <= 0 { throw ValidationError("--timeout must be positive") }
    }

    func run() async throws {
        var settings = try self.connection.settings()
        settings.applicationName = "siphon tail"
        let logger = self.connection.makeLogger()
        let patterns = try self.tables.map { try TablePattern(parsing: $0) }
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let slot = "siphon_tail_\(suffix)"
        let publication = self.publication ?? "siphon_tail_\(suffix)"
        let output: any ChangeSink =
            switch self.format {
            case .jsonl: TerminalEnvelopeSink(format: .siphon, debezium: DebeziumSource())
            case .debezium: TerminalEnvelopeSink(format: .debezium, debezium: DebeziumSource(database: settings.database))
            case .pretty: TerminalSink()
            }
        let stopper = PipelineStopper()
        let limited = LimitedSink(inner: output, limit: self.maxChanges, stopper: stopper)

        if self.publication == nil {
            try await TemporaryPublication.create(publication, tables: patterns, settings: settings, logger: logger)
        }
        do {
            let pipeline = Pipeline(
                configuration: PipelineConfiguration(
                    connection: settings, slot: slot, temporarySlot: true, publications: [publication],
                    binary: self.binary, filter: ChangeFilter(tables: patterns), maxBatchSize: 100,
                    // A terminal or pipe that fails once will not recover; stop at once and clean up.
                    delivery: DeliveryPolicy(maxAttempts: 1)),
                sinks: [limited], logger: logger)
            stopper.attach(pipeline)
            let timeoutService = self.timeout.map { TimeoutService(seconds: $0) }
            try await SiphonService.run(pipeline, alongside: timeoutService.map { [$0] } ?? [], logger: logger)
        } catch {
            if self.publication == nil { await TemporaryPublication.drop(publication, settings: settings, logger: logger) }
            throw error
        }
        if self.publication == nil { await TemporaryPublication.drop(publication, settings: settings, logger: logger) }
    }
}

/// What `siphon tail` prints.
enum TailFormat: String, ExpressibleByArgument, CaseIterable {
    case pretty
    case jsonl
    case debezium
}

/// Lets a sink stop the pipeline that feeds it (for --max-changes).
final class PipelineStopper: Sendable {
    private let pipeline = Mutex<Pipeline?>(nil)

    func attach(_ pipeline: Pipeline) { self.pipeline.withLock { $0 = pipeline } }
    func stop() { self.pipeline.withLock { $0 }?.stop() }
}

/// Passes on at most `limit` changes, then stops the pipeline.
final class LimitedSink: ChangeSink {
    let inner: any ChangeSink
    let limit: Int?
    let stopper: PipelineStopper
    private let delivered = Mutex(0)

    init(inner: any ChangeSink, limit: Int?, stopper: PipelineStopper) {
        self.inner = inner
        self.limit = limit
        self.stopper = stopper
    }

    var name: String { self.inner.name }

    func deliver(_ changes: [Change]) async throws {
        guard let limit else { return try await self.inner.deliver(changes) }
        let allowed = self.delivered.withLock { count -> Int in
            let allowed = max(0, min(changes.count, limit - count))
            count += allowed
            return allowed
        }
        if allowed > 0 { try await self.inner.deliver(Array(changes.prefix(allowed))) }
        if self.delivered.withLock({ $0 }) >= limit { self.stopper.stop() }
    }
}

/// Ends the service group after a number of seconds.
struct TimeoutService: Service {
    let seconds: Double

    func run() async throws {
        // Shutdown for another reason (Ctrl-C, --max-changes) cancels the wait; that is not an error.
        try? await cancelWhenGracefulShutdown {
            try await Task.sleep(for: .milliseconds(Int(self.seconds * 1000)))
        }
    }
}

/// The publication `siphon tail` makes when none is named, and drops again.
enum TemporaryPublication {
    static func create(_ name: String, tables: [TablePattern], settings: ConnectionSettings, logger: Logger) async throws {
        try await ServerConnection.withConnection(settings: settings, replication: false, logger: logger) { connection in
            let target: String
            if tables.isEmpty {
                target = "ALL TABLES"
            } else {
                let matched = try await SiphonAdmin.resolveTables(.matching(tables), settings: settings, logger: logger)
                target = "TABLE " + matched.sorted().map(\.description).joined(separator: ", ")
            }
            do {
                try await connection.simpleQuery("CREATE PUBLICATION \(TableName.quoteIdentifier(name)) FOR \(target)")
            } catch let error as SiphonError where error.serverError?.sqlState == "42501" {
                throw SiphonError(
                    .invalidConfiguration,
                    "cannot create a temporary publication (\(error.serverError?.message ?? "permission denied")); "
                        + "name an existing one with --publication, or pass --table for tables you own",
                    serverError: error.serverError)
            }
        }
    }

    static func drop(_ name: String, settings: ConnectionSettings, logger: Logger) async {
        do {
            try await ServerConnection.withConnection(settings: settings, replication: false, logger: logger) {
                _ = try await $0.simpleQuery("DROP PUBLICATION IF EXISTS \(TableName.quoteIdentifier(name))")
            }
        } catch {
            logger.error("Could not drop the temporary publication \(name): \(error)")
        }
    }
}
