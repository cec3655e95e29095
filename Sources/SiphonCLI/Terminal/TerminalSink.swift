// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonCore

/// Prints changes for a person at a terminal: one coloured line per change, values as JSON.
///
/// Names and values come from the database, so everything printed goes through `TerminalText` first: a table name
/// or value cannot drive the terminal.
struct TerminalSink: ChangeSink {
    let name = "terminal"
    let colour: Bool

    init(colour: Bool = isatty(STDOUT_FILENO) == 1) { self.colour = colour }

    func deliver(_ changes: [Change]) async throws {
        var output = ""
        for change in changes { self.append(change, to: &output) }
        do {
            try FileHandle.standardOutput.write(contentsOf: Data(output.utf8))
        } catch {
            throw SiphonError(.sinkRejected, "cannot write to standard output (closed by the reader?): \(error)")
        }
    }

    func append(_ change: Change, to output: inout String) {
        let (label, code) =
            switch change.operation {
            case .insert: ("INSERT", "32")
            case .update: ("UPDATE", "33")
            case .delete: ("DELETE", "31")
            case .truncate: ("TRUNCATE", "35")
            case .read: ("READ", "36")
            }
        output += self.paint(label.padding(toLength: 8, withPad: " ", startingAt: 0), code)
        output += " " + self.paint(TerminalText.name(change.schema) + "." + TerminalText.name(change.table), "1")
        output += self.paint("  xid \(change.xid.map(String.init) ?? "-") lsn \(change.lsn)", "2") + "\n"
        switch change.operation {
        case .insert, .read:
            output += "    new " + TerminalText.json(change.new?.jsonObject ?? "null") + "\n"
        case .update:
            if let old = change.old { output += "    old " + TerminalText.json(old.jsonObject) + "\n" }
            output += "    new " + TerminalText.json(change.new?.jsonObject ?? "null") + "\n"
            if !change.unchangedToast.isEmpty {
                let columns = change.unchangedToast.map(TerminalText.name).joined(separator: ", ")
                output += self.paint("    unchanged (TOAST): \(columns)", "2") + "\n"
            }
        case .delete:
            output += "    old " + TerminalText.json((change.old ?? change.key).jsonObject) + "\n"
        case .truncate:
            if let options = change.truncateOptions, options.cascade || options.restartIdentity {
                output += "    " + [options.cascade ? "CASCADE" : nil, options.restartIdentity ? "RESTART IDENTITY" : nil]
                    .compactMap { $0 }.joined(separator: ", ") + "\n"
            }
        }
    }

    private func paint(_ text: String, _ code: String) -> String {
        self.colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
}
