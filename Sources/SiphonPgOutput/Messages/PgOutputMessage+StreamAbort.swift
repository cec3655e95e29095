// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore

extension PgOutputMessage {
    /// `A`: the streamed transaction `xid` rolled back (`subtransactionXID == xid`), or only its subtransaction
    /// `subtransactionXID` did (`ROLLBACK TO SAVEPOINT`).
    public struct StreamAbort: Sendable, Hashable {
        public var xid: UInt32
        public var subtransactionXID: UInt32

        public init(xid: UInt32, subtransactionXID: UInt32) {
            self.xid = xid
            self.subtransactionXID = subtransactionXID
        }

        /// Whether the whole transaction rolled back, not just a subtransaction.
        public var abortsWholeTransaction: Bool { self.xid == self.subtransactionXID }

        static func decode(from buffer: inout ByteBuffer) throws(PgOutputDecodingError) -> Self {
            Self(
                xid: try buffer.readPgInteger("xid"),
                subtransactionXID: try buffer.readPgInteger("subtransaction xid")
            )
        }
    }
}
