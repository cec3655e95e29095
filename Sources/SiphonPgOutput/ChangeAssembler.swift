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
/// Pure: feed it messages in stream order with ``consume(_:into:)``; it does no I/O.
///
/// Protocol version 2 streams transactions larger than `logical_decoding_work_mem` while they are still running,
/// in blocks interleaved with other transactions. Their changes are rendered as they arrive and held here, per
/// top-level transaction, until Stream Commit (emitted then as begin, changes, commit) or Stream Abort (dropped
/// wholly, or only the aborted subtransaction's changes). **The held changes stay in memory; spilling them to
/// disk is not done yet**, so a huge streamed transaction costs memory in proportion to its size: watch
/// ``bufferedChangeCount`` and ``bufferedBytes``.
///
/// Relation and Type messages inside a stream block describe the schema as that transaction sees it. They apply
/// to that transaction's later changes (even when sent inside a subtransaction that is later rolled back, because
/// pgoutput does not send them again for the same transaction) and become the schema for everyone at its commit.
public struct ChangeAssembler: Sendable {
    /// The slot name: the `source` of every change id.
    public let source: String
    public var renderer: ValueRenderer
    /// The relations and types described by the stream so far, outside uncommitted streamed transactions.
    public private(set) var relations = RelationCache()
    /// The commit LSN of the last transaction emitted; a later transaction may not commit below it.
    public private(set) var lastCommitLSN = LSN.zero
    /// Changes held for streamed transactions that have not committed or aborted yet.
    public private(set) var bufferedChangeCount = 0
    /// An estimate of the memory those held changes and messages take: rendered JSON plus fixed per-value costs.
    public private(set) var bufferedBytes = 0

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
        /// Changes and transactional messages with the (sub)transaction xid they came with; changes still lack
        /// their commit LSN, index, commit time and origin.
        var held: [(subtransactionXID: UInt32, event: AssembledEvent, bytes: Int)] = []
        var changeCount = 0
        var bytes = 0
    }

    /// What every change of one transaction shares.
    private struct ChangeContext {
        var xid: UInt32
        var commitLSN: LSN
        var commitTime: PostgresTimestamp
        var origin: String?
        var streamed: RelationCache?
    }

    public init(source: String, renderer: ValueRenderer) {
        self.source = source
        self.renderer = renderer
    }

    /// Consumes the next message of the stream and returns the events it completes (often none or one).
    public mutating func consume(_ message: PgOutputMessage) throws(PgOutputDecodingError) -> [AssembledEvent] {
        var events: [AssembledEvent] = []
        try self.consume(message, into: &events)
        return events
    }

    /// Consumes the next message of the stream and appends the events it completes to `events`.
    ///
    /// Throws when the message breaks the protocol's order, names an unknown relation, or holds a value that
    /// cannot be rendered; the assembler should then be discarded with the connection.
    public mutating func consume(
        _ message: PgOutputMessage,
        into events: inout [AssembledEvent]
    ) throws(PgOutputDecodingError) {
        do throws(PgOutputDecodingError) {
            try self.dispatch(message, into: &events)
        } catch {
            var error = error
            if error.messageType == nil { error.messageType = message.typeByte }
            throw error
        }
    }

    private mutating func dispatch(
        _ message: PgOutputMessage,
        into events: inout [AssembledEvent]
    ) throws(PgOutputDecodingError) {
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
                try self.hold(message, streamXID: xid)
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
            let event = AssembledEvent.message(
                transactional: logical.isTransactional,
                prefix: logical.prefix,
                content: logical.content,
                lsn: logical.lsn
            )
            if !logical.isTransactional || (self.transaction != nil && self.streamBlockXID == nil) {
                events.append(event)
            } else if let xid = self.streamBlockXID {
                let bytes =
                    MemoryLayout<AssembledEvent>.stride + logical.prefix.utf8.count
                    + logical.content.readableBytes
                self.streamedTransactions[xid]?.held.append((logical.xid ?? xid, event, bytes))
                self.streamedTransactions[xid]?.bytes += bytes
                self.bufferedBytes += bytes
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
            self.release(streamed)
            self.lastCommitLSN = commit.commitLSN
            self.relations.record(contentsOf: streamed.relations)
            self.emit(streamed, committedBy: commit, into: &events)

        case .streamAbort(let abort):
            try self.requireNoTransaction(type)
            if abort.abortsWholeTransaction {
                if let streamed = self.streamedTransactions.removeValue(forKey: abort.xid) {
                    self.release(streamed)
                }
            } else if var streamed = self.streamedTransactions.removeValue(forKey: abort.xid) {
                self.release(streamed)
                streamed.held.removeAll { $0.subtransactionXID == abort.subtransactionXID }
                streamed.changeCount = streamed.held.count { if case .change = $0.event { true } else { false } }
                streamed.bytes = streamed.held.reduce(0) { $0 + $1.bytes }
                self.bufferedChangeCount += streamed.changeCount
                self.bufferedBytes += streamed.bytes
                self.streamedTransactions[abort.xid] = streamed
            }
        }
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

    /// Renders a change inside a stream block and holds it until its transaction commits or aborts.
    private mutating func hold(_ message: PgOutputMessage, streamXID: UInt32) throws(PgOutputDecodingError) {
        guard var streamed = self.streamedTransactions.removeValue(forKey: streamXID) else { return }
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
        var added = 0
        var addedBytes = 0
        do throws(PgOutputDecodingError) {
            try self.forEachChange(in: message, context: context, firstIndex: 0) { change in
                let bytes = Self.estimatedBytes(of: change)
                streamed.held.append((subtransactionXID ?? streamXID, .change(change), bytes))
                added += 1
                addedBytes += bytes
            }
        } catch {
            self.streamedTransactions[streamXID] = streamed
            throw error
        }
        streamed.changeCount += added
        streamed.bytes += addedBytes
        self.bufferedChangeCount += added
        self.bufferedBytes += addedBytes
        self.streamedTransactions[streamXID] = streamed
    }

    private mutating func release(_ streamed: StreamedTransaction) {
        self.bufferedChangeCount -= streamed.changeCount
        self.bufferedBytes -= streamed.bytes
    }

    private func emit(
        _ streamed: StreamedTransaction,
        committedBy commit: PgOutputMessage.StreamCommit,
        into events: inout [AssembledEvent]
    ) {
        events.reserveCapacity(events.count + streamed.held.count + 2)
        events.append(.begin(xid: commit.xid, commitLSN: commit.commitLSN, commitTime: commit.commitTime))
        var index = 0
        for (_, event, _) in streamed.held {
            guard case .change(var change) = event else {
                events.append(event)
                continue
            }
            change.id = Change.ID(source: self.source, commitLSN: commit.commitLSN, index: index)
            change.commitTime = commit.commitTime
            change.origin = streamed.origin
            events.append(.change(change))
            index += 1
        }
        events.append(
            .commit(xid: commit.xid, commitLSN: commit.commitLSN, endLSN: commit.endLSN, commitTime: commit.commitTime)
        )
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
                try self.appendJSON(of: bytes, format: .text, column: column, relation: relation, to: &json)
            case .binary(let bytes):
                try self.appendJSON(of: bytes, format: .binary, column: column, relation: relation, to: &json)
            }
            let rendered = Row.Column(name: column.name, json: json)
            row.columns.append(rendered)
            if column.isKey { key.columns.append(rendered) }
        }
        return (row, key, unchangedToast)
    }

    private func appendJSON(
        of bytes: ByteBuffer,
        format: ValueFormat,
        column: PgOutputMessage.Relation.Column,
        relation: PgOutputMessage.Relation,
        to json: inout String
    ) throws(PgOutputDecodingError) {
        do throws(ValueDecodingError) {
            try self.renderer.appendJSON(of: bytes, format: format, typeOID: column.typeOID, to: &json)
        } catch {
            throw PgOutputDecodingError(
                .invalidColumnValue(relation: "\(relation.schema).\(relation.name)", column: column.name, error)
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
