// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore

extension PgOutputMessage {
    /// The old row an Update or Delete carries, as the relation's replica identity provides it.
    public enum OldTuple: Sendable, Hashable {
        /// `K`: the replica identity columns; pgoutput sends the other columns as nulls.
        case key(TupleData)
        /// `O`: the whole old row (`REPLICA IDENTITY FULL`).
        case full(TupleData)

        /// The tuple, whichever kind it is.
        public var tuple: TupleData {
            switch self {
            case .key(let tuple), .full(let tuple): tuple
            }
        }

        /// Reads the tuple after a `K` or `O` byte.
        static func decode(kind: UInt8, from buffer: inout ByteBuffer) throws(PgOutputDecodingError) -> Self? {
            switch kind {
            case UInt8(ascii: "K"): .key(try TupleData.decode(from: &buffer))
            case UInt8(ascii: "O"): .full(try TupleData.decode(from: &buffer))
            default: nil
            }
        }
    }
}
