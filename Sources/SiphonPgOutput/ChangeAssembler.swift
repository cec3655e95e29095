// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore

/// What ``ChangeAssembler`` hands to the engine, in commit order.
public enum AssembledEvent: Sendable, Equatable {
    /// A committed transaction starts delivering its changes.
    case begin(xid: UInt32, commitLSN: LSN, commitTime: PostgresTimestamp)
    /// One row change (or one truncated table), fully rendered.
    case change(Change)
    /// The transaction is complete; once it is delivered, the slot may confirm up to `endLSN`.
    case commit(xid: UInt32, commitLSN: LSN, endLSN: LSN, commitTime: PostgresTimestamp)
    /// A `pg_logical_emit_message()` message. Transactional ones sit between their transaction's begin and commit;
    /// the others arrive on their own, outside any transaction (heartbeats use these).
    case message(transactional: Bool, prefix: String, content: ByteBuffer, lsn: LSN)
}

/// Turns decoded pgoutput messages into ``AssembledEvent``s: changes with their table, rows rendered as JSON,
/// stable ids and transaction boundaries.
///
/// Pure: feed it messages in stream order with ``consume(_:into:limit:)``. It does no I/O; only the
/// ``HeldChangeStore`` it is given may.
///
/// Protocol version 2 streams transactions larger than `logical_decoding_work_mem` while they are still running,
/// in blocks interleaved with other transactions. Their changes are rendered as they arrive and held, per
/// top-level transaction, in a ``HeldChangeStore`` until Stream Commit (emitted then as begin, changes, commit) or
/// Stream Abort (dropped wholly, or only the aborted subtransaction's changes). The default store keeps them in
/// memory, so a huge streamed transaction costs memory in proportion to its size; a store that moves them to disk
/// bounds it. ``bufferedChangeCount`` and ``bufferedBytes`` say what is held in memory.
///
/// A Stream Commit completes every change its transaction held, which may be millions. Pass `limit` to
/// ``consume(_:into:limit:)`` to take them in parts: while ``hasPendingEvents`` is true, take the rest with
/// ``emitPendingEvents(into:limit:)`` before consuming the next message.
///
/// Relation and Type messages inside a stream block describe the schema as that transaction sees it. They apply
/// to that transaction's later changes (even when sent inside a subtransaction that is later rolled back, because
/// pgoutput does not send them again for the same transaction) and become the schema for everyone at its commit.
public struct ChangeAssembler: Sendable {
    /// The slot name: the `source` of every change id.
    public let source: String
    public var renderer: ValueRenderer
    /// Told which value could not be decoded and went out as the server sent it (text as a JSON string, binary as
    /// a `"\\x…"` string), so that it can be logged; one odd value never stops the stream.
    public var valueFallbackObserver: (@Sendable (String) -> Void)?
    /// The primary key of tables whose Relation message marks more columns as key than it (`REPLICA IDENTITY FULL`
    /// marks every column), by relation OID: `key` holds only these columns, in table order.
    public var primaryKeys: [UInt32: Set<String>] = [:]
    /// The relations and types described by the stream so far, outside uncommitted streamed transactions.
    public private(set) var relations = RelationCache()
    /// The commit LSN of the last transaction emitted; a later transaction may not commit below it.
    public private(set) var lastCommitLSN = LSN.zero
    /// Changes held for streamed transactions that have not committed or aborted yet, in memory or elsewhere.
    public private(set) var heldChangeCount = 0
    /// Where held changes wait for their transaction's end.
    private var heldChanges: any HeldChangeStore
    /// The streamed transaction whose Stream Commit is being emitted, while events of it are still pending.
    private var committing: CommittingTransaction?

    /// The (not streamed) transaction between Begin and Commit.
    private var transaction: Transaction?
    /// The top-level xid of the stream block being received, between Stream Start and Stream Stop.
    private var streamBlockXID: UInt32?
    /// Streamed transactions that have not committed or aborted yet, by top-level xid.
    private var streamedTransactions: [UInt32: StreamedTransaction] = [:]

