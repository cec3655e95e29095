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
/// Binary rather than Siphon's JSON envelope: the file is private to one run of the process, and reading JSON back
/// cost more than everything else a streamed change goes through. Each record is written in one pass over memory
/// sized for it, and read with one cursor, because per-field `ByteBuffer` calls were the next largest cost.
enum SpillRecord {
    private static let change = UInt8(ascii: "C")
    private static let message = UInt8(ascii: "M")
    private static let operations: [Change.Operation] = [.insert, .update, .delete, .truncate, .read]

    /// Appends the record of `event`, a `.change` or a `.message`.
    static func append(_ event: AssembledEvent, subtransactionXID: UInt32, to buffer: inout ByteBuffer) {
        let size = 9 + Self.bodySize(of: event)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { target in
            var writer = Writer(position: target.baseAddress!)
            writer.integer(UInt32(size - 4))
            writer.integer(subtransactionXID)
            switch event {
            case .change(let change):
                writer.integer(Self.change)
                writer.change(change)
            case .message(let transactional, let prefix, let content, let lsn):
                writer.integer(Self.message)
                writer.integer(UInt8(transactional ? 1 : 0))
                writer.integer(lsn.rawValue)
                writer.string(prefix)
                content.withUnsafeReadableBytes { writer.bytes($0) }
            case .begin, .commit:
                preconditionFailure("only changes and messages are held: \(event)")
            }
            assert(writer.position == target.baseAddress! + size, "the record's size was computed wrong")
            return size
        }
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
        guard let length = buffer.readInteger(as: UInt32.self), buffer.readableBytes >= Int(length) else {
            throw SpillRecordError(description: "a record is cut short")
        }
        let record = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(SpillRecordError) in
                var reader = Reader(bytes: UnsafeRawBufferPointer(rebasing: bytes[..<Int(length)]))
                let record = try reader.record()
                guard reader.offset == reader.bytes.count else {
                    throw SpillRecordError(
                        description: "\(reader.bytes.count - reader.offset) bytes left after a record's last field"
                    )
                }
                return record
            }
        }
        buffer.moveReaderIndex(forwardBy: Int(length))
        return try record.get()
    }

    private static func bodySize(of event: AssembledEvent) -> Int {
        func size(_ string: String) -> Int { 4 + string.utf8.count }
        func size(_ row: Row) -> Int { row.columns.reduce(4) { $0 + size($1.name) + size($1.json) } }
        switch event {
        case .change(let change):
            return size(change.id.source) + 17 + size(change.schema) + size(change.table)
                + (change.xid == nil ? 1 : 5) + 8 + (change.origin.map(size) ?? 0) + 1
                + (change.new.map(size) ?? 0) + 1 + (change.old.map(size) ?? 0) + 1 + size(change.key)
                + change.unchangedToast.reduce(4) { $0 + size($1) } + (change.truncateOptions == nil ? 1 : 3)
        case .message(_, let prefix, let content, _):
            return 9 + size(prefix) + content.readableBytes
        case .begin, .commit:
            preconditionFailure("only changes and messages are held: \(event)")
        }
    }

    /// Stores fields into memory sized for them.
    private struct Writer {
        var position: UnsafeMutableRawPointer

        mutating func integer<Integer: FixedWidthInteger>(_ value: Integer) {
            self.position.storeBytes(of: value.bigEndian, as: Integer.self)
            self.position += MemoryLayout<Integer>.size
        }

        mutating func bytes(_ bytes: UnsafeRawBufferPointer) {
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            self.position.copyMemory(from: base, byteCount: bytes.count)
            self.position += bytes.count
        }

        mutating func string(_ string: String) {
            self.integer(UInt32(string.utf8.count))
            let copied: Void? = string.utf8.withContiguousStorageIfAvailable { self.bytes(UnsafeRawBufferPointer($0)) }
            if copied == nil {
                for byte in string.utf8 { self.integer(byte) }
            }
        }

        mutating func row(_ row: Row) {
            self.integer(UInt32(row.columns.count))
            for column in row.columns {
                self.string(column.name)
                self.string(column.json)
            }
        }

        mutating func optional<Value>(_ value: Value?, _ write: (inout Self, Value) -> Void) {
            guard let value else {
                self.integer(UInt8(0))
                return
            }
            self.integer(UInt8(1))
            write(&self, value)
        }

        mutating func change(_ change: Change) {
            self.string(change.id.source)
            self.integer(change.id.commitLSN.rawValue)
            self.integer(Int64(change.id.index))
            self.integer(UInt8(SpillRecord.operations.firstIndex(of: change.operation)!))
            self.string(change.schema)
            self.string(change.table)
            self.optional(change.xid) { $0.integer($1) }
            self.integer(change.commitTime.rawValue)
            self.optional(change.origin) { $0.string($1) }
            self.optional(change.new) { $0.row($1) }
            self.optional(change.old) { $0.row($1) }
            self.row(change.key)
            self.integer(UInt32(change.unchangedToast.count))
            for name in change.unchangedToast { self.string(name) }
            self.optional(change.truncateOptions) { writer, options in
                writer.integer(UInt8(options.cascade ? 1 : 0))
                writer.integer(UInt8(options.restartIdentity ? 1 : 0))
            }
        }
    }

    /// Loads fields from one record's bytes, checking each fits.
    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        mutating func integer<Integer: FixedWidthInteger>(
            as type: Integer.Type = Integer.self
        ) throws(SpillRecordError) -> Integer {
            let size = MemoryLayout<Integer>.size
            guard self.offset + size <= self.bytes.count else {
                throw SpillRecordError(description: "a record is cut short")
            }
            defer { self.offset += size }
            return Integer(bigEndian: self.bytes.loadUnaligned(fromByteOffset: self.offset, as: Integer.self))
        }

        mutating func string() throws(SpillRecordError) -> String {
            let count = Int(try self.integer(as: UInt32.self))
            guard self.offset + count <= self.bytes.count else {
                throw SpillRecordError(description: "a string is cut short")
            }
            defer { self.offset += count }
            let bytes = UnsafeRawBufferPointer(rebasing: self.bytes[self.offset..<(self.offset + count)])
            return String(decoding: bytes, as: UTF8.self)
        }

        mutating func row() throws(SpillRecordError) -> Row {
            let count = try self.integer(as: UInt32.self)
            var row = Row()
            // A column takes at least 8 bytes, so a damaged count cannot reserve more than the record could hold.
            row.columns.reserveCapacity(min(Int(count), (self.bytes.count - self.offset) / 8))
            for _ in 0..<count {
                let name = try self.string()
                row.columns.append(Row.Column(name: name, json: try self.string()))
            }
            return row
        }

        mutating func optional<Value>(
            _ read: (inout Self) throws(SpillRecordError) -> Value
        ) throws(SpillRecordError) -> Value? {
            switch try self.integer(as: UInt8.self) {
            case 0: return nil
            case 1: return try read(&self)
            case let flag: throw SpillRecordError(description: "invalid optional flag \(flag)")
            }
        }

        mutating func record() throws(SpillRecordError) -> (subtransactionXID: UInt32, event: AssembledEvent) {
            let subtransactionXID = try self.integer(as: UInt32.self)
            switch try self.integer(as: UInt8.self) {
            case SpillRecord.change:
                return (subtransactionXID, .change(try self.change()))
            case SpillRecord.message:
                let transactional = try self.integer(as: UInt8.self)
                let lsn = try self.integer(as: UInt64.self)
                let prefix = try self.string()
                let content = ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: self.bytes[self.offset...]))
                self.offset = self.bytes.count
                let event = AssembledEvent.message(
                    transactional: transactional == 1,
                    prefix: prefix,
                    content: content,
                    lsn: LSN(rawValue: lsn)
                )
                return (subtransactionXID, event)
            case let kind:
                throw SpillRecordError(description: "unknown record kind \(kind)")
            }
        }

        mutating func change() throws(SpillRecordError) -> Change {
            let source = try self.string()
            let commitLSN = try self.integer(as: UInt64.self)
            let index = try self.integer(as: Int64.self)
            let operation = Int(try self.integer(as: UInt8.self))
            guard operation < SpillRecord.operations.count else {
                throw SpillRecordError(description: "unknown operation \(operation)")
            }
            let schema = try self.string()
            let table = try self.string()
            let xid = try self.optional { (reader) throws(SpillRecordError) in try reader.integer(as: UInt32.self) }
            let commitTime = try self.integer(as: Int64.self)
            let origin = try self.optional { (reader) throws(SpillRecordError) in try reader.string() }
            let new = try self.optional { (reader) throws(SpillRecordError) in try reader.row() }
            let old = try self.optional { (reader) throws(SpillRecordError) in try reader.row() }
            let key = try self.row()
            var unchangedToast: [String] = []
            for _ in 0..<(try self.integer(as: UInt32.self)) { unchangedToast.append(try self.string()) }
            let truncateOptions = try self.optional { (reader) throws(SpillRecordError) in
                Change.TruncateOptions(
                    cascade: try reader.integer(as: UInt8.self) == 1,
                    restartIdentity: try reader.integer(as: UInt8.self) == 1
                )
            }
            return Change(
                id: Change.ID(source: source, commitLSN: LSN(rawValue: commitLSN), index: Int(index)),
                operation: SpillRecord.operations[operation],
                schema: schema,
                table: table,
                xid: xid,
                commitTime: PostgresTimestamp(rawValue: commitTime),
                origin: origin,
                new: new,
                old: old,
                key: key,
                unchangedToast: unchangedToast,
                truncateOptions: truncateOptions
            )
        }
    }
}

/// A spill file that does not read back as the records written to it.
struct SpillRecordError: Error, CustomStringConvertible {
    var description: String
}
