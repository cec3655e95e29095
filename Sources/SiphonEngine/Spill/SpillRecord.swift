// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore
import SiphonPgOutput

/// How one held event is written to a spill file, and read back identical.
///
/// A record is its length (`UInt32`, the bytes after it), the subtransaction xid (`UInt32`), a kind byte and the
/// event's fields in declaration order: `C` and a `Change`, or `M` and a message (transactional flag, LSN, prefix,
/// content). Integers are big-endian; a string is its UTF-8 length (`UInt32`) and bytes; an optional is a `0` or
/// `1` byte, then the value; a row is its column count, then each column's name and JSON text.
///
/// Binary rather than Siphon's JSON envelope: the file is private to one process run, and reading JSON back cost
/// more than everything else a streamed change goes through.
enum SpillRecord {
    private static let change = UInt8(ascii: "C")
    private static let message = UInt8(ascii: "M")
    private static let operations: [Change.Operation] = [.insert, .update, .delete, .truncate]

    /// Appends the record of `event`, a `.change` or a `.message`.
    static func append(_ event: AssembledEvent, subtransactionXID: UInt32, to buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        buffer.writeInteger(subtransactionXID)
        switch event {
        case .change(let change):
            buffer.writeInteger(Self.change)
            Self.append(change, to: &buffer)
        case .message(let transactional, let prefix, let content, let lsn):
            buffer.writeInteger(Self.message)
            buffer.writeInteger(UInt8(transactional ? 1 : 0))
            buffer.writeInteger(lsn.rawValue)
            Self.append(prefix, to: &buffer)
            buffer.writeImmutableBuffer(content)
        case .begin, .commit:
            preconditionFailure("only changes and messages are held: \(event)")
        }
        buffer.setInteger(UInt32(buffer.writerIndex - start - 4), at: start)
    }

    /// How many more bytes `buffer` needs before it holds a whole record: 0 when it does.
    static func missingBytes(in buffer: ByteBuffer) -> Int {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else {
            return 4 - buffer.readableBytes
        }
        return max(0, 4 + Int(length) - buffer.readableBytes)
    }

    /// Reads the whole record at the start of `buffer` (``missingBytes(in:)`` must be 0).
    static func read(
        from buffer: inout ByteBuffer
    ) throws(SpillRecordError) -> (subtransactionXID: UInt32, event: AssembledEvent) {
        guard let length = buffer.readInteger(as: UInt32.self), var record = buffer.readSlice(length: Int(length))
        else { throw SpillRecordError(description: "a record is cut short") }
        let subtransactionXID: UInt32 = try record.readSpilled()
        let kind: UInt8 = try record.readSpilled()
        let event: AssembledEvent
        switch kind {
        case Self.change:
            event = .change(try Self.readChange(from: &record))
        case Self.message:
            let transactional: UInt8 = try record.readSpilled()
            let lsn: UInt64 = try record.readSpilled()
            let prefix = try Self.readString(from: &record)
            // A copy, so the message does not keep the whole chunk it was read with alive.
            let content = ByteBuffer(record.readableBytesView)
            record.moveReaderIndex(forwardBy: record.readableBytes)
            event = .message(
                transactional: transactional == 1, prefix: prefix, content: content, lsn: LSN(rawValue: lsn))
        default:
            throw SpillRecordError(description: "unknown record kind \(kind)")
        }
        guard record.readableBytes == 0 else {
            throw SpillRecordError(description: "\(record.readableBytes) bytes left after a record's last field")
        }
        return (subtransactionXID, event)
    }

    private static func append(_ change: Change, to buffer: inout ByteBuffer) {
        Self.append(change.id.source, to: &buffer)
        buffer.writeInteger(change.id.commitLSN.rawValue)
        buffer.writeInteger(Int64(change.id.index))
        buffer.writeInteger(UInt8(Self.operations.firstIndex(of: change.operation)!))
        Self.append(change.schema, to: &buffer)
        Self.append(change.table, to: &buffer)
        Self.appendOptional(change.xid, to: &buffer) { $1.writeInteger($0) }
        buffer.writeInteger(change.commitTime.rawValue)
        Self.appendOptional(change.origin, to: &buffer) { Self.append($0, to: &$1) }
        Self.appendOptional(change.new, to: &buffer) { Self.append($0, to: &$1) }
        Self.appendOptional(change.old, to: &buffer) { Self.append($0, to: &$1) }
        Self.append(change.key, to: &buffer)
        buffer.writeInteger(UInt32(change.unchangedToast.count))
        for name in change.unchangedToast { Self.append(name, to: &buffer) }
        Self.appendOptional(change.truncateOptions, to: &buffer) { options, buffer in
            buffer.writeInteger(UInt8(options.cascade ? 1 : 0))
            buffer.writeInteger(UInt8(options.restartIdentity ? 1 : 0))
        }
    }