    private struct Transaction {
        var xid: UInt32
        var commitLSN: LSN
        var commitTime: PostgresTimestamp
        var origin: String?
        var nextIndex = 0
    }

    private struct StreamedTransaction {
        /// Relations and types sent inside this transaction's stream blocks.
        var relations = RelationCache()
        var origin: String?
        /// Changes held in the store, by the (sub)transaction that made them. Held changes still lack their commit
        /// LSN, index, commit time and origin.
        var changeCounts: [UInt32: Int] = [:]

        var changeCount: Int { self.changeCounts.values.reduce(0, +) }
    }

    private struct CommittingTransaction {
        var commit: PgOutputMessage.StreamCommit
        var origin: String?
        /// The index of the next change: its position among the transaction's surviving changes.
        var nextIndex = 0
    }

    /// What every change of one transaction shares.
    private struct ChangeContext {
        var xid: UInt32
        var commitLSN: LSN
        var commitTime: PostgresTimestamp
        var origin: String?
        var streamed: RelationCache?
    }

    /// An assembler that holds the changes of streamed transactions in `heldChanges`.
    public init(
        source: String,
        renderer: ValueRenderer,
        heldChanges: any HeldChangeStore = InMemoryHeldChangeStore()
    ) {
        self.source = source
        self.renderer = renderer
        self.heldChanges = heldChanges
    }

    /// Changes held in memory for streamed transactions that have not committed or aborted yet; with a store that
    /// moves changes to disk, ``heldChangeCount`` counts those too.
    public var bufferedChangeCount: Int { self.heldChanges.changesInMemory }

    /// An estimate of the memory held changes and messages take: rendered JSON plus fixed per-value costs.
    public var bufferedBytes: Int { self.heldChanges.bytesInMemory }

    /// The streamed transaction whose stream block is being received: Relation messages now describe the schema as
    /// that uncommitted transaction sees it.
    public var streamBlockTransaction: UInt32? { self.streamBlockXID }

    /// Whether a Stream Commit's events are still waiting for ``emitPendingEvents(into:limit:)``.
    public var hasPendingEvents: Bool { self.committing != nil }

    /// Consumes the next message of the stream and returns every event it completes (often none or one).
    public mutating func consume(_ message: PgOutputMessage) throws -> [AssembledEvent] {
        var events: [AssembledEvent] = []
        try self.consume(message, into: &events)
        return events
    }

    /// Consumes the next message of the stream and appends the events it completes to `events`. A Stream Commit
    /// appends at most `limit` events; the rest of its transaction's events are then pending.
    ///
    /// Throws `PgOutputDecodingError` when the message breaks the protocol's order or names an unknown relation, and
    /// the held change store's error when it fails; the assembler should then be discarded with the connection. A
    /// value that cannot be decoded is not an error (see ``valueFallbackObserver``).
    ///
    /// - Precondition: no events are pending (``hasPendingEvents`` is false) and `limit` is at least 1.
    public mutating func consume(
        _ message: PgOutputMessage,
        into events: inout [AssembledEvent],
        limit: Int = .max
    ) throws {
        precondition(limit > 0, "limit must be at least 1")
        precondition(
            self.committing == nil,
            "the events of the Stream Commit of transaction \(self.committing?.commit.xid ?? 0) are still pending"
        )
        let step: StoreStep
        do throws(PgOutputDecodingError) {
            step = try self.dispatch(message, into: &events)
        } catch {
            var error = error
            if error.messageType == nil { error.messageType = message.typeByte }
            throw error
        }
        switch step {
        case .none:
            break
        case .hold(let xid, let subtransactionXID, let held):
            for (event, bytes) in held {
                try self.heldChanges.hold(event, bytes: bytes, xid: xid, subtransactionXID: subtransactionXID)
            }
        case .discardSubtransaction(let subtransactionXID, let xid):
            try self.heldChanges.discard(subtransactionXID: subtransactionXID, of: xid)
        case .discardTransaction(let xid):
            try self.heldChanges.discard(xid: xid)
        case .emitHeld:
            if limit > 1 { try self.emitPendingEvents(into: &events, limit: limit - 1) }
        }
    }

