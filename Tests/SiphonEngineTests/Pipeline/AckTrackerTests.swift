// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
@testable import SiphonEngine
import Testing

@Suite struct AckTrackerTests {
    @Test func confirmsOnlyAfterTheTransactionsChangesWereDelivered() {
        var tracker = AckTracker(confirmed: LSN(rawValue: 10))
        tracker.transactionBegan()
        tracker.changeQueued()
        tracker.changeQueued()
        #expect(tracker.idlePositionReported(LSN(rawValue: 50), openStreamedTransactions: false) == nil)
        tracker.transactionCommitted(endLSN: LSN(rawValue: 40))
        #expect(tracker.idlePositionReported(LSN(rawValue: 50), openStreamedTransactions: false) == nil)
        #expect(tracker.queuedChangesDelivered() == LSN(rawValue: 40))
        #expect(tracker.confirmed == LSN(rawValue: 40))
    }

    @Test func partOfALargeTransactionDeliveredConfirmsNothing() {
        var tracker = AckTracker(confirmed: .zero)
        tracker.transactionBegan()
        tracker.changeQueued()
        #expect(tracker.queuedChangesDelivered() == nil)
        tracker.changeQueued()
        tracker.transactionCommitted(endLSN: LSN(rawValue: 99))
        #expect(tracker.queuedChangesDelivered() == LSN(rawValue: 99))
    }

    @Test func idleKeepaliveAdvancesAFilteredSlot() {
        var tracker = AckTracker(confirmed: LSN(rawValue: 5))
        tracker.transactionBegan()
        tracker.transactionCommitted(endLSN: LSN(rawValue: 20))
        #expect(tracker.idlePositionReported(LSN(rawValue: 30), openStreamedTransactions: false) == LSN(rawValue: 30))
        #expect(tracker.idlePositionReported(LSN(rawValue: 30), openStreamedTransactions: false) == nil)
        #expect(tracker.idlePositionReported(LSN(rawValue: 40), openStreamedTransactions: true) == nil)
    }

    @Test func anAbandonedTransactionConfirmsNothingButLetsEarlierOnesThrough() {
        var tracker = AckTracker(confirmed: .zero)
        tracker.transactionBegan()
        tracker.changeQueued()
        tracker.transactionCommitted(endLSN: LSN(rawValue: 30))
        tracker.transactionBegan()
        tracker.changeQueued()
        tracker.changeQueued()
        tracker.openTransactionAbandoned(changes: 2)
        #expect(!tracker.inTransaction && tracker.undelivered == 1)
        #expect(tracker.queuedChangesDelivered() == LSN(rawValue: 30))
        #expect(tracker.idlePositionReported(LSN(rawValue: 50), openStreamedTransactions: false) == LSN(rawValue: 50))
    }
}
