// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Decides how far a source may be acknowledged: only past transactions whose every change every sink made durable.
///
/// Pure bookkeeping, no I/O. Positions come from the source in order; the pipeline reports deliveries.
struct AckTracker<Position: Comparable> {
    /// The position the source was last told is durable, in this session.
    private(set) var confirmed: Position?
    /// End of the last transaction whose changes are all queued for delivery (or filtered out).
    private var committedEnd: Position?
    /// Whether a transaction is open: its changes are still arriving.
    private(set) var inTransaction = false
    /// Changes handed over but not yet delivered.
    private(set) var undelivered = 0

    mutating func transactionBegan() { self.inTransaction = true }

    mutating func changeQueued() { self.undelivered += 1 }

    /// The open transaction is given up on before any of it was delivered: its `changes` queued changes are dropped,
    /// and since it never commits here, nothing of it is confirmed (the source sends it again).
    mutating func openTransactionAbandoned(changes: Int) {
        self.inTransaction = false
        self.undelivered -= changes
    }

    /// The transaction ended at `position`; it becomes confirmable once its queued changes are delivered.
    mutating func transactionCommitted(at position: Position) {
        self.inTransaction = false
        self.committedEnd = max(self.committedEnd ?? position, position)
    }

    /// The sinks made every queued change durable. Returns the position to confirm, if it moved.
    mutating func queuedChangesDelivered() -> Position? {
        self.undelivered = 0
        return self.takeConfirmable()
    }

    /// The source reported a position with nothing before it pending (keepalive, heartbeat): it can be confirmed
    /// when no transaction is open and nothing is undelivered.
    mutating func idlePositionReported(_ position: Position) -> Position? {
        guard !self.inTransaction, self.undelivered == 0 else { return nil }
        self.committedEnd = max(self.committedEnd ?? position, position)
        return self.takeConfirmable()
    }

    private mutating func takeConfirmable() -> Position? {
        guard self.undelivered == 0, let end = self.committedEnd else { return nil }
        if let confirmed = self.confirmed, end <= confirmed { return nil }
        self.confirmed = end
        self.committedEnd = nil
        return end
    }
}