    /// Appends the next pending events of a Stream Commit, at most `limit`, the last of them its commit event.
    public mutating func emitPendingEvents(into events: inout [AssembledEvent], limit: Int = .max) throws {
        precondition(limit > 0, "limit must be at least 1")
        guard var committing = self.committing else { return }
        var emitted = 0
        while emitted < limit {
            let next: AssembledEvent?
            do {
                next = try self.heldChanges.takeNext(of: committing.commit.xid)
            } catch {
                self.committing = committing
                throw error
            }
            emitted += 1
            guard let event = next else {
                let commit = committing.commit
                events.append(
                    .commit(
                        xid: commit.xid,
                        commitLSN: commit.commitLSN,
                        endLSN: commit.endLSN,
                        commitTime: commit.commitTime
                    )
                )
                self.committing = nil
                return
            }
            guard case .change(var change) = event else {
                events.append(event)
                continue
            }
            change.id = Change.ID(
                source: self.source,
                commitLSN: committing.commit.commitLSN,
                index: committing.nextIndex
            )
            change.commitTime = committing.commit.commitTime
            change.origin = committing.origin
            events.append(.change(change))
            committing.nextIndex += 1
        }
        self.committing = committing
    }

    /// What the held change store does once a message passed the protocol's checks. The store may do I/O and fail
    /// with its own errors, so `dispatch` only decides and `consume` calls the store.
    private enum StoreStep {
        case none
        /// Hold these events of streamed transaction `xid`, made by its (sub)transaction `subtransactionXID`.
        case hold(xid: UInt32, subtransactionXID: UInt32, [(event: AssembledEvent, bytes: Int)])
        /// Forget what subtransaction `subtransactionXID` of `xid` made.
        case discardSubtransaction(UInt32, of: UInt32)
        /// Forget everything held for `xid`.
        case discardTransaction(UInt32)
        /// The begin of a committed streamed transaction was emitted: its held events follow.
        case emitHeld
    }

