// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore

/// Writes client messages ("Message Formats", PostgreSQL docs 55.7) into one buffer to flush at once.
public struct FrontendEncoder {
    public private(set) var buffer: ByteBuffer

    public init(allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        self.buffer = allocator.buffer(capacity: 256)
    }

    /// Takes what was written so far, leaving the encoder empty.
    public mutating func flushBuffer() -> ByteBuffer {
        defer { self.buffer.clear() }
        return self.buffer
    }

    /// `SSLRequest`: asks the server to switch to TLS before startup.
    public mutating func sslRequest() {
        self.buffer.writeInteger(Int32(8))
        self.buffer.writeInteger(Int32(80_877_103))
    }

    /// `StartupMessage`, protocol 3.0, with the given parameters (`user`, `database`, `replication`…).
    public mutating func startup(parameters: [(String, String)]) {
        self.writeLengthPrefixed(type: nil) { buffer in
            buffer.writeInteger(Int32(196_608))
            for (name, value) in parameters {
                buffer.writeNullTerminatedString(name)
                buffer.writeNullTerminatedString(value)
            }
            buffer.writeInteger(UInt8(0))
        }
    }

    /// `PasswordMessage` with a cleartext or md5-hashed password.
    public mutating func password(_ password: String) {
        self.writeLengthPrefixed(type: UInt8(ascii: "p")) { $0.writeNullTerminatedString(password) }
    }

    /// `SASLInitialResponse`: the chosen mechanism and the client-first message.
    public mutating func saslInitialResponse(mechanism: String, data: [UInt8]) {
        self.writeLengthPrefixed(type: UInt8(ascii: "p")) { buffer in
            buffer.writeNullTerminatedString(mechanism)
            buffer.writeInteger(Int32(data.count))
            buffer.writeBytes(data)
        }
    }

    /// `SASLResponse`: the client-final message.
    public mutating func saslResponse(data: [UInt8]) {
        self.writeLengthPrefixed(type: UInt8(ascii: "p")) { $0.writeBytes(data) }
    }

    /// `Query`: one statement through the simple query protocol.
    public mutating func query(_ sql: String) {
        self.writeLengthPrefixed(type: UInt8(ascii: "Q")) { $0.writeNullTerminatedString(sql) }
    }

    /// `CopyData` carrying a standby status update (`r`): what we received, made durable and applied.
    public mutating func standbyStatusUpdate(
        written: LSN, flushed: LSN, applied: LSN, clock: Int64, replyRequested: Bool
    ) {
        self.writeLengthPrefixed(type: UInt8(ascii: "d")) { buffer in
            buffer.writeInteger(UInt8(ascii: "r"))
            buffer.writeInteger(written.rawValue)
            buffer.writeInteger(flushed.rawValue)
            buffer.writeInteger(applied.rawValue)
            buffer.writeInteger(clock)
            buffer.writeInteger(UInt8(replyRequested ? 1 : 0))
        }
    }

    /// `CopyDone`: we end the copy-both stream.
    public mutating func copyDone() {
        self.writeLengthPrefixed(type: UInt8(ascii: "c")) { _ in }
    }

    /// `Terminate`: we close the session.
    public mutating func terminate() {
        self.writeLengthPrefixed(type: UInt8(ascii: "X")) { _ in }
    }

    private mutating func writeLengthPrefixed(type: UInt8?, _ body: (inout ByteBuffer) -> Void) {
        if let type { self.buffer.writeInteger(type) }
        let lengthIndex = self.buffer.writerIndex
        self.buffer.writeInteger(Int32(0))
        body(&self.buffer)
        self.buffer.setInteger(Int32(self.buffer.writerIndex - lengthIndex), at: lengthIndex)
    }
}

// MARK: Extended query protocol ("Extended Query", PostgreSQL docs 55.2.3)

extension FrontendEncoder {
    /// `Parse`: `sql` as the prepared statement `statement` (the unnamed one by default); the server infers the
    /// types of its `$1`, `$2`, … parameters.
    public mutating func parse(_ sql: String, statement: String = "") {
        self.writeLengthPrefixed(type: UInt8(ascii: "P")) { buffer in
            buffer.writeNullTerminatedString(statement)
            buffer.writeNullTerminatedString(sql)
            buffer.writeInteger(Int16(0))
        }
    }

    /// `Bind`: `parameters` in text format (`nil` is NULL) into the portal `portal`, asking for text results.
    /// The values travel as bytes with their own length, never as SQL text, so they need no quoting.
    public mutating func bind(parameters: [String?], portal: String = "", statement: String = "") {
        self.writeLengthPrefixed(type: UInt8(ascii: "B")) { buffer in
            buffer.writeNullTerminatedString(portal)
            buffer.writeNullTerminatedString(statement)
            buffer.writeInteger(Int16(0))
            buffer.writeInteger(Int16(parameters.count))
            for parameter in parameters {
                if let parameter {
                    buffer.writeInteger(Int32(parameter.utf8.count))
                    buffer.writeString(parameter)
                } else {
                    buffer.writeInteger(Int32(-1))
                }
            }
            buffer.writeInteger(Int16(0))
        }
    }

    /// `Describe` of a portal: the server answers with `RowDescription` or `NoData`.
    public mutating func describePortal(_ portal: String = "") {
        self.writeLengthPrefixed(type: UInt8(ascii: "D")) { buffer in
            buffer.writeInteger(UInt8(ascii: "P"))
            buffer.writeNullTerminatedString(portal)
        }
    }

    /// `Execute`: runs the portal to completion (`maxRows` 0) or for at most `maxRows` rows.
    public mutating func execute(portal: String = "", maxRows: Int32 = 0) {
        self.writeLengthPrefixed(type: UInt8(ascii: "E")) { buffer in
            buffer.writeNullTerminatedString(portal)
            buffer.writeInteger(maxRows)
        }
    }

    /// `Sync`: ends the extended-query sequence; the server commits an implicit transaction and sends
    /// `ReadyForQuery` (after an error, it skips everything up to here).
    public mutating func sync() {
        self.writeLengthPrefixed(type: UInt8(ascii: "S")) { _ in }
    }
}
