// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
@testable import SiphonEngine
import Testing

@Suite struct AckTrackerTests {
    @Test func confirmsOnlyAfterTheTransactionsChangesWereDelivered() {
        var tracker = AckTracker<LSN>()
        tracker.transactionBegan()
        tracker.changeQueued()
        tracker.changeQueued()
        #expect(tracker.idlePositionReported(LSN(rawValue: 50)) == nil)
        tracker.transactionCommitted(at: LSN(rawValue: 40))
        #expect(tracker.idlePositionReported(LSN(rawValue: 50)) == nil)
        #expect(tracker.queuedChangesDelivered() == LSN(rawValue: 40))
        #expect(tracker.confirmed == LSN(rawValue: 40))
    }

    @Test func partOfALargeTransactionDeliveredConfirmsNothing() {
        var tracker = AckTracker<Int>()
        tracker.transactionBegan()
        tracker.changeQueued()
        #expect(tracker.queuedChangesDelivered() == nil)
        tracker.changeQueued()
        tracker.transactionCommitted(at: 99)
        #expect(tracker.queuedChangesDelivered() == 99)
    }

    @Test func anIdlePositionAdvancesAFilteredSourceOnceAndNeverBackwards() {
        var tracker = AckTracker<Int>()
        tracker.transactionBegan()
        tracker.transactionCommitted(at: 20)
        #expect(tracker.idlePositionReported(30) == 30)
        #expect(tracker.idlePositionReported(30) == nil)
        #expect(tracker.idlePositionReported(25) == nil)
        tracker.transactionBegan()
        #expect(tracker.idlePositionReported(40) == nil)
    }

    @Test func anAbandonedTransactionConfirmsNothingButLetsEarlierOnesThrough() {
        var tracker = AckTracker<Int>()
        tracker.transactionBegan()
        tracker.changeQueued()
        tracker.transactionCommitted(at: 30)
        tracker.transactionBegan()
        tracker.changeQueued()
        tracker.changeQueued()
        tracker.openTransactionAbandoned(changes: 2)
        #expect(!tracker.inTransaction && tracker.undelivered == 1)
        #expect(tracker.queuedChangesDelivered() == 30)
        #expect(tracker.idlePositionReported(50) == 50)
    }
}
