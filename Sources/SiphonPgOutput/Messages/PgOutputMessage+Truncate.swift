// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore

extension PgOutputMessage {
    /// `T`: one `TRUNCATE` statement, with every published table it emptied (cascaded ones included).
    public struct Truncate: Sendable, Hashable {
        /// The option bits of the message.
        public struct Options: OptionSet, Sendable, Hashable {
            public var rawValue: UInt8
            public init(rawValue: UInt8) { self.rawValue = rawValue }

            /// Bit 1: `CASCADE`.
            public static let cascade = Self(rawValue: 1)
            /// Bit 2: `RESTART IDENTITY`.
            public static let restartIdentity = Self(rawValue: 2)
        }

        /// The streamed transaction's (sub)transaction id, inside protocol 2 stream blocks only.
        public var xid: UInt32?
        public var options: Options
        public var relationOIDs: [UInt32]

        public init(xid: UInt32? = nil, options: Options, relationOIDs: [UInt32]) {
            self.xid = xid
            self.options = options
            self.relationOIDs = relationOIDs
        }

        static func decode(from buffer: inout ByteBuffer, inStream: Bool) throws(PgOutputDecodingError) -> Self {
            let xid = try buffer.readPgStreamedXID(inStream: inStream)
            let count: Int32 = try buffer.readPgInteger("relation count")
            guard count >= 0 else { throw .invalidValue("relation count", count) }
            let options = Options(rawValue: try buffer.readPgInteger("options"))
            var relationOIDs: [UInt32] = []
            relationOIDs.reserveCapacity(min(Int(count), buffer.readableBytes / 4))
            for _ in 0..<count {
                relationOIDs.append(try buffer.readPgInteger("relation OID"))
            }
            return Self(xid: xid, options: options, relationOIDs: relationOIDs)
        }
    }
}
