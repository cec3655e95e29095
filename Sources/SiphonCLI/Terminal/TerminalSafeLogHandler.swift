// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging

/// A log handler for standard error that passes every message, metadata value and error through
/// `TerminalText.message` first: log lines quote table names and server messages an attacker may have written.
struct TerminalSafeLogHandler: LogHandler {
    var inner: StreamLogHandler

    var logLevel: Logger.Level {
        get { self.inner.logLevel }
        set { self.inner.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { self.inner.metadata }
        set { self.inner.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { self.inner.metadataProvider }
        set { self.inner.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.inner[metadataKey: key] }
        set { self.inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        self.inner.log(event: Self.safe(event))
    }

    /// `event` with its message, metadata values and error (moved into metadata, as `StreamLogHandler` prints it)
    /// passed through `TerminalText.message`.
    static func safe(_ event: LogEvent) -> LogEvent {
        var event = event
        event.message = "\(TerminalText.message(event.message.description))"
        var metadata = event.metadata ?? [:]
        if let error = event.error {
            metadata["error.message"] = "\(error)"
            metadata["error.type"] = "\(String(reflecting: type(of: error)))"
            event.error = nil
        }
        event.metadata = metadata.isEmpty ? nil : metadata.mapValues(Self.safe)
        return event
    }

    private static func safe(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(TerminalText.message(text))
        case .stringConvertible(let convertible): .string(TerminalText.message(convertible.description))
        case .dictionary(let dictionary): .dictionary(dictionary.mapValues(Self.safe))
        case .array(let array): .array(array.map(Self.safe))
        }
    }
}
