// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore

/// Splits the server's byte stream into messages: a type byte, an Int32 length that counts itself, the body.
///
/// Partial input rewinds and waits for more, so it can be fed byte by byte.
public struct BackendMessageDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = BackendMessage

    /// Larger messages mean a corrupt stream, not data: PostgreSQL caps a field at 1 GB.
    static let maximumMessageLength = 1 << 30

    public init() {}

    public mutating func decode(buffer: inout ByteBuffer) throws -> BackendMessage? {
        let start = buffer.readerIndex
        guard let type = buffer.readInteger(as: UInt8.self), let length = buffer.readInteger(as: Int32.self) else {
            buffer.moveReaderIndex(to: start)
            return nil
        }
        guard length >= 4, Int(length) <= Self.maximumMessageLength else {
            throw WireDecodingError(messageType: type, reason: "impossible message length \(length)")
        }
        guard var body = buffer.readSlice(length: Int(length) - 4) else {
            buffer.moveReaderIndex(to: start)
            return nil
        }
        return try BackendMessage.decode(type: type, body: &body)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> BackendMessage? {
        try self.decode(buffer: &buffer)
    }
}
