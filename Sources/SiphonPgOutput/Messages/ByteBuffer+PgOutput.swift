// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore

/// Readers for the field types of "Message Data Types" (PostgreSQL docs, protocol chapter) that throw a
/// ``PgOutputDecodingError`` naming the field instead of returning `nil`.
extension ByteBuffer {
    /// `Int8`/`Int16`/`Int32`/`Int64` (and `Byte1`), big-endian.
    mutating func readPgInteger<Value: FixedWidthInteger>(
        _ field: StaticString,
        as: Value.Type = Value.self
    ) throws(PgOutputDecodingError) -> Value {
        guard let value = self.readInteger(as: Value.self) else { throw .truncated(field) }
        return value
    }

    /// An `Int64 (XLogRecPtr)`.
    mutating func readPgLSN(_ field: StaticString) throws(PgOutputDecodingError) -> LSN {
        LSN(rawValue: try self.readPgInteger(field))
    }

    /// An `Int64 (TimestampTz)`: microseconds since 2000-01-01.
    mutating func readPgTimestamp(_ field: StaticString) throws(PgOutputDecodingError) -> PostgresTimestamp {
        PostgresTimestamp(rawValue: try self.readPgInteger(field))
    }

    /// A `String`: bytes up to and without the terminating zero byte.
    mutating func readPgString(_ field: StaticString) throws(PgOutputDecodingError) -> String {
        guard let string = self.readNullTerminatedString() else { throw .truncated(field) }
        return string
    }

    /// `Byten` after an `Int32` length, as a slice that shares this buffer's storage.
    mutating func readPgLengthPrefixedSlice(_ field: StaticString) throws(PgOutputDecodingError) -> ByteBuffer {
        let length: Int32 = try self.readPgInteger(field)
        guard length >= 0 else { throw .invalidValue(field, length) }
        guard let slice = self.readSlice(length: Int(length)) else { throw .truncated(field) }
        return slice
    }

    /// The `Int32 (TransactionId)` that protocol version 2 puts first in messages inside a stream block.
    mutating func readPgStreamedXID(inStream: Bool) throws(PgOutputDecodingError) -> UInt32? {
        inStream ? try self.readPgInteger("xid of the streamed transaction") : nil
    }
}
