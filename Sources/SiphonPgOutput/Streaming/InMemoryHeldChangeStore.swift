// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// Keeps held events in memory, however many there are: a streamed transaction costs memory in proportion to its
/// size until it commits or rolls back. ``ChangeAssembler``'s default; copies are independent.
public struct InMemoryHeldChangeStore: HeldChangeStore {
    public private(set) var changesInMemory = 0
    public private(set) var bytesInMemory = 0
    private var transactions: [UInt32: Transaction] = [:]

    private struct Transaction {
        /// In the order held; reversed once handing back starts, so each event is freed as it is taken.
        var events: [HeldEvent] = []
        var handingBack = false
    }

    public init() {}

    public mutating func hold(_ event: AssembledEvent, bytes: Int, xid: UInt32, subtransactionXID: UInt32) {
        let held = HeldEvent(event: event, subtransactionXID: subtransactionXID, bytes: bytes)
        self.transactions[xid, default: Transaction()].events.append(held)
        self.changesInMemory += held.changeCount
        self.bytesInMemory += bytes
    }

    public mutating func discard(subtransactionXID: UInt32, of xid: UInt32) {
        guard var transaction = self.transactions.removeValue(forKey: xid) else { return }
        var released = HeldEvent.Totals()
        transaction.events.removeAll { held in
            guard held.subtransactionXID == subtransactionXID else { return false }
            released.add(held)
            return true
        }
        self.changesInMemory -= released.changes
        self.bytesInMemory -= released.bytes
        self.transactions[xid] = transaction
    }

    public mutating func discard(xid: UInt32) {
        guard let transaction = self.transactions.removeValue(forKey: xid) else { return }
        for held in transaction.events { self.release(held) }
    }

    public mutating func takeNext(of xid: UInt32) -> AssembledEvent? {
        guard var transaction = self.transactions.removeValue(forKey: xid) else { return nil }
        if !transaction.handingBack {
            transaction.events.reverse()
            transaction.handingBack = true
        }
        guard let held = transaction.events.popLast() else { return nil }
        self.release(held)
        self.transactions[xid] = transaction
        return held.event
    }

    private mutating func release(_ held: HeldEvent) {
        self.changesInMemory -= held.changeCount
        self.bytesInMemory -= held.bytes
    }
}

/// One held event with what the store needs to know about it.
struct HeldEvent: Sendable {
    var event: AssembledEvent
    var subtransactionXID: UInt32
    var bytes: Int

    /// 1 for a change, 0 for a message.
    var changeCount: Int {
        if case .change = self.event { 1 } else { 0 }
    }

    /// Changes and bytes of several held events.
    struct Totals {
        var changes = 0
        var bytes = 0

        mutating func add(_ held: HeldEvent) {
            self.changes += held.changeCount
            self.bytes += held.bytes
        }
    }
}
