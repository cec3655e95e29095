// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonPgOutput
import Testing

/// Bad input gives a typed error naming the message and the field, never a crash.
@Suite struct PgOutputDecoderErrorTests {
    private func error(
        _ hex: String,
        version: Int = 1,
        insideStreamBlock: Bool = false,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> PgOutputDecodingError? {
        var decoder = PgOutputDecoder(protocolVersion: version)
        if insideStreamBlock {
            var start = try ByteBuffer(plainHexEncodedBytes: "53 00000001 01")
            _ = try decoder.decode(&start)
        }
        var buffer = try ByteBuffer(plainHexEncodedBytes: hex)
        return #expect(throws: PgOutputDecodingError.self, sourceLocation: sourceLocation) {
            try decoder.decode(&buffer)
        }
    }

    @Test func emptyMessage() throws {
        let error = try self.error("")
        #expect(error?.reason == .emptyMessage)
        #expect(error?.messageType == nil)
        #expect(error?.description == "pgoutput message: no bytes at all")
    }

    @Test func unknownMessageTypes() throws {
        #expect(try self.error("5a 00")?.reason == .unknownMessageType)
        // Prepare ('P') belongs to protocol version 3 (two-phase commit), which this decoder does not speak.
        let error = try self.error("50 00", version: 2)
        #expect(error?.reason == .unknownMessageType)
        #expect(error?.messageType == UInt8(ascii: "P"))
    }

    @Test func trailingBytes() throws {
        let error = try self.error("42 00000000 00000001 00000000 00000002 00000003 ff")
        #expect(error?.reason == .trailingBytes(count: 1))
        #expect(error?.messageType == UInt8(ascii: "B"))
        #expect(error?.description == "pgoutput Begin ('B') message: 1 unexpected bytes after the last field")
    }

    @Test func truncatedFixedField() throws {
        let error = try self.error("42 00000000 00000001 00000000 00000002 0000")
        #expect(error?.reason == .truncated(field: "xid"))
        #expect(error?.description == "pgoutput Begin ('B') message: ended while reading xid")
    }

    @Test func truncatedColumnValueNamesTheColumn() throws {
        let error = try self.error("49 00004000 4e 0002 6e 74 00000005 6170")
        #expect(error?.reason == .truncated(field: "value of tuple column 1"))
        #expect(error?.description == "pgoutput Insert ('I') message: ended while reading value of tuple column 1")
    }

    @Test func invalidTupleValueKind() throws {
        #expect(
            try self.error("49 00004000 4e 0001 78")?.reason
                == .invalidValue(field: "kind of tuple column 0", value: 0x78)
        )
    }

    @Test func negativeLengths() throws {
        #expect(
            try self.error("49 00004000 4e 0001 74 fffffffe")?.reason
                == .invalidValue(field: "length of tuple column 0", value: -2)
        )
        #expect(try self.error("49 00004000 4e ffff")?.reason == .invalidValue(field: "tuple column count", value: -1))
        #expect(
            try self.error("4d 00 00000000 00000001 7000 ffffffff")?.reason
                == .invalidValue(field: "content", value: -1)
        )
        #expect(
            try self.error("54 80000000 00")?.reason == .invalidValue(field: "relation count", value: Int64(Int32.min))
        )
    }

    @Test func countsLargerThanTheMessage() throws {
        #expect(try self.error("49 00004000 4e 7fff 6e")?.reason == .truncated(field: "kind of tuple column 1"))
        #expect(try self.error("52 00000010 7300 7400 64 7fff")?.reason == .truncated(field: "column flags"))
        #expect(try self.error("54 7fffffff 00 00000001")?.reason == .truncated(field: "relation OID"))
    }

    @Test func invalidMarkersAndFlags() throws {
        #expect(
            try self.error("52 00000010 7300 7400 78 0000")?.reason
                == .invalidValue(field: "replica identity", value: 0x78)
        )
        #expect(try self.error("44 00004000 4e 0000")?.reason == .invalidValue(field: "old tuple marker", value: 0x4E))
        #expect(try self.error("49 00004000 4b 0000")?.reason == .invalidValue(field: "new tuple marker", value: 0x4B))
        #expect(
            try self.error("55 00004000 4b 0000 4f 0000")?.reason
                == .invalidValue(field: "new tuple marker", value: 0x4F)
        )
        #expect(
            try self.error("4d 02 00000000 00000001 7000 00000000")?.reason == .invalidValue(field: "flags", value: 2)
        )
        #expect(
            try self.error("53 00000001 02", version: 2)?.reason == .invalidValue(field: "first segment flag", value: 2)
        )
    }

    @Test func stringWithoutTerminator() throws {
        #expect(try self.error("52 00000010 7300 74")?.reason == .truncated(field: "relation name"))
        #expect(try self.error("4f 00000000 00000001 6f7269")?.reason == .truncated(field: "origin name"))
    }

    @Test func streamMessagesNeedProtocolVersion2() throws {
        let error = try self.error("53 00000001 01", version: 1)
        #expect(error?.reason == .unexpectedMessage("streaming messages need protocol version 2, the stream uses 1"))
        #expect(error?.messageType == UInt8(ascii: "S"))
    }

    @Test func streamBlocksMustPair() throws {
        #expect(try self.error("45", version: 2)?.reason == .unexpectedMessage("Stream Stop without Stream Start"))
        #expect(
            try self.error("53 00000002 00", version: 2, insideStreamBlock: true)?.reason
                == .unexpectedMessage("not allowed inside a stream block")
        )
        #expect(
            try self.error("42 00000000 00000001 00000000 00000002 00000003", version: 2, insideStreamBlock: true)?
                .reason
                == .unexpectedMessage("not allowed inside a stream block")
        )
        #expect(
            try self.error("41 00000001 00000001", version: 2, insideStreamBlock: true)?.reason
                == .unexpectedMessage("not allowed inside a stream block")
        )
    }

    @Test func failedMessageLeavesTheStreamStateAlone() throws {
        var decoder = PgOutputDecoder(protocolVersion: 2)
        var start = try ByteBuffer(plainHexEncodedBytes: "53 00000001 01")
        _ = try decoder.decode(&start)
        var badStart = try ByteBuffer(plainHexEncodedBytes: "53 00000002 01")
        #expect(throws: PgOutputDecodingError.self) { try decoder.decode(&badStart) }
        var insertWithXID = try ByteBuffer(plainHexEncodedBytes: "49 00000001 00004000 4e 0000")
        #expect(throws: Never.self) { try decoder.decode(&insertWithXID) }
        #expect(decoder.isInsideStreamBlock)
    }

    @Test func insideAStreamBlockTheXIDIsRequired() throws {
        // An insert without the leading xid: the relation OID is read as the xid, then 'N' as part of the OID.
        #expect(
            try self.error("49 00004000 4e 0000", version: 2, insideStreamBlock: true)?.reason
                == .truncated(field: "relation OID")
        )
    }
}
