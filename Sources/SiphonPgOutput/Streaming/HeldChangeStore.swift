// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// Where ``ChangeAssembler`` keeps the changes and transactional messages of streamed transactions from the moment
/// they arrive until their transaction commits or rolls back.
///
/// The assembler calls it in stream order and decides everything about the protocol; a store only keeps events in
/// order per top-level transaction and forgets what it is told to. ``InMemoryHeldChangeStore`` (the default) keeps
/// everything in memory. An implementation may move events elsewhere (to disk) to bound memory, so its methods may
/// do I/O and throw; the assembler passes those errors on unchanged.
///
/// Copying a store copies what it holds in memory; an implementation that holds other resources (files) documents
/// whether its copies may still be used independently.
public protocol HeldChangeStore: Sendable {
    /// Changes (not messages) held in memory, over every transaction.
    var changesInMemory: Int { get }
    /// An estimate of the memory held events take: the sum of the `bytes` given to
    /// ``hold(_:bytes:xid:subtransactionXID:)`` for the events still in memory.
    var bytesInMemory: Int { get }

    /// Keeps `event` (a `.change` or a transactional `.message`) after everything held for the top-level
    /// transaction `xid`. `subtransactionXID` is the (sub)transaction that made it (`xid` itself when it was the
    /// top level); `bytes` is the memory the event takes.
    mutating func hold(_ event: AssembledEvent, bytes: Int, xid: UInt32, subtransactionXID: UInt32) throws

    /// Forgets every event subtransaction `subtransactionXID` of `xid` made: it rolled back.
    mutating func discard(subtransactionXID: UInt32, of xid: UInt32) throws

    /// Forgets every event held for `xid`: it rolled back.
    mutating func discard(xid: UInt32) throws

    /// Hands back the next event held for `xid` and forgets it: events in the order they were held, without those
    /// of discarded subtransactions. Returns `nil` once none is left; `xid` is then unknown to the store.
    ///
    /// Once called for `xid`, nothing more is held for it.
    mutating func takeNext(of xid: UInt32) throws -> AssembledEvent?
}
