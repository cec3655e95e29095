// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore

extension PgOutputMessage {
    /// `I`: a row was inserted.
    public struct Insert: Sendable, Hashable {
        /// The streamed transaction's (sub)transaction id, inside protocol 2 stream blocks only.
        public var xid: UInt32?
        public var relationOID: UInt32
        public var new: TupleData

        public init(xid: UInt32? = nil, relationOID: UInt32, new: TupleData) {
            self.xid = xid
            self.relationOID = relationOID
            self.new = new
        }

        static func decode(from buffer: inout ByteBuffer, inStream: Bool) throws(PgOutputDecodingError) -> Self {
            let xid = try buffer.readPgStreamedXID(inStream: inStream)
            let relationOID: UInt32 = try buffer.readPgInteger("relation OID")
            let marker: UInt8 = try buffer.readPgInteger("new tuple marker")
            guard marker == UInt8(ascii: "N") else { throw .invalidValue("new tuple marker", marker) }
            return Self(xid: xid, relationOID: relationOID, new: try TupleData.decode(from: &buffer))
        }
    }
}