    /// Checks `message` against the stream so far, updates the assembler's state, appends the events it completes
    /// at once and says what the held change store must do.
    private mutating func dispatch(
        _ message: PgOutputMessage,
        into events: inout [AssembledEvent]
    ) throws(PgOutputDecodingError) -> StoreStep {
        let type = message.typeByte
        switch message {
        case .begin(let begin):
            try self.requireNoTransaction(type)
            guard begin.finalLSN >= self.lastCommitLSN else {
                throw .unexpected(type, "commit LSN \(begin.finalLSN) is below the last commit \(self.lastCommitLSN)")
            }
            self.transaction = Transaction(xid: begin.xid, commitLSN: begin.finalLSN, commitTime: begin.commitTime)
            events.append(.begin(xid: begin.xid, commitLSN: begin.finalLSN, commitTime: begin.commitTime))

        case .commit(let commit):
            guard let transaction = self.transaction else { throw .unexpected(type, "Commit without Begin") }
            guard commit.commitLSN == transaction.commitLSN else {
                throw .unexpected(type, "commit LSN \(commit.commitLSN) differs from Begin's \(transaction.commitLSN)")
            }
            self.transaction = nil
            self.lastCommitLSN = commit.commitLSN
            events.append(
                .commit(
                    xid: transaction.xid,
                    commitLSN: commit.commitLSN,
                    endLSN: commit.endLSN,
                    commitTime: commit.commitTime
                )
            )

        case .origin(let origin):
            if let xid = self.streamBlockXID {
                self.streamedTransactions[xid]?.origin = origin.name
            } else if self.transaction != nil {
                self.transaction?.origin = origin.name
            } else {
                throw .unexpected(type, "Origin outside a transaction")
            }

        case .relation(let relation):
            if let xid = self.streamBlockXID {
                self.streamedTransactions[xid]?.relations.record(relation)
            } else {
                self.relations.record(relation)
            }

        case .type(let definition):
            if let xid = self.streamBlockXID {
                self.streamedTransactions[xid]?.relations.record(definition)
            } else {
                self.relations.record(definition)
            }

        case .insert, .update, .delete, .truncate:
            if let xid = self.streamBlockXID {
                return try self.hold(message, streamXID: xid)
            } else if var transaction = self.transaction {
                let context = ChangeContext(
                    xid: transaction.xid,
                    commitLSN: transaction.commitLSN,
                    commitTime: transaction.commitTime,
                    origin: transaction.origin
                )
                try self.forEachChange(in: message, context: context, firstIndex: transaction.nextIndex) { change in
                    events.append(.change(change))
                    transaction.nextIndex += 1
                }
                self.transaction = transaction
            } else {
                throw .unexpected(type, "change outside a transaction")
            }

        case .message(let logical):
            if !logical.isTransactional || (self.transaction != nil && self.streamBlockXID == nil) {
                events.append(
                    .message(
                        transactional: logical.isTransactional,
                        prefix: logical.prefix,
                        content: logical.content,
                        lsn: logical.lsn
                    )
                )
            } else if let xid = self.streamBlockXID {
                guard self.streamedTransactions[xid] != nil else { return .none }
                // A copy: a slice would keep the whole receive buffer it came in alive while the message is held.
                let event = AssembledEvent.message(
                    transactional: true,
                    prefix: logical.prefix,
                    content: ByteBuffer(logical.content.readableBytesView),
                    lsn: logical.lsn
                )
                let bytes =
                    MemoryLayout<AssembledEvent>.stride + logical.prefix.utf8.count + logical.content.readableBytes
                return .hold(xid: xid, subtransactionXID: logical.xid ?? xid, [(event, bytes)])
            } else {
                throw .unexpected(type, "transactional Message outside a transaction")
            }

        case .streamStart(let start):
            try self.requireNoTransaction(type)
            if start.isFirstSegment {
                guard self.streamedTransactions[start.xid] == nil else {
                    throw .unexpected(type, "first segment of transaction \(start.xid), which is already streaming")
                }
                self.streamedTransactions[start.xid] = StreamedTransaction()
            } else {
                guard self.streamedTransactions[start.xid] != nil else {
                    throw .unexpected(type, "later segment of transaction \(start.xid), whose first segment never came")
                }
            }
            self.streamBlockXID = start.xid

        case .streamStop:
            guard self.streamBlockXID != nil else { throw .unexpected(type, "Stream Stop without Stream Start") }
            self.streamBlockXID = nil

        case .streamCommit(let commit):
            try self.requireNoTransaction(type)
            guard let streamed = self.streamedTransactions[commit.xid] else {
                throw .unexpected(type, "transaction \(commit.xid) was never streamed")
            }
            guard commit.commitLSN >= self.lastCommitLSN else {
                throw .unexpected(type, "commit LSN \(commit.commitLSN) is below the last commit \(self.lastCommitLSN)")
            }
            self.streamedTransactions[commit.xid] = nil
            self.heldChangeCount -= streamed.changeCount
            self.lastCommitLSN = commit.commitLSN
            self.relations.record(contentsOf: streamed.relations)
            events.append(.begin(xid: commit.xid, commitLSN: commit.commitLSN, commitTime: commit.commitTime))
            self.committing = CommittingTransaction(commit: commit, origin: streamed.origin)
            return .emitHeld

        case .streamAbort(let abort):
            try self.requireNoTransaction(type)
            if abort.abortsWholeTransaction {
                guard let streamed = self.streamedTransactions.removeValue(forKey: abort.xid) else { return .none }
                self.heldChangeCount -= streamed.changeCount
                return .discardTransaction(abort.xid)
            }
            guard var streamed = self.streamedTransactions.removeValue(forKey: abort.xid) else { return .none }
            self.heldChangeCount -= streamed.changeCounts.removeValue(forKey: abort.subtransactionXID) ?? 0
            self.streamedTransactions[abort.xid] = streamed
            return .discardSubtransaction(abort.subtransactionXID, of: abort.xid)
        }
        return .none
    }

