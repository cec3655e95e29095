// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore

extension PgOutputMessage {
    /// `c`: the streamed transaction `xid` committed; its surviving changes are final.
    public struct StreamCommit: Sendable, Hashable {
        public var xid: UInt32
        /// "Flags; currently unused." Kept as sent.
        public var flags: UInt8
        public var commitLSN: LSN
        /// The LSN just past the commit record: once this transaction is delivered, the slot may confirm up to here.
        public var endLSN: LSN
        public var commitTime: PostgresTimestamp

        public init(xid: UInt32, flags: UInt8 = 0, commitLSN: LSN, endLSN: LSN, commitTime: PostgresTimestamp) {
            self.xid = xid
            self.flags = flags
            self.commitLSN = commitLSN
            self.endLSN = endLSN
            self.commitTime = commitTime
        }

        static func decode(from buffer: inout ByteBuffer) throws(PgOutputDecodingError) -> Self {
            Self(
                xid: try buffer.readPgInteger("xid"),
                flags: try buffer.readPgInteger("flags"),
                commitLSN: try buffer.readPgLSN("commit LSN"),
                endLSN: try buffer.readPgLSN("end LSN"),
                commitTime: try buffer.readPgTimestamp("commit timestamp")
            )
        }
    }
}
