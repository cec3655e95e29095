// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SiphonCore
import SiphonEngine
import SiphonService
import SiphonSystem

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show Siphon working end to end: a throwaway PostgreSQL, a small workload, changes streaming.",
        discussion: """
            With no --url, starts its own PostgreSQL cluster in a temporary folder (installing PostgreSQL with \
            apt-get if it is missing and you are root) and removes it on exit. With --url, uses your database: \
            it creates the schema, publication and slot `siphon_demo` there and drops them on exit. \
            Press Ctrl-C to stop.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Stop after this many workload transactions (default: run until Ctrl-C).")
    var transactions: Int?

    @Option(help: "Milliseconds between workload transactions.")
    var pauseMilliseconds: Int = 700

    @Flag(help: "Ask for binary column values (the output is the same).")
    var binary = false

    func run() async throws {
        // A Ctrl-C before the shutdown handler is installed ends the demo even when a shell started it with SIGINT
        // ignored.
        SignalDisposition.restoreDefaults([SIGINT, SIGTERM])
        let logger = self.connection.makeLogger()
        let say: (String) -> Void = { FileHandle.standardError.write(Data("siphon demo: \($0)\n".utf8)) }
        let cluster: LocalCluster?
        let settings: ConnectionSettings
        if self.connection.namesADatabase(environment: ProcessInfo.processInfo.environment) {
            cluster = nil
            settings = try self.connection.settings()
        } else {
            let started = try LocalCluster.start(log: say)
            cluster = started
            settings = try ConnectionSettings(url: started.url, environment: [:])
        }
        defer {
            if let cluster {
                say("Stopping and removing the throwaway cluster")
                cluster.stop()
            }
        }
        let workload = DemoWorkload(settings: settings, schema: "siphon_demo", logger: logger)
        do {
            try await workload.createSchema()
            say("Streaming changes of siphon_demo.users and siphon_demo.orders (Ctrl-C to stop)")
            try await self.stream(settings: settings, workload: workload, logger: logger)
            say("Stopped; cleaning up")
        } catch {
            await workload.cleanUp()
            throw error
        }
        await workload.cleanUp()
    }

    private func stream(settings: ConnectionSettings, workload: DemoWorkload, logger: Logger) async throws {
        let pipeline = Pipeline(
            configuration: PipelineConfiguration(
                connection: settings, slot: workload.slot, publications: [workload.publication], binary: self.binary,
                maxBatchSize: 100),
            sinks: [TerminalSink()], logger: logger)
        let writer = WorkloadService(
            workload: workload, transactions: self.transactions, pause: .milliseconds(self.pauseMilliseconds),
            pipeline: pipeline)
        try await SiphonService.run(pipeline, alongside: [writer], logger: logger)
    }
}

/// Runs the workload next to the pipeline; when a transaction count was given, waits until it was all delivered.
private struct WorkloadService: Service {
    let workload: DemoWorkload
    let transactions: Int?
    let pause: Duration
    let pipeline: Pipeline

    func run() async throws {
        let changes: Int
        do {
            changes = try await cancelWhenGracefulShutdown {
                try await self.workload.run(transactions: self.transactions, pause: self.pause)
            }
        } catch where Task.isShuttingDownGracefully && Self.isInterruption(error) {
            return  // Ctrl-C interrupted the workload: that is how the demo ends, not an error.
        }
        while self.pipeline.statistics.changesDelivered < changes && !Task.isShuttingDownGracefully {
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    private static func isInterruption(_ error: any Error) -> Bool {
        error is CancellationError || (error as? SiphonError)?.code == .cancelled
    }
}