    /// Begin and the stream messages outside blocks may only come between transactions.
    private func requireNoTransaction(_ type: UInt8) throws(PgOutputDecodingError) {
        if let transaction = self.transaction {
            throw .unexpected(type, "transaction \(transaction.xid) has not committed yet")
        }
        if let xid = self.streamBlockXID {
            throw .unexpected(type, "the stream block of transaction \(xid) has not stopped yet")
        }
    }

    /// Renders a change inside a stream block; the store holds it until its transaction commits or aborts.
    private mutating func hold(
        _ message: PgOutputMessage,
        streamXID: UInt32
    ) throws(PgOutputDecodingError) -> StoreStep {
        guard let streamed = self.streamedTransactions[streamXID] else { return .none }
        let subtransactionXID: UInt32? =
            switch message {
            case .insert(let insert): insert.xid
            case .update(let update): update.xid
            case .delete(let delete): delete.xid
            case .truncate(let truncate): truncate.xid
            case .begin, .commit, .origin, .relation, .type, .message, .streamStart, .streamStop, .streamCommit,
                .streamAbort:
                nil
            }
        // Commit LSN, commit time, index and origin are only known at Stream Commit.
        let context = ChangeContext(
            xid: streamXID,
            commitLSN: .zero,
            commitTime: PostgresTimestamp(rawValue: 0),
            origin: nil,
            streamed: streamed.relations
        )
        var held: [(event: AssembledEvent, bytes: Int)] = []
        try self.forEachChange(in: message, context: context, firstIndex: 0) { change in
            held.append((.change(change), Self.estimatedBytes(of: change)))
        }
        let holder = subtransactionXID ?? streamXID
        self.streamedTransactions[streamXID]?.changeCounts[holder, default: 0] += held.count
        self.heldChangeCount += held.count
        return .hold(xid: streamXID, subtransactionXID: holder, held)
    }

    /// Calls `body` with each change an Insert, Update, Delete or Truncate makes (a Truncate makes one per table).
    private func forEachChange(
        in message: PgOutputMessage,
        context: ChangeContext,
        firstIndex: Int,
        _ body: (Change) -> Void
    ) throws(PgOutputDecodingError) {
        func change(_ operation: Change.Operation, _ relation: PgOutputMessage.Relation, index: Int) -> Change {
            Change(
                id: Change.ID(source: self.source, commitLSN: context.commitLSN, index: index),
                operation: operation,
                schema: relation.schema,
                table: relation.name,
                xid: context.xid,
                commitTime: context.commitTime,
                origin: context.origin
            )
        }
        switch message {
        case .insert(let insert):
            let relation = try self.relation(insert.relationOID, context)
            var result = change(.insert, relation, index: firstIndex)
            let new = try self.render(insert.new, of: relation, keyColumnsOnly: false)
            result.new = new.row
            result.key = new.key
            result.unchangedToast = new.unchangedToast
            body(result)
        case .update(let update):
            let relation = try self.relation(update.relationOID, context)
            var result = change(.update, relation, index: firstIndex)
            let new = try self.render(update.new, of: relation, keyColumnsOnly: false)
            result.new = new.row
            result.key = new.key
            result.unchangedToast = new.unchangedToast
            if let old = update.old {
                let rendered = try self.render(old, of: relation)
                result.old = rendered.row
                result.key = rendered.key
            }
            body(result)
        case .delete(let delete):
            let relation = try self.relation(delete.relationOID, context)
            var result = change(.delete, relation, index: firstIndex)
            let old = try self.render(delete.old, of: relation)
            result.old = old.row
            result.key = old.key
            body(result)
        case .truncate(let truncate):
            let options = Change.TruncateOptions(
                cascade: truncate.options.contains(.cascade),
                restartIdentity: truncate.options.contains(.restartIdentity)
            )
            for (offset, oid) in truncate.relationOIDs.enumerated() {
                var result = change(.truncate, try self.relation(oid, context), index: firstIndex + offset)
                result.truncateOptions = options
                body(result)
            }
        case .begin, .commit, .origin, .relation, .type, .message, .streamStart, .streamStop, .streamCommit,
            .streamAbort:
            preconditionFailure("not a change: \(message)")
        }
    }

