// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import NIOTestUtils
import SiphonCore
import SiphonWire
import Testing

@Suite struct BackendMessageDecoderTests {
    @Test func decodesStartupConversationDrippedByteByByte() throws {
        var input = ByteBuffer()
        input.writeImmutableBuffer(backendFrame("R") { $0.writeInteger(Int32(10)); $0.writeNullTerminatedString("SCRAM-SHA-256"); $0.writeInteger(UInt8(0)) })
        input.writeImmutableBuffer(backendFrame("R") { $0.writeInteger(Int32(0)) })
        input.writeImmutableBuffer(backendFrame("S") { $0.writeNullTerminatedString("server_version"); $0.writeNullTerminatedString("15.18") })
        input.writeImmutableBuffer(backendFrame("K") { $0.writeInteger(Int32(4242)); $0.writeInteger(Int32(7)) })
        input.writeImmutableBuffer(backendFrame("Z") { $0.writeInteger(UInt8(ascii: "I")) })
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [
                (
                    input,
                    [
                        .authentication(.sasl(mechanisms: ["SCRAM-SHA-256"])), .authentication(.ok),
                        .parameterStatus(name: "server_version", value: "15.18"),
                        .backendKeyData(processID: 4242, secretKey: 7), .readyForQuery(transactionStatus: UInt8(ascii: "I")),
                    ]
                )
            ],
            decoderFactory: { BackendMessageDecoder() })
    }

    @Test func decodesErrorResponseFields() throws {
        var buffer = backendFrame("E") { body in
            for (code, value) in [("S", "FATAL"), ("V", "FATAL"), ("C", "28P01"), ("M", "password authentication failed for user \"x\"")] {
                body.writeInteger(UInt8(ascii: code.unicodeScalars.first!))
                body.writeNullTerminatedString(value)
            }
            body.writeInteger(UInt8(0))
        }
        var decoder = BackendMessageDecoder()
        guard case .errorResponse(let fields) = try decoder.decode(buffer: &buffer) else {
            Issue.record("not an error response")
            return
        }
        #expect(fields.serverError == ServerErrorFields(
            severity: "FATAL", sqlState: "28P01", message: "password authentication failed for user \"x\""))
    }

    @Test func rejectsImpossibleLengthAndTruncatedBodies() throws {
        var decoder = BackendMessageDecoder()
        var badLength = ByteBuffer(bytes: [UInt8(ascii: "Z"), 0, 0, 0, 2])
        #expect(throws: WireDecodingError(messageType: UInt8(ascii: "Z"), reason: "impossible message length 2")) {
            try decoder.decode(buffer: &badLength)
        }
        var shortBody = backendFrame("K") { $0.writeInteger(Int32(1)) }
        #expect(throws: WireDecodingError(messageType: UInt8(ascii: "K"), reason: "message ends before secret key")) {
            try decoder.decode(buffer: &shortBody)
        }
        var unknown = backendFrame("@") { _ in }
        #expect(throws: WireDecodingError.self) { try decoder.decode(buffer: &unknown) }
    }

    @Test func decodesXLogDataAndKeepalive() throws {
        var xLogData = ByteBuffer(bytes: [UInt8(ascii: "w")])
        xLogData.writeInteger(UInt64(0x1_0000_0010))
        xLogData.writeInteger(UInt64(0x1_0000_0020))
        xLogData.writeInteger(Int64(99))
        xLogData.writeString("B...")
        #expect(try ReplicationMessage.decode(&xLogData) == .xLogData(.init(
            walStart: LSN("1/10")!, walEnd: LSN("1/20")!, sendTime: 99, payload: ByteBuffer(string: "B..."))))

        var keepalive = ByteBuffer(bytes: [UInt8(ascii: "k")])
        keepalive.writeInteger(UInt64(0x30))
        keepalive.writeInteger(Int64(5))
        keepalive.writeInteger(UInt8(1))
        #expect(try ReplicationMessage.decode(&keepalive) == .primaryKeepalive(walEnd: LSN("0/30")!, sendTime: 5, replyRequested: true))

        var truncated = ByteBuffer(bytes: [UInt8(ascii: "k"), 0, 0])
        #expect(throws: WireDecodingError.self) { try ReplicationMessage.decode(&truncated) }
    }

    @Test func encodesStandbyStatusUpdate() {
        var encoder = FrontendEncoder()
        encoder.standbyStatusUpdate(written: LSN("0/20")!, flushed: LSN("0/10")!, applied: LSN("0/10")!, clock: 7, replyRequested: false)
        let bytes = encoder.flushBuffer()
        #expect(Array(bytes.readableBytesView) == [UInt8(ascii: "d"), 0, 0, 0, 38, UInt8(ascii: "r")]
            + [0, 0, 0, 0, 0, 0, 0, 0x20] + [0, 0, 0, 0, 0, 0, 0, 0x10] + [0, 0, 0, 0, 0, 0, 0, 0x10]
            + [0, 0, 0, 0, 0, 0, 0, 7] + [0])
    }
}
