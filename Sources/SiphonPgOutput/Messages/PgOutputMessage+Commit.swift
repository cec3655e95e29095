// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore

extension PgOutputMessage {
    /// `C`: the end of the transaction that the last Begin opened.
    public struct Commit: Sendable, Hashable {
        /// "Flags; currently unused." Kept as sent.
        public var flags: UInt8
        /// The LSN of the commit record; equals `Begin.finalLSN`.
        public var commitLSN: LSN
        /// The LSN just past the commit record: once this transaction is delivered, the slot may confirm up to here.
        public var endLSN: LSN
        public var commitTime: PostgresTimestamp

        public init(flags: UInt8 = 0, commitLSN: LSN, endLSN: LSN, commitTime: PostgresTimestamp) {
            self.flags = flags
            self.commitLSN = commitLSN
            self.endLSN = endLSN
            self.commitTime = commitTime
        }

        static func decode(from buffer: inout ByteBuffer) throws(PgOutputDecodingError) -> Self {
            Self(
                flags: try buffer.readPgInteger("flags"),
                commitLSN: try buffer.readPgLSN("commit LSN"),
                endLSN: try buffer.readPgLSN("end LSN"),
                commitTime: try buffer.readPgTimestamp("commit timestamp")
            )
        }
    }
}
