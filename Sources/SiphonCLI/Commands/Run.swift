// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import ArgumentParser
import Foundation
import Logging
import SiphonCore
import SiphonEngine
import SiphonService
import SiphonSystem
import SiphonTrigger

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stream changes from a replication slot to sinks, acknowledging only what was delivered.",
        discussion: """
            Settings come from --config FILE (YAML), then SIPHON_* environment variables, then flags; later ones win. \
            SIGTERM or SIGINT stop it cleanly: the changes in hand are delivered and acknowledged first, so a restart \
            repeats nothing. A second `siphon run` on the same slot waits as a standby and takes over when the first \
            one stops.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "YAML file with settings (url, slot, publication, tables, sinks, format, binary, batch_size, max_attempts, on_poison).")
    var config: String?

    @Option(help: "Replication slot to read (create it with `siphon setup`; default siphon).")
    var slot: String?

    @Option(name: .customLong("publication"), help: "Publication that chooses the tables (repeatable; default siphon).")
    var publications: [String] = []

    @Option(
        name: .customLong("table"),
        help: "Only deliver changes of this table, written as SQL does: schema.table, \"Quoted Name\", wildcards * (repeatable).")
    var tables: [String] = []

    @Option(name: .customLong("sink"), help: "Where changes go: stdout, jsonl:PATH, null (repeatable; default stdout).")
    var sinks: [String] = []

    @Option(help: "JSON envelope: siphon or debezium.")
    var format: ChangeFormat?

    @Flag(help: "Ask the server for binary column values (same JSON, cheaper decoding; PostgreSQL 14+).")
    var binary = false

    @Option(help: "Changes per delivery, at most.")
    var batchSize: Int?

    @Option(help: "Tries per delivery before the poison policy applies.")
    var maxAttempts: Int?

    @Option(help: "What to do with a change a sink keeps refusing: stop, or dead-letter (park it in siphon.dead_letters).")
    var onPoison: DeliveryPolicy.PoisonAction?

    @Option(help: "Where changes come from: logical (replication slot) or trigger (the outbox `siphon setup --mode trigger` made).")
    var mode: CaptureMode = .logical

    @Option(help: "Trigger mode: the outbox table to read.")
    var outbox: String = "outbox"

    @Option(help: "Trigger mode: the schema of the outbox.")
    var triggerSchema: String = TriggerCapture.defaultSchema

    @Option(name: .customLong("group"), help: "Trigger mode: the consumer group this reader belongs to.")
    var group: String = "default"

    @Flag(help: "Exit with the error when the first connection fails, instead of retrying (for supervisors that restart the process).")
    var exitOnStartFailure = false

    @Flag(help: "Deliver the rows every published table holds (as reads) before and beside its changes; a table that was snapshotted for this slot before is left alone.")
    var snapshot = false

    @Option(help: "Tables a snapshot reads at once.")
    var snapshotParallel: Int = 1

    @Option(help: "Rows per snapshot chunk (what a crash repeats at most).")
    var snapshotChunkSize: Int = 10_000

    func resolvedConfiguration(environment: [String: String]) throws -> RunConfiguration {
        var configuration = RunConfiguration()
        if let config { try configuration.apply(file: config) }
        try configuration.apply(environment: environment)
        if let url = try self.connection.commandLineConnectionString() { configuration.url = url }
        if let slot { configuration.slot = slot }
        if !self.publications.isEmpty { configuration.publications = self.publications }
        if !self.tables.isEmpty { configuration.tables = self.tables }
        if !self.sinks.isEmpty { configuration.sinks = self.sinks }
        if let format { configuration.format = format }
        if self.binary { configuration.binary = true }
        if let batchSize {
            guard batchSize > 0 else { throw SiphonError(.invalidConfiguration, "--batch-size must be positive") }
            configuration.batchSize = batchSize
        }
        if let maxAttempts {
            guard maxAttempts > 0 else { throw SiphonError(.invalidConfiguration, "--max-attempts must be positive") }
            configuration.maxAttempts = maxAttempts
        }
        if let onPoison { configuration.onPoison = onPoison }
        guard self.snapshotParallel > 0, self.snapshotChunkSize > 0 else {
            throw SiphonError(.invalidConfiguration, "--snapshot-parallel and --snapshot-chunk-size must be positive")
        }
        return try configuration.validated()
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let configuration = try self.resolvedConfiguration(environment: environment)
        var settings = try ConnectionSettings(url: configuration.url, environment: environment)
        settings.applicationName = "siphon run"
        let logger = self.connection.makeLogger()
        let patterns = try configuration.tables.map { try TablePattern(parsing: $0) }
        let specifications = try (configuration.sinks.isEmpty ? ["stdout"] : configuration.sinks).map {
            try SinkSpecification(parsing: $0)
        }
        let debezium = DebeziumSource(database: settings.database)
        let format = configuration.format
        let openSinks: @Sendable () throws -> [any ChangeSink] = {
            try specifications.map { try $0.makeSink(format: format, debezium: debezium) }
        }
        let options = PipelineOptions(
            deadLetters: settings, filter: ChangeFilter(tables: patterns), maxBatchSize: configuration.batchSize,
            delivery: DeliveryPolicy(maxAttempts: configuration.maxAttempts, poisonAction: configuration.onPoison),
            exitOnStartFailure: self.exitOnStartFailure)
        let source: SourceConfiguration
        switch self.mode {
        case .trigger:
            if self.snapshot {
                throw SiphonError(
                    .invalidConfiguration,
                    "--snapshot works with logical replication only for now; in trigger mode, copy the rows with "
                        + "`siphon sql` or COPY before `siphon run`")
            }
            source = .outbox(
                OutboxConfiguration(
                    connection: settings, schema: self.triggerSchema, outbox: self.outbox,
                    group: ConsumerGroup(name: self.group), partitionsFromRegistration: true,
                    batchSize: configuration.batchSize))
        case .logical:
            guard let slot = configuration.slot else {
                throw SiphonError(.invalidConfiguration, "name the replication slot to read with --slot or `slot:`")
            }
            if self.snapshot {
                let requested = try await SnapshotRequests.request(
                    [], slot: slot, publications: configuration.publications, settings: settings, initialOnly: true,
                    logger: logger)
                let waiting = requested.filter { $0.state == .pending }.map(\.table.description)
                logger.notice("Initial snapshot", metadata: ["siphon.tables": "\(waiting)"])
            }
            source = .logical(
                LogicalReplicationConfiguration(
                    connection: settings, slot: slot, publications: configuration.publications,
                    binary: configuration.binary,
                    snapshots: SnapshotOptions(chunkSize: self.snapshotChunkSize, parallel: self.snapshotParallel)))
        }
        let pipeline = SiphonService(source: source, options: options, openSinks: openSinks).makePipeline(logger: logger)
        // A shell starts background jobs with SIGINT ignored: a stop signal sent before the shutdown handler is
        // installed must still end the process, not vanish.
        SignalDisposition.restoreDefaults([SIGINT, SIGTERM])
        logger.notice(
            "siphon run starting",
            metadata: [
                "pg.url": "\(settings)", "siphon.source": "\(pipeline.source.name)",
                "sinks": "\(specifications.map(\.description))",
            ])
        try await SiphonService.run(pipeline, logger: logger)
        let statistics = pipeline.statistics
        var metadata: Logger.Metadata = [
            "changes": "\(statistics.changesDelivered)", "transactions": "\(statistics.transactions)",
        ]
        if self.mode == .logical { metadata["pg.lsn"] = "\(statistics.confirmedLSN)" }
        logger.notice("siphon run stopped", metadata: metadata)
    }
}