    private func relation(
        _ oid: UInt32,
        _ context: ChangeContext
    ) throws(PgOutputDecodingError) -> PgOutputMessage.Relation {
        guard let relation = context.streamed?[oid] ?? self.relations[oid] else {
            throw PgOutputDecodingError(.unknownRelation(oid: oid))
        }
        return relation
    }

    private func render(
        _ old: PgOutputMessage.OldTuple,
        of relation: PgOutputMessage.Relation
    ) throws(PgOutputDecodingError) -> (row: Row, key: Row, unchangedToast: [String]) {
        switch old {
        // pgoutput sends the columns outside the replica identity as nulls in a `K` tuple: they are not values.
        case .key(let tuple): try self.render(tuple, of: relation, keyColumnsOnly: true)
        case .full(let tuple): try self.render(tuple, of: relation, keyColumnsOnly: false)
        }
    }

    /// The row a tuple holds, its key (replica identity) columns, and the unchanged TOAST columns it left out.
    private func render(
        _ tuple: PgOutputMessage.TupleData,
        of relation: PgOutputMessage.Relation,
        keyColumnsOnly: Bool
    ) throws(PgOutputDecodingError) -> (row: Row, key: Row, unchangedToast: [String]) {
        guard tuple.values.count == relation.columns.count else {
            throw PgOutputDecodingError(
                .columnCountMismatch(
                    relation: "\(relation.schema).\(relation.name)",
                    expected: relation.columns.count,
                    actual: tuple.values.count
                )
            )
        }
        var row = Row()
        row.columns.reserveCapacity(tuple.values.count)
        var key = Row()
        var unchangedToast: [String] = []
        let primaryKey = self.primaryKeys.isEmpty ? nil : self.primaryKeys[relation.oid]
        for (column, value) in zip(relation.columns, tuple.values) {
            if keyColumnsOnly && !column.isKey { continue }
            var json = ""
            switch value {
            case .null:
                json = "null"
            case .unchangedToast:
                unchangedToast.append(column.name)
                continue
            case .text(let bytes):
                self.appendJSON(of: bytes, format: .text, column: column, relation: relation, to: &json)
            case .binary(let bytes):
                self.appendJSON(of: bytes, format: .binary, column: column, relation: relation, to: &json)
            }
            let rendered = Row.Column(name: column.name, json: json)
            row.columns.append(rendered)
            if primaryKey?.contains(column.name) ?? column.isKey { key.columns.append(rendered) }
        }
        return (row, key, unchangedToast)
    }

    private func appendJSON(
        of bytes: ByteBuffer,
        format: ValueFormat,
        column: PgOutputMessage.Relation.Column,
        relation: PgOutputMessage.Relation,
        to json: inout String
    ) {
        do throws(ValueDecodingError) {
            try self.renderer.appendJSON(of: bytes, format: format, typeOID: column.typeOID, to: &json)
        } catch {
            // Failing here would fail every restart at the same change, and the slot could never be drained: the
            // value goes out as the server sent it, the way to_jsonb() renders a type it has no JSON form for.
            json = ""
            switch format {
            case .text: PostgresValue.other(String(buffer: bytes)).appendJSON(to: &json)
            case .binary: PostgresValue.unknownBinary(Array(bytes.readableBytesView)).appendJSON(to: &json)
            }
            self.valueFallbackObserver?(
                "column \(column.name) of \(relation.schema).\(relation.name): \(error); rendered as the server sent it"
            )
        }
    }

    /// Rendered JSON plus the fixed size of the values holding it; column names are shared with the relation.
    private static func estimatedBytes(of change: Change) -> Int {
        func size(_ row: Row?) -> Int {
            guard let row else { return 0 }
            return row.columns.reduce(row.columns.count * MemoryLayout<Row.Column>.stride) { $0 + $1.json.utf8.count }
        }
        return MemoryLayout<AssembledEvent>.stride + MemoryLayout<Change>.stride + size(change.new) + size(change.old)
            + size(change.key)
    }
}
