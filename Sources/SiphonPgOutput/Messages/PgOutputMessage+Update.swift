// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore

extension PgOutputMessage {
    /// `U`: a row was updated.
    public struct Update: Sendable, Hashable {
        /// The streamed transaction's (sub)transaction id, inside protocol 2 stream blocks only.
        public var xid: UInt32?
        public var relationOID: UInt32
        /// `K` when the key changed (identity default or index), `O` with `REPLICA IDENTITY FULL`, else absent.
        public var old: OldTuple?
        public var new: TupleData

        public init(xid: UInt32? = nil, relationOID: UInt32, old: OldTuple? = nil, new: TupleData) {
            self.xid = xid
            self.relationOID = relationOID
            self.old = old
            self.new = new
        }

        static func decode(from buffer: inout ByteBuffer, inStream: Bool) throws(PgOutputDecodingError) -> Self {
            let xid = try buffer.readPgStreamedXID(inStream: inStream)
            let relationOID: UInt32 = try buffer.readPgInteger("relation OID")
            var marker: UInt8 = try buffer.readPgInteger("tuple marker")
            let old = try OldTuple.decode(kind: marker, from: &buffer)
            if old != nil {
                marker = try buffer.readPgInteger("new tuple marker")
            }
            guard marker == UInt8(ascii: "N") else { throw .invalidValue("new tuple marker", marker) }
            return Self(xid: xid, relationOID: relationOID, old: old, new: try TupleData.decode(from: &buffer))
        }
    }
}
