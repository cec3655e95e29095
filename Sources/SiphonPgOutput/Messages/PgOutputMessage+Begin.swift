// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore

extension PgOutputMessage {
    /// `B`: the start of a (not streamed) transaction, sent when it has committed.
    public struct Begin: Sendable, Hashable {
        /// The LSN of the transaction's commit record ("final LSN"); the Commit message repeats it.
        public var finalLSN: LSN
        public var commitTime: PostgresTimestamp
        public var xid: UInt32

        public init(finalLSN: LSN, commitTime: PostgresTimestamp, xid: UInt32) {
            self.finalLSN = finalLSN
            self.commitTime = commitTime
            self.xid = xid
        }

        static func decode(from buffer: inout ByteBuffer) throws(PgOutputDecodingError) -> Self {
            Self(
                finalLSN: try buffer.readPgLSN("final LSN"),
                commitTime: try buffer.readPgTimestamp("commit timestamp"),
                xid: try buffer.readPgInteger("xid")
            )
        }
    }
}
