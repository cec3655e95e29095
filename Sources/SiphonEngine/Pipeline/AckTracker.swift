// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Decides how far the slot may be confirmed: only past transactions whose every change every sink made durable.
///
/// Pure bookkeeping, no I/O. Positions come from the stream in order; the pipeline reports deliveries.
struct AckTracker {
    /// The position PostgreSQL was last told is durable.
    private(set) var confirmed: LSN
    /// End LSN of the last transaction whose changes are all queued for delivery (or filtered out).
    private var committedEnd: LSN?
    /// Whether a transaction is open: its changes are still arriving.
    private(set) var inTransaction = false
    /// Changes handed over but not yet delivered.
    private(set) var undelivered = 0

    init(confirmed: LSN) { self.confirmed = confirmed }

    mutating func transactionBegan() { self.inTransaction = true }

    mutating func changeQueued() { self.undelivered += 1 }

    /// The open transaction is given up on before any of it was delivered: its `changes` queued changes are dropped,
    /// and since it never commits here, nothing of it is confirmed (the server sends it again).
    mutating func openTransactionAbandoned(changes: Int) {
        self.inTransaction = false
        self.undelivered -= changes
    }

    /// The transaction ended at `endLSN`; it becomes confirmable once its queued changes are delivered.
    mutating func transactionCommitted(endLSN: LSN) {
        self.inTransaction = false
        self.committedEnd = max(self.committedEnd ?? endLSN, endLSN)
    }

    /// The sinks made every queued change durable. Returns the position to confirm, if it moved.
    mutating func queuedChangesDelivered() -> LSN? {
        self.undelivered = 0
        return self.takeConfirmable()
    }

    /// Nothing is in flight: a position the server reports as sent (keepalive, heartbeat) can be confirmed.
    /// `openStreamedTransactions` counts v2 streamed transactions still waiting for their commit.
    mutating func idlePositionReported(_ lsn: LSN, openStreamedTransactions: Bool) -> LSN? {
        guard !self.inTransaction, self.undelivered == 0, !openStreamedTransactions else { return nil }
        self.committedEnd = max(self.committedEnd ?? lsn, lsn)
        return self.takeConfirmable()
    }

    private mutating func takeConfirmable() -> LSN? {
        guard self.undelivered == 0, let end = self.committedEnd, end > self.confirmed else { return nil }
        self.confirmed = end
        self.committedEnd = nil
        return end
    }
}
