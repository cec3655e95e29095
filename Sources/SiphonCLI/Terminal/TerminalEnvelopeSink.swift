// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonCore
import SiphonEngine

/// `siphon tail --format jsonl|debezium`: one envelope per line, as `--sink stdout` writes it, except that
/// characters a terminal may obey (DEL, C1 controls, bidi controls, U+2028/U+2029, which JSON allows raw) are
/// written as JSON escapes. The JSON means the same; only its bytes differ from `to_jsonb()` for those characters.
struct TerminalEnvelopeSink: ChangeSink {
    let name = "terminal"
    let format: ChangeFormat
    let debezium: DebeziumSource

    func deliver(_ changes: [Change]) async throws {
        var output = ""
        for change in changes {
            output += TerminalText.json(ChangeEnvelope.render(change, format: self.format, debezium: self.debezium))
            output += "\n"
        }
        do {
            try FileHandle.standardOutput.write(contentsOf: Data(output.utf8))
        } catch {
            throw SiphonError(.sinkRejected, "cannot write to standard output (closed by the reader?): \(error)")
        }
    }
}
