// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import NIOPosix
import Synchronization

/// A TCP relay on 127.0.0.1 in front of a server, which a test can cut (every connection closed, new ones refused)
/// and restore: the server looks down and back up to its clients without being touched, so tests sharing it go on.
final class TCPRelay: Sendable {
    let port: Int
    private let target: SocketAddress
    private let listener: Mutex<(any Channel)?>
    private let connections = Connections()

    /// The relayed connections, both ends of each.
    private final class Connections: Sendable {
        let channels = Mutex<[any Channel]>([])
    }

    init(to host: String, port: Int) async throws {
        self.target = try SocketAddress(ipAddress: host, port: port)
        // Below the kernel's ephemeral range (32768 and up), so the port is not handed to some outgoing connection
        // while the relay is cut, which would keep `restore` from listening on it again.
        var attempt = 0
        while true {
            let candidate = Int.random(in: 20_000..<32_000)
            do {
                let listener = try await Self.listen(port: candidate, target: self.target, connections: self.connections)
                self.port = candidate
                self.listener = Mutex(listener)
                return
            } catch where attempt < 20 {
                attempt += 1
            }
        }
    }

    /// Closes every relayed connection and stops accepting new ones.
    func cut() async {
        let listener = self.listener.withLock { listener in
            defer { listener = nil }
            return listener
        }
        try? await listener?.close()
        let open = self.connections.channels.withLock { channels in
            defer { channels = [] }
            return channels
        }
        for channel in open { try? await channel.close() }
    }

    /// Accepts connections on the same port again.
    func restore() async throws {
        let listener = try await Self.listen(port: self.port, target: self.target, connections: self.connections)
        self.listener.withLock { $0 = listener }
    }

    func close() async {
        await self.cut()
    }

    private static func listen(port: Int, target: SocketAddress, connections: Connections) async throws -> any Channel {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { inbound in
                ClientBootstrap(group: inbound.eventLoop).connect(to: target).flatMapThrowing { outbound in
                    try outbound.pipeline.syncOperations.addHandler(Forward(partner: inbound))
                    try inbound.pipeline.syncOperations.addHandler(Forward(partner: outbound))
                    connections.channels.withLock { $0 += [inbound, outbound] }
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
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
