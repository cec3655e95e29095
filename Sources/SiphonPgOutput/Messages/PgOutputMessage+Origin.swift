// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore

extension PgOutputMessage {
    /// `O`: the transaction was replayed here from another node, through the named replication origin.
    public struct Origin: Sendable, Hashable {
        /// The commit LSN on the origin server; `0/0` inside stream blocks.
        public var commitLSN: LSN
        public var name: String

        public init(commitLSN: LSN, name: String) {
            self.commitLSN = commitLSN
            self.name = name
        }

        static func decode(from buffer: inout ByteBuffer) throws(PgOutputDecodingError) -> Self {
            Self(commitLSN: try buffer.readPgLSN("origin commit LSN"), name: try buffer.readPgString("origin name"))
        }
    }
}
