// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import ArgumentParser
import Foundation
import SiphonCore
import SiphonEngine

struct Snapshot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deliver the rows tables hold now (as reads), while `siphon run` keeps streaming.",
        discussion: """
            Records the request in siphon.snapshots; the `siphon run` streaming the slot reads the tables chunk by \
            chunk in key order, each chunk reconciled with the stream by watermarks, so a row changed meanwhile is \
            never delivered out of order. A crash repeats at most the chunks in flight. Waits and shows progress \
            until every table is done, unless --no-wait.
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var names: PipelineNameOptions

    @Flag(help: "Record the request and return at once.")
    var noWait = false

    @Flag(help: "Snapshot every published table.")
    var allTables = false

    @Option(
        name: .customLong("where"),
        help: "Only the rows this SQL condition keeps, e.g. \"created_at > now() - interval '1 day'\" (run read-only).")
    var condition: String?

    func validate() throws {
        if self.allTables == !self.names.tables.isEmpty {
            throw ValidationError("name the tables with --table (repeatable), or pass --all-tables")
        }
    }

    func run() async throws {
        let logger = self.connection.makeLogger()
        let settings = try self.connection.settings(applicationName: "siphon snapshot")
        let tables = try self.names.tables.map { try TableName(parsing: $0) }
        let requested = try await SnapshotRequests.request(
            tables, slot: self.names.slot, publications: [self.names.publication], settings: settings,
            condition: self.condition, logger: logger)
        let wanted = Set(requested.map(\.table))
        let say: (String) -> Void = { FileHandle.standardError.write(Data("siphon snapshot: \($0)\n".utf8)) }
        say("requested \(requested.map { TerminalText.name($0.table.description) }.joined(separator: ", "))")
        if self.noWait { return }
        let display = SnapshotProgressDisplay(terminal: isatty(STDERR_FILENO) == 1)
        var waitedForRun = false
        while true {
            let progress = try await SnapshotRequests.progress(slot: self.names.slot, settings: settings, logger: logger)
                .filter { wanted.contains($0.table) }
            display.show(progress)
            if progress.allSatisfy({ $0.state != .pending }) {
                let failed = progress.filter { $0.state == .failed }
                guard failed.isEmpty else {
                    throw SiphonError(
                        .invalidConfiguration,
                        failed.map { "\($0.table): \($0.error ?? "failed")" }.joined(separator: "\n"))
                }
                say("done: \(progress.reduce(0) { $0 + $1.rowsDone }) rows")
                return
            }
            if !waitedForRun && !progress.contains(where: \.started) {
                waitedForRun = true
                let read = try await SnapshotRequests.slotIsRead(self.names.slot, settings: settings, logger: logger)
                say(
                    (read == true
                        ? "waiting for the `siphon run` reading slot \(TerminalText.name(self.names.slot)) to start it"
                        : "no `siphon run` reads slot \(TerminalText.name(self.names.slot)) now; the snapshot starts when one does")
                        + " (Ctrl-C stops waiting, not the snapshot)")
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }
}

/// Snapshot progress on standard error: a bar redrawn in place in a terminal, one line per change otherwise.
private final class SnapshotProgressDisplay {
    let terminal: Bool
    private var lastLines: [String] = []
    private var drawn = 0

    init(terminal: Bool) { self.terminal = terminal }

    func show(_ progress: [SnapshotProgress]) {
        let lines = progress.map(Self.line)
        guard lines != self.lastLines else { return }
        var output = ""
        if self.terminal {
            if self.drawn > 0 { output += "\u{1B}[\(self.drawn)A" }
            for line in lines { output += "\r\u{1B}[2K" + line + "\n" }
            self.drawn = lines.count
        } else {
            for (index, line) in lines.enumerated() where index >= self.lastLines.count || self.lastLines[index] != line {
                output += line + "\n"
            }
        }
        self.lastLines = lines
        FileHandle.standardError.write(Data(output.utf8))
    }

    private static func line(_ progress: SnapshotProgress) -> String {
        let name = TerminalText.name(progress.table.description)
        switch progress.state {
        case .done: return "\(name)  done, \(progress.rowsDone) rows"
        case .failed: return "\(name)  failed"
        case .pending:
            guard progress.started else { return "\(name)  waiting" }
            guard let estimated = progress.rowsEstimated, estimated > 0 else { return "\(name)  \(progress.rowsDone) rows" }
            let fraction = min(1, Double(progress.rowsDone) / Double(estimated))
            let filled = Int(fraction * 30)
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: 30 - filled)
            return "\(name)  [\(bar)] \(Int(fraction * 100))%  \(progress.rowsDone)/~\(estimated) rows"
        }
    }
}
