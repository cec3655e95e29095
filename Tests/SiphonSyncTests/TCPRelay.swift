// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import NIOPosix
import Synchronization

/// A TCP relay on 127.0.0.1 in front of a server, which a test can cut (every connection closed, new ones closed as
/// soon as they arrive) and restore: the server looks down and back up to its clients without being touched, so
/// tests sharing it go on. The relay keeps listening throughout, so no other socket can take its port meanwhile.
final class TCPRelay: Sendable {
    let port: Int
    private let listener: any Channel
    private let state: Connections

    /// The relayed connections (both ends of each), and whether the relay is cut.
    private final class Connections: Sendable {
        let channels = Mutex<[any Channel]>([])
        let isCut = Mutex(false)
    }

    init(to host: String, port: Int) async throws {
        let target = try SocketAddress(ipAddress: host, port: port)
        let state = Connections()
        self.state = state
        self.listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { inbound in
                guard !state.isCut.withLock({ $0 }) else { return inbound.close() }
                return ClientBootstrap(group: inbound.eventLoop).connect(to: target).flatMapThrowing { outbound in
                    try outbound.pipeline.syncOperations.addHandler(Forward(partner: inbound))
                    try inbound.pipeline.syncOperations.addHandler(Forward(partner: outbound))
                    state.channels.withLock { $0 += [inbound, outbound] }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.port = self.listener.localAddress?.port ?? 0
    }

    /// Closes every relayed connection, and every new one as it arrives.
    func cut() async {
        self.state.isCut.withLock { $0 = true }
        let open = self.state.channels.withLock { channels in
            defer { channels = [] }
            return channels
        }
        for channel in open { try? await channel.close() }
    }

    /// Relays new connections again.
    func restore() {
        self.state.isCut.withLock { $0 = false }
    }

    func close() async {
        await self.cut()
        try? await self.listener.close()
    }

    /// Writes what one side reads to the other, and closes the other when one side closes.
    private final class Forward: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let partner: any Channel

        init(partner: any Channel) { self.partner = partner }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            self.partner.writeAndFlush(self.unwrapInboundIn(data), promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.partner.close(promise: nil)
        }
    }
}
