// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore

/// Decodes pgoutput messages (protocol versions 1 and 2), one XLogData payload at a time.
///
/// The decoder is pure and keeps one piece of state: whether it is inside a stream block, where protocol
/// version 2 puts a transaction id in front of Relation, Type, Insert, Update, Delete, Truncate and Message.
public struct PgOutputDecoder: Sendable {
    /// The `proto_version` the replication stream was started with. Version 2 adds streamed transactions.
    public var protocolVersion: Int
    /// Whether a Stream Start has been decoded and its Stream Stop not yet.
    public private(set) var isInsideStreamBlock = false

    public init(protocolVersion: Int) {
        self.protocolVersion = protocolVersion
    }

    /// Decodes one whole message, consuming every byte of `buffer`.
    ///
    /// Column values and message contents are slices sharing `buffer`'s storage. On error the state is
    /// unchanged and `buffer` may be partly read.
    public mutating func decode(_ buffer: inout ByteBuffer) throws(PgOutputDecodingError) -> PgOutputMessage {
        guard let type = buffer.readInteger(as: UInt8.self) else { throw PgOutputDecodingError(.emptyMessage) }
        let message: PgOutputMessage
        do throws(PgOutputDecodingError) {
            message = try self.decodeBody(type: type, from: &buffer)
            guard buffer.readableBytes == 0 else {
                throw PgOutputDecodingError(.trailingBytes(count: buffer.readableBytes))
            }
        } catch {
            var error = error
            error.messageType = type
            throw error
        }
        switch message {
        case .streamStart: self.isInsideStreamBlock = true
        case .streamStop: self.isInsideStreamBlock = false
        case .begin, .commit, .origin, .relation, .type, .insert, .update, .delete, .truncate, .message,
            .streamCommit, .streamAbort:
            break
        }
        return message
    }

    private func decodeBody(type: UInt8, from buffer: inout ByteBuffer) throws(PgOutputDecodingError) -> PgOutputMessage
    {
        let inStream = self.isInsideStreamBlock
        switch type {
        case UInt8(ascii: "I"): return .insert(try .decode(from: &buffer, inStream: inStream))
        case UInt8(ascii: "U"): return .update(try .decode(from: &buffer, inStream: inStream))
        case UInt8(ascii: "D"): return .delete(try .decode(from: &buffer, inStream: inStream))
        case UInt8(ascii: "B"):
            try self.requireOutsideStreamBlock(type)
            return .begin(try .decode(from: &buffer))
        case UInt8(ascii: "C"):
            try self.requireOutsideStreamBlock(type)
            return .commit(try .decode(from: &buffer))
        case UInt8(ascii: "O"): return .origin(try .decode(from: &buffer))
        case UInt8(ascii: "R"): return .relation(try .decode(from: &buffer, inStream: inStream))
        case UInt8(ascii: "Y"): return .type(try .decode(from: &buffer, inStream: inStream))
        case UInt8(ascii: "T"): return .truncate(try .decode(from: &buffer, inStream: inStream))
        case UInt8(ascii: "M"): return .message(try .decode(from: &buffer, inStream: inStream))
        case UInt8(ascii: "S"):
            try self.requireStreaming(type)
            try self.requireOutsideStreamBlock(type)
            return .streamStart(try .decode(from: &buffer))
        case UInt8(ascii: "E"):
            try self.requireStreaming(type)
            guard inStream else { throw .unexpected(type, "Stream Stop without Stream Start") }
            return .streamStop
        case UInt8(ascii: "c"):
            try self.requireStreaming(type)
            try self.requireOutsideStreamBlock(type)
            return .streamCommit(try .decode(from: &buffer))
        case UInt8(ascii: "A"):
            try self.requireStreaming(type)
            try self.requireOutsideStreamBlock(type)
            return .streamAbort(try .decode(from: &buffer))
        default:
            throw PgOutputDecodingError(.unknownMessageType)
        }
    }

    private func requireStreaming(_ type: UInt8) throws(PgOutputDecodingError) {
        guard self.protocolVersion >= 2 else {
            throw .unexpected(
                type,
                "streaming messages need protocol version 2, the stream uses \(self.protocolVersion)"
            )
        }
    }

    private func requireOutsideStreamBlock(_ type: UInt8) throws(PgOutputDecodingError) {
        guard !self.isInsideStreamBlock else { throw .unexpected(type, "not allowed inside a stream block") }
    }
}
