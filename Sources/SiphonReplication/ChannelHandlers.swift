// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonWire

/// Answers the one-byte reply to `SSLRequest` (`S` or `N`), which comes before any framed message,
/// then removes itself.
final class SSLResponseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let promise: EventLoopPromise<Bool>

    init(promise: EventLoopPromise<Bool>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = Self.unwrapInboundIn(data)
        guard let byte = buffer.readInteger(as: UInt8.self) else { return }
        if buffer.readableBytes > 0 {
            // Bytes after the reply would be a man-in-the-middle injection (CVE-2021-23222): close the connection.
            // Checked while the handler is still in the pipeline, so the error and the close reach the channel.
            let error = WireDecodingError(messageType: byte, reason: "unexpected data after SSL response")
            self.promise.fail(error)
            context.fireErrorCaught(error)
            context.close(promise: nil)
            return
        }
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
        switch byte {
        case UInt8(ascii: "S"): self.promise.succeed(true)
        case UInt8(ascii: "N"): self.promise.succeed(false)
        default:
            self.promise.fail(WireDecodingError(messageType: byte, reason: "unexpected reply to SSLRequest"))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.promise.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.promise.fail(ChannelError.eof)
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension SSLResponseHandler: Sendable {}

/// Collects the messages of one socket read into an array, so the consumer takes them in one hop instead of one
/// `await` per message.
final class MessageBatcher: ChannelInboundHandler {
    typealias InboundIn = BackendMessage
    typealias InboundOut = [BackendMessage]

    private var batch: [BackendMessage] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.batch.append(Self.unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !self.batch.isEmpty {
            let batch = self.batch
            self.batch = []
            self.batch.reserveCapacity(batch.count)
            context.fireChannelRead(Self.wrapInboundOut(batch))
        }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.channelReadComplete(context: context)
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension MessageBatcher: Sendable {}
