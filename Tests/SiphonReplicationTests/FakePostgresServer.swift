// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import NIOPosix
import NIOSSL
import SiphonTestSupport
import Synchronization

/// A server on loopback that plays a hostile or broken PostgreSQL: it speaks just enough of the protocol to make
/// the client reveal what it would send, and records every byte it receives (after TLS, the decrypted bytes: what
/// a server in the middle would read).
final class FakePostgresServer: Sendable {
    enum Behaviour: Sendable {
        /// Accepts the connection and never answers anything.
        case silent
        /// Answers the startup message with `AuthenticationCleartextPassword`.
        case askForCleartextPassword
        /// Offers SCRAM-SHA-256, then answers the client's first SCRAM message with `AuthenticationOk`.
        case succeedAfterFirstSCRAMMessage
        /// Lets the client in without authentication, then never answers a query.
        case readyThenSilent
    }

    final class Recorder: Sendable {
        let bytes = Mutex<[UInt8]>([])
        let connections = Mutex<[any Channel]>([])
    }

    let port: Int
    private let listener: any Channel
    private let recorder: Recorder

    private init(port: Int, listener: any Channel, recorder: Recorder) {
        self.port = port
        self.listener = listener
        self.recorder = recorder
    }

    /// Starts a server; with `tls`, it accepts `SSLRequest` and does TLS with the test cluster's certificate.
    static func start(_ behaviour: Behaviour, tls: Bool = false) async throws -> FakePostgresServer {
        let context = tls ? try Self.tlsContext() : nil
        let recorder = Recorder()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                recorder.connections.withLock { $0.append(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        FakePostgresHandler(behaviour: behaviour, tls: context, recorder: recorder))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return FakePostgresServer(port: listener.localAddress!.port!, listener: listener, recorder: recorder)
    }

    /// Everything clients sent, concatenated.
    var received: [UInt8] { self.recorder.bytes.withLock { $0 } }

    func contains(_ text: String) -> Bool {
        let needle = Array(text.utf8)
        let haystack = self.received
        guard haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    /// Closes the listener and every connection (also the hang guard of a test whose client would wait forever).
    func stop() async {
        try? await self.listener.close()
        for connection in self.recorder.connections.withLock({ $0 }) { try? await connection.close() }
    }

    private static func tlsContext() throws -> NIOSSLContext {
        let directory = try TestEnvironment.value("SIPHON_TEST_CA_FILE").split(separator: "/").dropLast()
            .joined(separator: "/")
        let certificates = try NIOSSLCertificate.fromPEMFile("/\(directory)/server.crt")
        let key = try NIOSSLPrivateKey(file: "/\(directory)/server.key", format: .pem)
        return try NIOSSLContext(configuration: .makeServerConfiguration(
            certificateChain: certificates.map { .certificate($0) }, privateKey: .privateKey(key)))
    }
}

/// One connection's script.
private final class FakePostgresHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let behaviour: FakePostgresServer.Behaviour
    private let tls: NIOSSLContext?
    private let recorder: FakePostgresServer.Recorder
    private var pending = ByteBuffer()
    private var startupDone = false

    init(behaviour: FakePostgresServer.Behaviour, tls: NIOSSLContext?, recorder: FakePostgresServer.Recorder) {
        self.behaviour = behaviour
        self.tls = tls
        self.recorder = recorder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = Self.unwrapInboundIn(data)
        self.recorder.bytes.withLock { $0 += bytes.readableBytesView }
        self.pending.writeBuffer(&bytes)
        if case .silent = self.behaviour { return }
        while self.handleNextMessage(context: context) {}
    }

    /// Handles one complete message from `pending`; false when more bytes are needed.
    private func handleNextMessage(context: ChannelHandlerContext) -> Bool {
        if !self.startupDone {
            // Startup-phase packets have no type byte: length (including itself), then a code.
            guard let length = self.pending.getInteger(at: self.pending.readerIndex, as: Int32.self),
                self.pending.readableBytes >= Int(length),
                let code = self.pending.getInteger(at: self.pending.readerIndex + 4, as: Int32.self)
            else { return false }
            self.pending.moveReaderIndex(forwardBy: Int(length))
            if code == 80_877_103 {
                context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer(string: self.tls == nil ? "N" : "S")), promise: nil)
                if let tls = self.tls {
                    do {
                        try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
                    } catch {
                        context.close(promise: nil)
                    }
                }
                return true
            }
            self.startupDone = true
            switch self.behaviour {
            case .silent: break
            case .askForCleartextPassword: self.send(context, type: "R", int32s: [3])
            case .succeedAfterFirstSCRAMMessage:
                var body = ByteBuffer()
                body.writeInteger(Int32(10))
                body.writeString("SCRAM-SHA-256\0\0")
                self.send(context, type: "R", body: body)
            case .readyThenSilent:
                self.send(context, type: "R", int32s: [0])
                self.send(context, type: "Z", body: ByteBuffer(string: "I"))
            }
            return true
        }
        guard self.pending.readableBytes >= 5,
            let length = self.pending.getInteger(at: self.pending.readerIndex + 1, as: Int32.self),
            self.pending.readableBytes >= Int(length) + 1
        else { return false }
        let type = self.pending.readInteger(as: UInt8.self)!
        self.pending.moveReaderIndex(forwardBy: Int(length))
        if case .succeedAfterFirstSCRAMMessage = self.behaviour, type == UInt8(ascii: "p") {
            self.send(context, type: "R", int32s: [0])
            self.send(context, type: "Z", body: ByteBuffer(string: "I"))
        }
        return true
    }

    private func send(_ context: ChannelHandlerContext, type: Character, int32s: [Int32]) {
        var body = ByteBuffer()
        for value in int32s { body.writeInteger(value) }
        self.send(context, type: type, body: body)
    }

    private func send(_ context: ChannelHandlerContext, type: Character, body: ByteBuffer) {
        var message = ByteBuffer()
        message.writeInteger(type.asciiValue!)
        message.writeInteger(Int32(body.readableBytes + 4))
        message.writeImmutableBuffer(body)
        context.writeAndFlush(Self.wrapOutboundOut(message), promise: nil)
    }
}
