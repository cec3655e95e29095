// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore

extension PgOutputMessage {
    /// `Y`: names a type that is not built in (OID at or above `FirstGenbkiObjectId`) before a Relation uses it.
    public struct TypeDefinition: Sendable, Hashable {
        /// The streamed transaction's (sub)transaction id, inside protocol 2 stream blocks only.
        public var xid: UInt32?
        public var oid: UInt32
        /// The schema as sent: empty means `pg_catalog`. See schema.
        public var namespace: String
        public var name: String

        public init(xid: UInt32? = nil, oid: UInt32, namespace: String, name: String) {
            self.xid = xid
            self.oid = oid
            self.namespace = namespace
            self.name = name
        }

        /// The schema name, with the empty namespace that pgoutput sends for `pg_catalog` resolved.
        public var schema: String { self.namespace.isEmpty ? "pg_catalog" : self.namespace }

        static func decode(from buffer: inout ByteBuffer, inStream: Bool) throws(PgOutputDecodingError) -> Self {
            Self(
                xid: try buffer.readPgStreamedXID(inStream: inStream),
                oid: try buffer.readPgInteger("type OID"),
                namespace: try buffer.readPgString("type namespace"),
                name: try buffer.readPgString("type name")
            )
        }
    }
}
