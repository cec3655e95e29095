// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import NIOEmbedded
import SiphonWire
import Testing

@testable import SiphonReplication

/// The two channel handlers, driven byte by byte on an `EmbeddedChannel`.
@Suite struct ChannelHandlerTests {
    private func sslReply(_ bytes: [UInt8]) throws -> (channel: EmbeddedChannel, answer: EventLoopFuture<Bool>) {
        let channel = EmbeddedChannel()
        let promise = channel.eventLoop.makePromise(of: Bool.self)
        try channel.pipeline.syncOperations.addHandler(SSLResponseHandler(promise: promise))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5432)).wait()
        try channel.writeInbound(ByteBuffer(bytes: bytes))
        return (channel, promise.futureResult)
    }

    @Test func anSReplyMeansTLSAndTheHandlerLeaves() throws {
        let (channel, answer) = try self.sslReply([UInt8(ascii: "S")])
        #expect(try answer.wait() == true)
        #expect(throws: (any Error).self) { try channel.pipeline.syncOperations.handler(type: SSLResponseHandler.self) }
        #expect(channel.isActive)
    }

    @Test func anNReplyMeansNoTLS() throws {
        let (_, answer) = try self.sslReply([UInt8(ascii: "N")])
        #expect(try answer.wait() == false)
    }

    @Test func anyOtherReplyIsRefused() throws {
        let (_, answer) = try self.sslReply([UInt8(ascii: "E")])
        #expect(throws: WireDecodingError.self) { try answer.wait() }
    }

    /// CVE-2021-23222: bytes a man in the middle sends after the reply, before the TLS handshake, would be read as
    /// if they came through TLS. They close the connection instead.
    @Test func bytesAfterTheReplyCloseTheConnection() throws {
        let channel = EmbeddedChannel()
        let promise = channel.eventLoop.makePromise(of: Bool.self)
        try channel.pipeline.syncOperations.addHandler(SSLResponseHandler(promise: promise))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5432)).wait()
        #expect(throws: WireDecodingError.self) {
            try channel.writeInbound(ByteBuffer(bytes: [UInt8(ascii: "S")] + Array("Z\0\0\0\u{5}I".utf8)))
        }
        #expect(!channel.isActive)
    }

    @Test func theBatcherForwardsOneSocketReadAsOneArray() throws {
        let channel = EmbeddedChannel(handler: MessageBatcher())
        channel.pipeline.fireChannelRead(BackendMessage.readyForQuery(transactionStatus: UInt8(ascii: "I")))
        channel.pipeline.fireChannelRead(BackendMessage.emptyQueryResponse)
        #expect(try channel.readInbound(as: [BackendMessage].self) == nil)
        channel.pipeline.fireChannelReadComplete()
        #expect(try channel.readInbound(as: [BackendMessage].self) == [.readyForQuery(transactionStatus: UInt8(ascii: "I")), .emptyQueryResponse])
        channel.pipeline.fireChannelReadComplete()
        #expect(try channel.readInbound(as: [BackendMessage].self) == nil)
    }

    @Test func theBatcherHandsOverWhatItHoldsWhenTheConnectionEnds() throws {
        let channel = EmbeddedChannel(handler: MessageBatcher())
        channel.pipeline.fireChannelRead(BackendMessage.emptyQueryResponse)
        channel.pipeline.fireChannelInactive()
        #expect(try channel.readInbound(as: [BackendMessage].self) == [.emptyQueryResponse])
    }
}
