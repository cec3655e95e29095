// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore

extension PgOutputMessage {
    /// `S`: a block of changes of the in-progress transaction `xid` follows, up to Stream Stop.
    ///
    /// Inside the block, Relation, Type, Insert, Update, Delete, Truncate and Message start with the xid of the
    /// (sub)transaction they belong to.
    public struct StreamStart: Sendable, Hashable {
        /// The top-level transaction.
        public var xid: UInt32
        /// Whether this is the transaction's first block.
        public var isFirstSegment: Bool

        public init(xid: UInt32, isFirstSegment: Bool) {
            self.xid = xid
            self.isFirstSegment = isFirstSegment
        }

        static func decode(from buffer: inout ByteBuffer) throws(PgOutputDecodingError) -> Self {
            let xid: UInt32 = try buffer.readPgInteger("xid")
            // "A value of 1 indicates this is the first stream segment for this XID, 0 for any other."
            let first: UInt8 = try buffer.readPgInteger("first segment flag")
            guard first <= 1 else { throw .invalidValue("first segment flag", first) }
            return Self(xid: xid, isFirstSegment: first == 1)
        }
    }
}
