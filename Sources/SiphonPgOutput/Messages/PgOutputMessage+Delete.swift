// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore

extension PgOutputMessage {
    /// `D`: a row was deleted.
    public struct Delete: Sendable, Hashable {
        /// The streamed transaction's (sub)transaction id, inside protocol 2 stream blocks only.
        public var xid: UInt32?
        public var relationOID: UInt32
        /// `K` (identity default or index) or `O` (`REPLICA IDENTITY FULL`).
        public var old: OldTuple

        public init(xid: UInt32? = nil, relationOID: UInt32, old: OldTuple) {
            self.xid = xid
            self.relationOID = relationOID
            self.old = old
        }

        static func decode(from buffer: inout ByteBuffer, inStream: Bool) throws(PgOutputDecodingError) -> Self {
            let xid = try buffer.readPgStreamedXID(inStream: inStream)
            let relationOID: UInt32 = try buffer.readPgInteger("relation OID")
            let marker: UInt8 = try buffer.readPgInteger("old tuple marker")
            guard let old = try OldTuple.decode(kind: marker, from: &buffer) else {
                throw .invalidValue("old tuple marker", marker)
            }
            return Self(xid: xid, relationOID: relationOID, old: old)
        }
    }
}