    private static func readChange(from record: inout ByteBuffer) throws(SpillRecordError) -> Change {
        let source = try Self.readString(from: &record)
        let commitLSN: UInt64 = try record.readSpilled()
        let index: Int64 = try record.readSpilled()
        let operation: UInt8 = try record.readSpilled()
        guard Int(operation) < Self.operations.count else {
            throw SpillRecordError(description: "unknown operation \(operation)")
        }
        let schema = try Self.readString(from: &record)
        let table = try Self.readString(from: &record)
        let xid: UInt32? = try Self.readOptional(from: &record) { (record) throws(SpillRecordError) in
            try record.readSpilled()
        }
        let commitTime: Int64 = try record.readSpilled()
        let origin = try Self.readOptional(from: &record, Self.readString)
        let new = try Self.readOptional(from: &record, Self.readRow)
        let old = try Self.readOptional(from: &record, Self.readRow)
        let key = try Self.readRow(from: &record)
        let toastCount: UInt32 = try record.readSpilled()
        var unchangedToast: [String] = []
        for _ in 0..<toastCount { unchangedToast.append(try Self.readString(from: &record)) }
        let truncateOptions = try Self.readOptional(from: &record) {
            (record) throws(SpillRecordError) -> Change.TruncateOptions in
            let cascade: UInt8 = try record.readSpilled()
            let restartIdentity: UInt8 = try record.readSpilled()
            return Change.TruncateOptions(cascade: cascade == 1, restartIdentity: restartIdentity == 1)
        }
        return Change(
            id: Change.ID(source: source, commitLSN: LSN(rawValue: commitLSN), index: Int(index)),
            operation: Self.operations[Int(operation)], schema: schema, table: table, xid: xid,
            commitTime: PostgresTimestamp(rawValue: commitTime), origin: origin, new: new, old: old, key: key,
            unchangedToast: unchangedToast, truncateOptions: truncateOptions)
    }

    private static func append(_ string: String, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(string.utf8.count))
        buffer.writeString(string)
    }

    private static func readString(from record: inout ByteBuffer) throws(SpillRecordError) -> String {
        let length: UInt32 = try record.readSpilled()
        guard let string = record.readString(length: Int(length)) else {
            throw SpillRecordError(description: "a string is cut short")
        }
        return string
    }

    private static func append(_ row: Row, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(row.columns.count))
        for column in row.columns {
            Self.append(column.name, to: &buffer)
            Self.append(column.json, to: &buffer)
        }
    }

    private static func readRow(from record: inout ByteBuffer) throws(SpillRecordError) -> Row {
        let count: UInt32 = try record.readSpilled()
        var row = Row()
        row.columns.reserveCapacity(Int(min(count, 1_600)))
        for _ in 0..<count {
            let name = try Self.readString(from: &record)
            row.columns.append(Row.Column(name: name, json: try Self.readString(from: &record)))
        }
        return row
    }

    private static func appendOptional<Value>(
        _ value: Value?,
        to buffer: inout ByteBuffer,
        _ appendValue: (Value, inout ByteBuffer) -> Void
    ) {
        guard let value else {
            buffer.writeInteger(UInt8(0))
            return
        }
        buffer.writeInteger(UInt8(1))
        appendValue(value, &buffer)
    }

    private static func readOptional<Value>(
        from record: inout ByteBuffer,
        _ readValue: (inout ByteBuffer) throws(SpillRecordError) -> Value
    ) throws(SpillRecordError) -> Value? {
        let present: UInt8 = try record.readSpilled()
        switch present {
        case 0: return nil
        case 1: return try readValue(&record)
        default: throw SpillRecordError(description: "invalid optional flag \(present)")
        }
    }
}

/// A spill file that does not read back as the records written to it.
struct SpillRecordError: Error, CustomStringConvertible {
    var description: String
}

extension ByteBuffer {
    fileprivate mutating func readSpilled<Integer: FixedWidthInteger>() throws(SpillRecordError) -> Integer {
        guard let value = self.readInteger(as: Integer.self) else {
            throw SpillRecordError(description: "a record is cut short")
        }
        return value
    }
}
