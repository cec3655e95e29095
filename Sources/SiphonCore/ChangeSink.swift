// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// Somewhere changes go: a file, stdout, Swift handlers, a webhook, a broker, another database.
///
/// The pipeline calls `deliver` with changes in commit order and acknowledges them to PostgreSQL only after
/// `deliver` returned for every sink. So `deliver` must return only once the changes are durable in the sink
/// (written and fsynced, accepted by the remote side), and throw if any of them might not be.
public protocol ChangeSink: Sendable {
    /// A short name for logs and metrics, e.g. `jsonl:/var/siphon/out.jsonl`.
    var name: String { get }

    /// Delivers `changes`, in order, durably. Changes can repeat after a crash (same `Change.ID`); a sink that can
    /// drop repeats should do so.
    func deliver(_ changes: [Change]) async throws

    /// Called once when the pipeline stops, after the last `deliver`.
    func close() async throws
}

extension ChangeSink {
    public func close() async throws {}
}
