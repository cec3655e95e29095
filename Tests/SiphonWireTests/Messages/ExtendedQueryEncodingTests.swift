// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonWire
import Testing

/// The extended query protocol's messages, byte for byte as "Message Formats" (PostgreSQL docs 55.7) defines them.
@Suite struct ExtendedQueryEncodingTests {
    @Test func encodesParseBindDescribeExecuteSync() throws {
        var encoder = FrontendEncoder()
        encoder.parse("SELECT $1")
        encoder.bind(parameters: ["\u{600}'", nil])
        encoder.describePortal()
        encoder.execute()
        encoder.sync()
        let expected = try ByteBuffer(
            plainHexEncodedBytes: """
                50 00000011 00 53454c454354202431 00 0000
                42 00000017 00 00 0000 0002 00000003 d88027 ffffffff 0000
                44 00000006 50 00
                45 00000009 00 00000000
                53 00000004
                """)
        #expect(encoder.flushBuffer() == expected)
    }

    @Test func encodesNamedStatementsAndPortals() throws {
        var encoder = FrontendEncoder()
        encoder.parse("SELECT 1", statement: "s")
        encoder.bind(parameters: [], portal: "p", statement: "s")
        encoder.execute(portal: "p", maxRows: 5)
        let expected = try ByteBuffer(
            plainHexEncodedBytes: """
                50 00000011 7300 53454c4543542031 00 0000
                42 0000000e 7000 7300 0000 0000 0000
                45 0000000a 7000 00000005
                """)
        #expect(encoder.flushBuffer() == expected)
    }

    @Test func decodesTheExtendedQueryReplies() throws {
        var input = try ByteBuffer(plainHexEncodedBytes: "31 00000004 32 00000004 6e 00000004")
        var decoder = BackendMessageDecoder()
        var messages: [BackendMessage] = []
        while let message = try decoder.decode(buffer: &input) { messages.append(message) }
        #expect(messages == [.parseComplete, .bindComplete, .noData])
    }
}
