// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore

extension PgOutputMessage {
    /// `M`: a message written with `pg_logical_emit_message(transactional, prefix, content)`.
    public struct LogicalMessage: Sendable, Hashable {
        /// The streamed transaction's (sub)transaction id, inside protocol 2 stream blocks only.
        public var xid: UInt32?
        /// Transactional messages arrive inside their transaction; others arrive at once, outside any.
        public var isTransactional: Bool
        /// Where the message was written to the WAL.
        public var lsn: LSN
        public var prefix: String
        /// The content, a slice of the received bytes.
        public var content: ByteBuffer

        public init(xid: UInt32? = nil, isTransactional: Bool, lsn: LSN, prefix: String, content: ByteBuffer) {
            self.xid = xid
            self.isTransactional = isTransactional
            self.lsn = lsn
            self.prefix = prefix
            self.content = content
        }

        static func decode(from buffer: inout ByteBuffer, inStream: Bool) throws(PgOutputDecodingError) -> Self {
            let xid = try buffer.readPgStreamedXID(inStream: inStream)
            let flags: UInt8 = try buffer.readPgInteger("flags")
            // "Either 0 for no flags or 1 if the logical decoding message is transactional."
            guard flags <= 1 else { throw .invalidValue("flags", flags) }
            return Self(
                xid: xid,
                isTransactional: flags == 1,
                lsn: try buffer.readPgLSN("message LSN"),
                prefix: try buffer.readPgString("prefix"),
                content: try buffer.readPgLengthPrefixedSlice("content")
            )
        }
    }
}
