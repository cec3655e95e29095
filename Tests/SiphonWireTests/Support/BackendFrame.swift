// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore

/// One backend message as the server frames it: type byte, length, body.
func backendFrame(_ type: Character, _ body: (inout ByteBuffer) -> Void = { _ in }) -> ByteBuffer {
    var payload = ByteBuffer()
    body(&payload)
    var buffer = ByteBuffer()
    buffer.writeInteger(UInt8(ascii: type.unicodeScalars.first!))
    buffer.writeInteger(Int32(payload.readableBytes + 4))
    buffer.writeImmutableBuffer(payload)
    return buffer
}
