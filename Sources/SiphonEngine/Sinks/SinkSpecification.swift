// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Where changes go, as the `--sink` flag names it: `stdout` or `jsonl:PATH`.
///
/// A new kind of sink is a new case here, a line in ``forms``, a branch in ``init(parsing:)`` and one in
/// ``makeSink(format:debezium:)``; the compiler points at every switch that needs it.
public enum SinkSpecification: Sendable, Hashable, CustomStringConvertible {
    /// One JSON line per change on standard output.
    case standardOutput
    /// One JSON line per change appended to the file at `path`, fsynced, repeats dropped.
    case jsonLinesFile(path: String)
    /// Discards changes (and so acknowledges them): for benchmarks and for draining a slot on purpose.
    case discard

    /// The forms `--sink` accepts, for help texts and error messages.
    public static let forms = ["stdout", "jsonl:PATH", "null"]

    /// Parses a `--sink` value. Throws `SiphonError` (`.invalidConfiguration`) naming the valid forms.
    public init(parsing text: String) throws {
        let kind: Substring
        let argument: Substring?
        if let colon = text.firstIndex(of: ":") {
            kind = text[..<colon]
            argument = text[text.index(after: colon)...]
        } else {
            kind = Substring(text)
            argument = nil
        }
        switch kind {
        case "stdout":
            guard argument == nil else {
                throw Self.invalid("the stdout sink takes no argument: write --sink stdout, not --sink \(text)")
            }
            self = .standardOutput
        case "jsonl":
            guard let argument, !argument.isEmpty else {
                throw Self.invalid("the jsonl sink needs a file path: --sink jsonl:/var/lib/siphon/changes.jsonl")
            }
            self = .jsonLinesFile(path: String(argument))
        case "null":
            guard argument == nil else { throw Self.invalid("the null sink takes no argument: write --sink null") }
            self = .discard
        case "" where argument == nil:
            throw Self.invalid("--sink needs a value; valid sinks: \(Self.forms.joined(separator: ", "))")
        default:
            throw Self.invalid("unknown sink \"\(text)\"; valid sinks: \(Self.forms.joined(separator: ", "))")
        }
    }

    /// The `--sink` text for this sink.
    public var description: String {
        switch self {
        case .standardOutput: "stdout"
        case .jsonLinesFile(let path): "jsonl:\(path)"
        case .discard: "null"
        }
    }

    /// Opens the sink. Throws `SiphonError` when it cannot (a file that cannot be opened, say).
    public func makeSink(format: ChangeFormat, debezium: DebeziumSource = DebeziumSource()) throws -> any ChangeSink {
        switch self {
        case .standardOutput: StandardOutputSink(format: format, debezium: debezium)
        case .jsonLinesFile(let path): try JSONLinesFileSink(path: path, format: format, debezium: debezium)
        case .discard: DiscardingSink()
        }
    }

    private static func invalid(_ message: String) -> SiphonError {
        SiphonError(.invalidConfiguration, message)
    }
}
