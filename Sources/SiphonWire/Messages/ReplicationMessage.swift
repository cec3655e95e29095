// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore

/// What the walsender sends inside `CopyData` during `START_REPLICATION` ("Streaming Replication Protocol",
/// PostgreSQL docs 55.4).
public enum ReplicationMessage: Sendable, Equatable {
    /// `w`: a chunk of decoded WAL — for logical replication, exactly one output plugin message.
    case xLogData(XLogData)
    /// `k`: the server's position and clock; `replyRequested` asks for a standby status update now.
    case primaryKeepalive(walEnd: LSN, sendTime: Int64, replyRequested: Bool)

    public struct XLogData: Sendable, Equatable {
        public var walStart: LSN
        public var walEnd: LSN
        public var sendTime: Int64
        public var payload: ByteBuffer

        public init(walStart: LSN, walEnd: LSN, sendTime: Int64, payload: ByteBuffer) {
            self.walStart = walStart
            self.walEnd = walEnd
            self.sendTime = sendTime
            self.payload = payload
        }
    }

    /// Decodes the payload of a `CopyData` message.
    public static func decode(_ buffer: inout ByteBuffer) throws(WireDecodingError) -> ReplicationMessage {
        var reader = BodyReader(type: UInt8(ascii: "d"), buffer: buffer)
        let kind: UInt8 = try reader.integer("replication message kind")
        let message: ReplicationMessage
        switch kind {
        case UInt8(ascii: "w"):
            let walStart: UInt64 = try reader.integer("XLogData start")
            let walEnd: UInt64 = try reader.integer("XLogData end")
            let sendTime: Int64 = try reader.integer("XLogData send time")
            message = .xLogData(
                XLogData(walStart: LSN(rawValue: walStart), walEnd: LSN(rawValue: walEnd), sendTime: sendTime, payload: reader.rest()))
        case UInt8(ascii: "k"):
            let walEnd: UInt64 = try reader.integer("keepalive WAL end")
            let sendTime: Int64 = try reader.integer("keepalive send time")
            let reply: UInt8 = try reader.integer("keepalive reply flag")
            message = .primaryKeepalive(walEnd: LSN(rawValue: walEnd), sendTime: sendTime, replyRequested: reply != 0)
        default:
            throw WireDecodingError(messageType: UInt8(ascii: "d"), reason: "unknown replication message kind \(kind)")
        }
        try reader.expectEnd()
        buffer = reader.buffer
        return message
    }
}
