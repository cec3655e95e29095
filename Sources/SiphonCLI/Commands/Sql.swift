// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import ArgumentParser
import Foundation
import SiphonCore
import SiphonTrigger

/// The choices of trigger capture, shared by `siphon sql` and the `--mode trigger` forms of setup, teardown, doctor
/// and run. Tables come from each command's own `--table`.
struct TriggerCaptureOptions: ParsableArguments {
    @Option(help: "Outbox to capture into (the default target): a table in the trigger schema.")
    var outbox: String?

    @Option(help: "Notify channel to send changes on instead of an outbox (best effort; see docs/trigger-mode.md).")
    var channel: String?

    @Option(name: .customLong("operation"), help: "Operation to capture: insert, update, delete, truncate (repeatable; default all).")
    var operations: [String] = []

    @Option(name: .customLong("column"), help: "Capture an update only when this column changed (repeatable).")
    var columns: [String] = []

    @Option(name: .customLong("when"), help: "Trigger WHEN condition, e.g. 'OLD.canceled IS DISTINCT FROM NEW.canceled'.")
    var condition: String?

    @Option(help: "What old rows carry: identity (as logical replication would), key, or full.")
    var oldRow: String = OldRowChoice.replicaIdentity.rawValue

    @Flag(help: "Also capture writes made through Siphon's own sessions (SET siphon.origin = 'siphon').")
    var captureOwnWrites = false

    @Option(help: "Schema for Siphon's outbox and functions.")
    var triggerSchema: String = TriggerCapture.defaultSchema

    @Option(
        name: .customLong("group"),
        help: "Outbox consumer group to register, NAME or NAME:PARTITIONS (repeatable; default default:1).")
    var groups: [String] = []

    @Flag(help: "Do not wake readers with a notification; they find changes by polling.")
    var noWakeUp = false

    func validate() throws {
        if self.outbox != nil && self.channel != nil {
            throw ValidationError("--outbox and --channel exclude each other: a capture goes to one target")
        }
    }

    /// The target: the named channel, else the named (or default) outbox.
    var target: CaptureTarget {
        if let channel { return .notify(channel: channel) }
        return .outbox(name: self.outbox ?? "outbox")
    }

    /// The consumer groups of `--group`.
    func consumerGroups() throws -> [ConsumerGroup] {
        guard !self.groups.isEmpty else { return [ConsumerGroup()] }
        return try self.groups.map { text in
            let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { return ConsumerGroup(name: text) }
            guard let partitions = Int(parts[1]) else {
                throw SiphonError(
                    .invalidConfiguration, "--group \(text): the partition count after ':' must be a number")
            }
            return ConsumerGroup(name: String(parts[0]), partitions: partitions)
        }
    }

    /// The specification for `tables`, written as SQL writes them (wildcards allowed).
    func specification(tables: [String]) throws -> CaptureSpecification {
        guard !tables.isEmpty else {
            throw SiphonError(.invalidConfiguration, "name the tables to capture with --table (repeatable)")
        }
        var operations = Set<Change.Operation>()
        for text in self.operations {
            guard let operation = Change.Operation(rawValue: text.lowercased()) else {
                throw SiphonError(
                    .invalidConfiguration, "--operation \(text): use insert, update, delete or truncate")
            }
            operations.insert(operation)
        }
        guard let oldRow = OldRowChoice(rawValue: self.oldRow) else {
            throw SiphonError(.invalidConfiguration, "--old-row \(self.oldRow): use identity, key or full")
        }
        let captures = try tables.map { table in
            TableCapture(
                try TablePattern(parsing: table),
                operations: operations.isEmpty ? Set(Change.Operation.allCases) : operations, columns: self.columns,
                condition: self.condition, oldRow: oldRow)
        }
        return CaptureSpecification(
            schema: self.triggerSchema, target: self.target, tables: captures,
            captureOwnWrites: self.captureOwnWrites, groups: try self.consumerGroups(), wakeUpReaders: !self.noWakeUp)
    }
}

struct Sql: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the SQL of trigger capture (outbox or notify channel), or write it as migration files.",
        discussion: """
            Reads the tables' columns and keys from the database (it changes nothing), then prints the up \
            migration: Siphon's schema, the outbox table or notify function, and per-table triggers. --down prints \
            the removal instead. --out DIR writes both as <timestamp>_<name>.up.sql and .down.sql, for teams that \
            apply schema changes with their own migration tool. `siphon setup --mode trigger` applies the same SQL \
            directly.
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var capture: TriggerCaptureOptions

    @Option(
        name: .customLong("table"),
        help: "Table to capture, written as SQL does: schema.table, 'public.\"Order Items\"', wildcards * (repeatable).")
    var tables: [String] = []

    @Flag(help: "Print the down (removal) SQL instead of the up SQL.")
    var down = false

    @Flag(help: "Only the tables' triggers, for adding tables to an outbox or channel an earlier migration created.")
    var triggersOnly = false

    @Option(help: "Write timestamped up/down .sql migration files into this directory instead of printing.")
    var out: String?

    func run() async throws {
        let logger = self.connection.makeLogger()
        let migration = try await TriggerCapture.plan(
            try self.capture.specification(tables: self.tables), triggersOnly: self.triggersOnly,
            settings: try self.connection.settings(applicationName: "siphon sql"), logger: logger)
        for note in migration.notes {
            FileHandle.standardError.write(Data("note: \(TerminalText.message(note))\n".utf8))
        }
        if let out {
            let paths = try migration.write(to: out)
            print(paths.up)
            print(paths.down)
        } else {
            print(self.down ? migration.down : migration.up, terminator: "")
        }
    }
}
