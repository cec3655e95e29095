// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import ArgumentParser
import Foundation
import SiphonAdmin
import SiphonCore
import SiphonEngine
import SiphonTrigger

/// How changes are captured: logical replication (the default) or generated triggers.
enum CaptureMode: String, ExpressibleByArgument, CaseIterable {
    case logical
    case trigger
}

extension TriggerReport {
    /// One line per object, then the notes.
    var text: String {
        (self.objects.map { "\($0.kind) \($0.name)" } + self.notes.map { "note: \($0)" }).joined(separator: "\n")
    }
}

/// The slot and publication every command uses unless told otherwise.
struct PipelineNameOptions: ParsableArguments {
    @Option(help: "Replication slot name.")
    var slot: String = "siphon"

    @Option(help: "Publication name.")
    var publication: String = "siphon"

    @Option(
        name: .customLong("table"),
        help: "Table, written as SQL does: schema.table, 'public.\"Order Items\"', wildcards * (repeatable).")
    var tables: [String] = []
}

struct Setup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the publication, slot and (optionally) replica identity Siphon needs, and record them.",
        discussion: """
            Checks everything first and creates nothing half-way. Every object it makes is recorded in \
            siphon.objects, so `siphon teardown` removes exactly those.
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var names: PipelineNameOptions

    @Option(help: "How to capture: logical (replication slot) or trigger (outbox or notify triggers).")
    var mode: CaptureMode = .logical

    @OptionGroup(title: "Trigger mode") var trigger: TriggerCaptureOptions

    @Flag(help: "Publish every table, including tables created later (needs a superuser).")
    var allTables = false

    @Option(help: "Replica identity to set on the tables: default (old rows carry the key) or full (every column).")
    var replicaIdentity: ReplicaIdentityChoice = .default

    @Flag(help: "Also ask for an initial snapshot of every published table: the next `siphon run` delivers their rows.")
    var snapshot = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        if self.snapshot && self.mode == .trigger {
            throw ValidationError("--snapshot works with logical replication only for now")
        }
        if self.allTables == !self.names.tables.isEmpty {
            throw ValidationError("name the tables with --table (repeatable), or pass --all-tables")
        }
    }

    func run() async throws {
        let logger = self.connection.makeLogger()
        if self.mode == .trigger {
            let report = try await TriggerCapture.apply(
                try self.trigger.specification(tables: self.names.tables),
                settings: try self.connection.settings(applicationName: "siphon setup"), logger: logger)
            print(TerminalText.message(report.text))
            return
        }
        let tables: TableSelection = self.allTables ? .allTables : try TableSelection(parsing: self.names.tables)
        let settings = try self.connection.settings(applicationName: "siphon setup")
        let report = try await SiphonAdmin.setup(
            SetupOptions(
                slot: self.names.slot, publication: self.names.publication, tables: tables,
                replicaIdentity: self.replicaIdentity),
            settings: settings, logger: logger)
        print(self.json ? TerminalText.json(report.json) : TerminalText.message(report.description))
        if self.snapshot {
            let requested = try await SnapshotRequests.request(
                [], slot: self.names.slot, publications: [self.names.publication], settings: settings,
                initialOnly: true, logger: logger)
            let names = requested.map { TerminalText.name($0.table.description) }.joined(separator: ", ")
            FileHandle.standardError.write(Data("siphon setup: initial snapshot requested for \(names); `siphon run` delivers it\n".utf8))
        }
    }
}

struct Teardown: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove exactly what `siphon setup` created, and report each object.",
        discussion: "A slot that a process is still reading is kept (the error names the process) unless --force.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "What to remove: logical (what setup recorded) or trigger (the outbox or channel triggers of --table).")
    var mode: CaptureMode = .logical

    @Option(name: .customLong("table"), help: "Trigger mode: tables whose triggers to remove (repeatable).")
    var tables: [String] = []

    @OptionGroup(title: "Trigger mode") var trigger: TriggerCaptureOptions

    @Flag(help: "Terminate a process that is still reading the slot, then remove it.")
    var force = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() async throws {
        let logger = self.connection.makeLogger()
        if self.mode == .trigger {
            let report = try await TriggerCapture.remove(
                try self.trigger.specification(tables: self.tables),
                settings: try self.connection.settings(applicationName: "siphon teardown"), logger: logger)
            print(TerminalText.message(report.text))
            return
        }
        let settings = try self.connection.settings(applicationName: "siphon teardown")
        let report = try await SiphonAdmin.teardown(TeardownOptions(force: self.force), settings: settings, logger: logger)
        print(self.json ? TerminalText.json(report.json) : TerminalText.message(report.description))
        // Snapshot progress belongs to the slot it was delivered through.
        for outcome in report.outcomes where outcome.object.kind == .slot && outcome.action != .kept {
            let forgotten = try await SnapshotRequests.forget(slot: outcome.object.name, settings: settings, logger: logger)
            if forgotten > 0 {
                FileHandle.standardError.write(
                    Data("siphon teardown: forgot the snapshot progress of \(forgotten) table(s) read through slot \(TerminalText.name(outcome.object.name))\n".utf8))
            }
        }
    }
}

struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check everything Siphon needs and explain how to fix what is wrong.",
        discussion: "Exits with status 1 when a problem would keep `siphon run` from working.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var names: PipelineNameOptions

    @Flag(help: "Print the report as JSON, for scripts.")
    var json = false

    @Option(help: "What to check: logical (replication) or trigger (outbox or channel triggers of --table).")
    var mode: CaptureMode = .logical

    @OptionGroup(title: "Trigger mode") var trigger: TriggerCaptureOptions

    func run() async throws {
        let logger = self.connection.makeLogger()
        if self.mode == .trigger {
            let checks = try await TriggerCapture.doctor(
                try self.trigger.specification(tables: self.names.tables),
                settings: try self.connection.settings(applicationName: "siphon doctor"), logger: logger)
            let report = DoctorReport(checks: checks)
            print(self.json ? TerminalText.json(report.json) : TerminalText.message(report.description))
            if report.blocksRunning { throw ExitCode(1) }
            return
        }
        let report = await SiphonAdmin.doctor(
            DoctorOptions(
                slot: self.names.slot, publication: self.names.publication,
                tables: self.names.tables.isEmpty ? nil : try TableSelection(parsing: self.names.tables)),
            settings: try self.connection.settings(applicationName: "siphon doctor"), logger: logger)
        print(self.json ? TerminalText.json(report.json) : TerminalText.message(report.description))
        if report.blocksRunning { throw ExitCode(1) }
    }
}
