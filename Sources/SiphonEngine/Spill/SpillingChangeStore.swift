// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore
import SiphonPgOutput

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A `HeldChangeStore` that keeps held events in memory up to a limit and writes the rest to temporary files, one
/// per streamed transaction, so a transaction of any size streams through bounded memory.
///
/// When the events in memory grow past `memoryLimit`, the transaction holding the most of them writes all of
/// them to its file, as PostgreSQL's reorder buffer spills its largest transaction. At commit the file is read back
/// in order, a chunk at a time, and the events still in memory follow; records of rolled-back subtransactions are
/// skipped. Files have no name (they are unlinked as soon as they are made), so nothing is left behind if the
/// process dies; their space is freed at the transaction's commit or abort.
///
/// Copies share their files: keep using only one copy.
public struct SpillingChangeStore: HeldChangeStore {
    /// The memory limit `init` uses when given none: 32 MiB of estimated held events.
    public static let defaultMemoryLimit = 32 << 20
    /// How many bytes a file is written and read with at a time.
    static let chunkSize = 1 << 20

    /// Past this many estimated bytes in memory (over every transaction), events are written to disk.
    public let memoryLimit: Int
    /// Where the files are made. Use a disk: on a `tmpfs` the files take memory anyway.
    public let directory: String
    public private(set) var changesInMemory = 0
    public private(set) var bytesInMemory = 0
    private var transactions: [UInt32: Transaction] = [:]

    private struct Transaction {
        /// Events held after everything in `file`, in order; reversed once handing back starts, so each event is
        /// freed as it is taken.
        var memory: [Held] = []
        var memoryBytes = 0
        var file: SpillFile?
        var fileSize: Int64 = 0
        /// Rolled-back subtransactions whose records may be in `file`.
        var discarded: Set<UInt32> = []
        var handingBack = false
        /// How far `file` was read while handing back, and the bytes read but not yet handed back.
        var readOffset: Int64 = 0
        var readBuffer = ByteBuffer()
    }

    private struct Held {
        var event: AssembledEvent
        var subtransactionXID: UInt32
        var bytes: Int

        var changeCount: Int {
            if case .change = self.event { 1 } else { 0 }
        }
    }

    /// A store that writes to files in `directory` (`$TMPDIR`, else `/tmp`, when `nil`) once the events in memory
    /// take more than `memoryLimit` bytes.
    public init(memoryLimit: Int = Self.defaultMemoryLimit, directory: String? = nil) {
        self.memoryLimit = memoryLimit
        let temporary = getenv("TMPDIR").map { String(cString: $0) } ?? ""
        self.directory = directory ?? (temporary.isEmpty ? "/tmp" : temporary)
    }

    /// Transactions that have a file now.
    public var spillFileCount: Int {
        self.transactions.values.reduce(0) { $0 + ($1.file == nil ? 0 : 1) }
    }

    public mutating func hold(_ event: AssembledEvent, bytes: Int, xid: UInt32, subtransactionXID: UInt32) throws {
        let held = Held(event: event, subtransactionXID: subtransactionXID, bytes: bytes)
        Self.append(held, to: &self.transactions[xid, default: Transaction()])
        self.changesInMemory += held.changeCount
        self.bytesInMemory += bytes
        while self.bytesInMemory > self.memoryLimit, let largest = self.largestInMemory() {
            try self.spill(largest)
        }
    }

    public mutating func discard(subtransactionXID: UInt32, of xid: UInt32) {
        guard var transaction = self.transactions.removeValue(forKey: xid) else { return }
        var changes = 0
        var bytes = 0
        transaction.memory.removeAll { held in
            guard held.subtransactionXID == subtransactionXID else { return false }
            changes += held.changeCount
            bytes += held.bytes
            return true
        }
        transaction.memoryBytes -= bytes
        self.changesInMemory -= changes
        self.bytesInMemory -= bytes
        if transaction.file != nil { transaction.discarded.insert(subtransactionXID) }
        self.transactions[xid] = transaction
    }

    public mutating func discard(xid: UInt32) {
        guard let transaction = self.transactions.removeValue(forKey: xid) else { return }
        self.changesInMemory -= transaction.memory.reduce(0) { $0 + $1.changeCount }
        self.bytesInMemory -= transaction.memoryBytes
    }

