// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import ArgumentParser
import Foundation
import Logging
import SiphonCore
import SiphonEngine
import SiphonService
import SiphonTrigger

struct Listen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deliver the changes that notify-channel triggers send, to the same sinks as `siphon run`.",
        discussion: """
            Best effort: PostgreSQL keeps no notification for a listener that is not connected, so changes sent \
            while `siphon listen` is down or reconnecting are lost, and each change is delivered at most once. Use \
            the outbox (`siphon run --mode trigger`) when every change matters. Any role that can connect may \
            send notifications: only changes of tables that carry the channel's triggers, signed with the channel's \
            key, are delivered; others are refused and counted. Run it as the role that set the channel up (it \
            reads the key), with --trigger-schema if the SQL used one. Create the channel's triggers with \
            `siphon sql --channel NAME` or `siphon setup --mode trigger --channel NAME`. SIGTERM or SIGINT stop it \
            after the change in hand is delivered.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .customLong("channel"), help: "Channel to listen on (repeatable).")
    var channels: [String] = []

    @Option(help: "The schema of Siphon's notify function and keys, as given to `siphon sql --trigger-schema`.")
    var triggerSchema: String = TriggerCapture.defaultSchema

    @Option(
        name: .customLong("table"),
        help: "Only deliver changes of this table, written as SQL does: schema.table, \"Quoted Name\", wildcards * (repeatable). Changes of tables without the channel's triggers are refused in any case.")
    var tables: [String] = []

    @Option(name: .customLong("sink"), help: "Where changes go: stdout, jsonl:PATH (repeatable; default stdout).")
    var sinks: [String] = []

    @Option(help: "JSON envelope: siphon or debezium.")
    var format: ChangeFormat = .siphon

    @Option(help: "Tries per delivery before the poison policy applies.")
    var maxAttempts: Int = 5

    @Option(help: "What to do with a change a sink keeps refusing: stop, or dead-letter (park it in siphon.dead_letters).")
    var onPoison: DeliveryPolicy.PoisonAction = .stop

    func validate() throws {
        if self.channels.isEmpty { throw ValidationError("name at least one channel with --channel") }
        if self.maxAttempts < 1 { throw ValidationError("--max-attempts must be positive") }
    }

    func run() async throws {
        let settings = try self.connection.settings(applicationName: "siphon listen")
        let logger = self.connection.makeLogger()
        let format = self.format
        let patterns = try self.tables.map { try TablePattern(parsing: $0) }
        let specifications = try (self.sinks.isEmpty ? ["stdout"] : self.sinks).map {
            try SinkSpecification(parsing: $0)
        }
        let debezium = DebeziumSource(database: settings.database)
        let source = NotifySource(
            configuration: NotifyConfiguration(connection: settings, channels: self.channels, schema: self.triggerSchema),
            logger: logger)
        let pipeline = Pipeline(
            source: source,
            options: PipelineOptions(
                deadLetters: settings, filter: ChangeFilter(tables: patterns),
                delivery: DeliveryPolicy(maxAttempts: self.maxAttempts, poisonAction: self.onPoison)),
            logger: logger, openSinks: { try specifications.map { try $0.makeSink(format: format, debezium: debezium) } })
        logger.notice(
            "siphon listen starting",
            metadata: [
                "pg.url": "\(settings)", "channels": "\(self.channels)", "sinks": "\(specifications.map(\.description))",
            ])
        try await SiphonService.run(pipeline, logger: logger)
        let statistics = pipeline.statistics
        let notifications = source.statistics
        logger.notice(
            "siphon listen stopped",
            metadata: [
                "changes": "\(statistics.changesDelivered)", "ignored": "\(notifications.ignored)",
                "rejected": "\(notifications.rejected)", "reconnects": "\(statistics.reconnects)",
            ])
    }
}
