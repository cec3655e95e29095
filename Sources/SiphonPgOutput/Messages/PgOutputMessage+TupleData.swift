// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore

extension PgOutputMessage {
    /// "TupleData": the columns of one row, in the order of the relation's columns.
    public struct TupleData: Sendable, Hashable {
        /// One column's value.
        public enum Value: Sendable, Hashable {
            /// `n`: SQL NULL.
            case null
            /// `u`: a TOASTed value that did not change and was not sent. Not a NULL: the old value still stands.
            case unchangedToast
            /// `t`: the value in the type's text output format, a slice of the received bytes.
            case text(ByteBuffer)
            /// `b`: the value in the type's binary send format, a slice of the received bytes.
            case binary(ByteBuffer)
        }

        public var values: [Value]

        public init(_ values: [Value]) { self.values = values }

        static func decode(from buffer: inout ByteBuffer) throws(PgOutputDecodingError) -> Self {
            let count: Int16 = try buffer.readPgInteger("tuple column count")
            guard count >= 0 else { throw .invalidValue("tuple column count", count) }
            var values: [Value] = []
            // Every column takes at least one byte; a corrupt count must not reserve more than the input allows.
            values.reserveCapacity(min(Int(count), buffer.readableBytes))
            for index in 0..<Int(count) {
                guard let kind = buffer.readInteger(as: UInt8.self) else {
                    throw PgOutputDecodingError(.truncated(field: "kind of tuple column \(index)"))
                }
                switch kind {
                case UInt8(ascii: "n"):
                    values.append(.null)
                case UInt8(ascii: "u"):
                    values.append(.unchangedToast)
                case UInt8(ascii: "t"):
                    values.append(.text(try Self.readValue(from: &buffer, column: index)))
                case UInt8(ascii: "b"):
                    values.append(.binary(try Self.readValue(from: &buffer, column: index)))
                default:
                    throw PgOutputDecodingError(
                        .invalidValue(field: "kind of tuple column \(index)", value: Int64(kind))
                    )
                }
            }
            return Self(values)
        }

        private static func readValue(
            from buffer: inout ByteBuffer,
            column index: Int
        ) throws(PgOutputDecodingError) -> ByteBuffer {
            guard let length = buffer.readInteger(as: Int32.self) else {
                throw PgOutputDecodingError(.truncated(field: "length of tuple column \(index)"))
            }
            guard length >= 0 else {
                throw PgOutputDecodingError(
                    .invalidValue(field: "length of tuple column \(index)", value: Int64(length))
                )
            }
            guard let value = buffer.readSlice(length: Int(length)) else {
                throw PgOutputDecodingError(.truncated(field: "value of tuple column \(index)"))
            }
            return value
        }
    }
}
