// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// A sink that keeps its changes' source and the slot position it was last confirmed at, and drops repeats.
///
/// Change ids compare by `(commitLSN, index)`, which only means something within one source: a different cluster, a
/// restored one on another timeline, or a slot dropped and created again reuses or skips positions. So before the
/// first delivery of a session the pipeline binds the sink to the source it reads, and before every acknowledgement
/// it tells the sink how far it confirms.
public protocol SourceBoundSink: ChangeSink {
    /// Refuses (throws `SiphonError`) a source other than the one the sink already holds changes of, and, when
    /// `slotPosition` is given, a slot that stands beyond the position last confirmed for this sink: changes in
    /// between were confirmed to the server without reaching the sink.
    func bind(to source: SourceIdentity, slotPosition: LSN?) async throws

    /// The pipeline is about to confirm `lsn` to the server; `seenUpTo` is the furthest position the server reported
    /// sending, which the sink may record instead (no slot created later can start at or below it).
    ///
    /// Returns the position the pipeline may confirm now: `lsn` once the sink recorded a position at or beyond it,
    /// or an earlier one it recorded before, when it puts the write off (a sink whose record costs a round trip to
    /// another server); the rest is confirmed at a later call. A crash in between only sends again changes the sink
    /// drops as repeats.
    func confirming(_ lsn: LSN, seenUpTo: LSN) async throws -> LSN
}
