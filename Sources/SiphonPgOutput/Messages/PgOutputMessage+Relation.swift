// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore

extension PgOutputMessage {
    /// `R`: the layout of a published table, sent before the first change that needs it.
    public struct Relation: Sendable, Hashable {
        /// `relreplident`: which old values updates and deletes carry.
        public enum ReplicaIdentity: UInt8, Sendable, Hashable {
            /// `d`: the primary key columns (old tuple `K`, only when the key changed).
            case `default` = 0x64
            /// `n`: nothing.
            case nothing = 0x6E
            /// `f`: every column (old tuple `O`).
            case full = 0x66
            /// `i`: the columns of the chosen unique index (old tuple `K`).
            case index = 0x69
        }

        /// One column, in table order (dropped and generated columns are not sent).
        public struct Column: Sendable, Hashable {
            /// Bit 1: the column is part of the replica identity ("key"). Other bits are reserved.
            public var flags: UInt8
            public var name: String
            public var typeOID: UInt32
            /// `atttypmod`, e.g. the length of `varchar(n)` plus 4; -1 when there is none.
            public var typeModifier: Int32

            public init(flags: UInt8, name: String, typeOID: UInt32, typeModifier: Int32) {
                self.flags = flags
                self.name = name
                self.typeOID = typeOID
                self.typeModifier = typeModifier
            }

            /// Whether the column belongs to the replica identity: the primary key, the identity index, or
            /// every column with `REPLICA IDENTITY FULL`.
            public var isKey: Bool { self.flags & 1 != 0 }
        }

        /// The streamed transaction's (sub)transaction id, inside protocol 2 stream blocks only.
        public var xid: UInt32?
        public var oid: UInt32
        /// The schema as sent: empty means `pg_catalog`. See schema.
        public var namespace: String
        public var name: String
        public var replicaIdentity: ReplicaIdentity
        public var columns: [Column]

        public init(
            xid: UInt32? = nil,
            oid: UInt32,
            namespace: String,
            name: String,
            replicaIdentity: ReplicaIdentity,
            columns: [Column]
        ) {
            self.xid = xid
            self.oid = oid
            self.namespace = namespace
            self.name = name
            self.replicaIdentity = replicaIdentity
            self.columns = columns
        }

        /// The schema name, with the empty namespace that pgoutput sends for `pg_catalog` resolved.
        public var schema: String { self.namespace.isEmpty ? "pg_catalog" : self.namespace }

        static func decode(from buffer: inout ByteBuffer, inStream: Bool) throws(PgOutputDecodingError) -> Self {
            let xid = try buffer.readPgStreamedXID(inStream: inStream)
            let oid: UInt32 = try buffer.readPgInteger("relation OID")
            let namespace = try buffer.readPgString("relation namespace")
            let name = try buffer.readPgString("relation name")
            let identityByte: UInt8 = try buffer.readPgInteger("replica identity")
            guard let replicaIdentity = ReplicaIdentity(rawValue: identityByte) else {
                throw .invalidValue("replica identity", identityByte)
            }
            let count: Int16 = try buffer.readPgInteger("column count")
            guard count >= 0 else { throw .invalidValue("column count", count) }
            var columns: [Column] = []
            // Every column takes at least 10 bytes; a corrupt count must not reserve more than the input allows.
            columns.reserveCapacity(min(Int(count), buffer.readableBytes / 10))
            for _ in 0..<count {
                columns.append(
                    Column(
                        flags: try buffer.readPgInteger("column flags"),
                        name: try buffer.readPgString("column name"),
                        typeOID: try buffer.readPgInteger("column type OID"),
                        typeModifier: try buffer.readPgInteger("column type modifier")
                    )
                )
            }
            return Self(
                xid: xid,
                oid: oid,
                namespace: namespace,
                name: name,
                replicaIdentity: replicaIdentity,
                columns: columns
            )
        }
    }
}