    public mutating func takeNext(of xid: UInt32) throws -> AssembledEvent? {
        guard var transaction = self.transactions.removeValue(forKey: xid) else { return nil }
        if !transaction.handingBack {
            transaction.handingBack = true
            transaction.memory.reverse()
        }
        if transaction.file != nil {
            do {
                while let record = try Self.readRecord(of: &transaction) {
                    guard !transaction.discarded.contains(record.subtransactionXID) else { continue }
                    self.transactions[xid] = transaction
                    return record.event
                }
            } catch {
                throw SiphonError(
                    .decodingFailed,
                    "cannot read back the changes of streamed transaction \(xid) that were spilled to a file in "
                        + "\(self.directory): \(error)",
                    underlying: error
                )
            }
            // Free the disk space before the events in memory go.
            transaction.file = nil
            transaction.readBuffer = ByteBuffer()
        }
        guard let held = transaction.memory.popLast() else { return nil }
        transaction.memoryBytes -= held.bytes
        self.changesInMemory -= held.changeCount
        self.bytesInMemory -= held.bytes
        self.transactions[xid] = transaction
        return held.event
    }

    private static func append(_ held: Held, to transaction: inout Transaction) {
        transaction.memory.append(held)
        transaction.memoryBytes += held.bytes
    }

    /// The transaction with the most bytes in memory that may still be written to its file.
    private func largestInMemory() -> UInt32? {
        self.transactions.lazy.filter { !$0.value.handingBack && !$0.value.memory.isEmpty }
            .max { $0.value.memoryBytes < $1.value.memoryBytes }?.key
    }

    /// Writes every event `xid` holds in memory to its file, after what the file holds.
    private mutating func spill(_ xid: UInt32) throws {
        guard var transaction = self.transactions.removeValue(forKey: xid) else { return }
        do {
            let file = try transaction.file ?? SpillFile(directory: self.directory)
            transaction.file = file
            var chunk = ByteBufferAllocator().buffer(capacity: Self.chunkSize)
            for held in transaction.memory {
                SpillRecord.append(held.event, subtransactionXID: held.subtransactionXID, to: &chunk)
                if chunk.readableBytes >= Self.chunkSize {
                    try file.write(chunk, at: transaction.fileSize)
                    transaction.fileSize += Int64(chunk.readableBytes)
                    chunk.clear()
                }
            }
            if chunk.readableBytes > 0 {
                try file.write(chunk, at: transaction.fileSize)
                transaction.fileSize += Int64(chunk.readableBytes)
            }
        } catch {
            self.transactions[xid] = transaction
            throw SiphonError(
                .decodingFailed,
                "cannot spill the changes of streamed transaction \(xid) to a file in \(self.directory): \(error)",
                underlying: error
            )
        }
        self.changesInMemory -= transaction.memory.reduce(0) { $0 + $1.changeCount }
        self.bytesInMemory -= transaction.memoryBytes
        // Not keeping the capacity: it would be memory the limit no longer counts, once per spilled transaction.
        transaction.memory.removeAll()
        transaction.memoryBytes = 0
        self.transactions[xid] = transaction
    }

    /// The next record of `transaction`'s file, reading the file a chunk at a time; `nil` at its end.
    private static func readRecord(
        of transaction: inout Transaction
    ) throws -> (subtransactionXID: UInt32, event: AssembledEvent)? {
        guard let file = transaction.file else { return nil }
        while true {
            let missing = SpillRecord.missingBytes(in: transaction.readBuffer)
            if missing == 0 { return try SpillRecord.read(from: &transaction.readBuffer) }
            let left = transaction.fileSize - transaction.readOffset
            guard left > 0 else {
                guard transaction.readBuffer.readableBytes == 0 else {
                    throw SpillRecordError(description: "the file ends inside a record")
                }
                return nil
            }
            transaction.readBuffer.discardReadBytes()
            let count = Int(min(Int64(max(missing, Self.chunkSize)), left))
            let got = try file.read(count, at: transaction.readOffset, into: &transaction.readBuffer)
            guard got > 0 else { throw SpillRecordError(description: "the file is shorter than what was written") }
            transaction.readOffset += Int64(got)
        }
    }
}
