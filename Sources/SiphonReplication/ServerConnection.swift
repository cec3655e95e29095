// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import SiphonCore
import SiphonWire

/// Siphon's connection to a PostgreSQL server, and the only type in Siphon that opens one: TCP or Unix socket, TLS,
/// startup and authentication, then one of two kinds of session.
///
/// - `replication: true` (the default): a walsender session (`replication=database`) for replication commands
///   (`IDENTIFY_SYSTEM`, `CREATE_REPLICATION_SLOT`) and the copy-both stream of `START_REPLICATION`; the walsender
///   speaks only the simple query protocol.
/// - `replication: false`: an ordinary SQL session (no `REPLICATION` privilege needed) for setup, checks, catalog
///   lookups, heartbeats, dead letters, the outbox and notifications, with values sent as parameters.
///
/// Answers are read by the pure machines in `SiphonWire` (`StartupStateMachine`, `QueryStateMachine`,
/// `ReplicationStreamStateMachine`).
///
/// Use it inside `withConnection`; the connection closes when the closure returns or throws. It is used by one task
/// at a time (not `Sendable`): commands run one after another, as the protocol requires.
public final class ServerConnection {
    /// Session settings sent in the startup packet so that text output never depends on the server's or role's
    /// defaults: values must render the same on every server.
    public static let sessionParameters: [(String, String)] = [
        ("client_encoding", "UTF8"), ("DateStyle", "ISO"), ("IntervalStyle", "postgres"), ("TimeZone", "UTC"),
        ("extra_float_digits", "1"), ("bytea_output", "hex"), ("lc_monetary", "C"),
    ]

    let channel: any Channel
    private var inbound: NIOAsyncChannelInboundStream<[BackendMessage]>.AsyncIterator
    /// The rest of the last socket read, last message first: popping moves a message out without copying it.
    private var buffered: [BackendMessage] = []
    let logger: Logger
    public let settings: ConnectionSettings
    /// `ParameterStatus` values from startup: `server_version`, `server_encoding`, …
    public let parameters: [String: String]
    /// The server's process id for this connection (as `pg_stat_replication.pid` shows it).
    public let processID: Int32
    /// How long a command may wait for the server's answer before the connection is closed as unresponsive.
    let queryTimeout: Duration?
    let activity: ConnectionActivity

    private init(
        channel: any Channel, inbound: NIOAsyncChannelInboundStream<[BackendMessage]>.AsyncIterator,
        settings: ConnectionSettings, parameters: [String: String], processID: Int32, queryTimeout: Duration?,
        activity: ConnectionActivity, logger: Logger
    ) {
        self.activity = activity
        self.channel = channel
        self.inbound = inbound
        self.settings = settings
        self.parameters = parameters
        self.processID = processID
        self.queryTimeout = queryTimeout
        self.logger = logger
    }

    /// `server_version_num`-style number, e.g. 150018 for 15.18 (derived from `server_version`).
    public var serverVersionNumber: Int {
        let version = self.parameters["server_version"] ?? "0"
        let numbers = version.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return (numbers.first ?? 0) * 10000 + (numbers.count > 1 ? numbers[1] : 0)
    }

    /// The `queryTimeout` for side connections (type lookups, dead letters, heartbeats, `doctor`): their queries
    /// are quick, and a caller stalled behind a server that stopped answering stalls delivery.
    public static let sideQueryTimeout: Duration = .seconds(60)

    /// Connects, authenticates, runs `body`, and closes the connection.
    ///
    /// The TCP connect gets `settings.connectTimeout` seconds; then TLS, startup and authentication fail when the
    /// server leaves a message unanswered that long, or when they take six times that in all (a server that
    /// trickles bytes): a server that accepts the connection and then says nothing fails with a timeout instead
    /// of blocking forever. `queryTimeout` bounds how long the server may leave each command unanswered
    /// (`simpleQuery`, `listen`), for side connections whose caller must not stall behind a silent server; it is a
    /// client-side deadline, so it also catches a server that stopped answering altogether, where
    /// `statement_timeout` cannot.
    public static func withConnection<Result>(
        settings: ConnectionSettings,
        replication: Bool = true,
        queryTimeout: Duration? = nil,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        _ body: (ServerConnection) async throws -> Result
    ) async throws -> Result {
        let activity = ConnectionActivity()
        let channel = try await Self.openChannel(settings: settings, activity: activity, eventLoopGroup: eventLoopGroup)
        let deadline = ResponseDeadline(
            channel: channel, activity: activity, timeout: .seconds(settings.connectTimeout),
            limit: .seconds(6 * settings.connectTimeout),
            expiredError: { SiphonError(
                .connectionFailed,
                "the server at \(settings) accepted the connection but stopped answering during TLS, startup or "
                    + "authentication (connect_timeout=\(settings.connectTimeout) s); check that it is a "
                    + "PostgreSQL server and that it is not overloaded, or raise connect_timeout")
            })
        let asyncChannel: NIOAsyncChannel<[BackendMessage], ByteBuffer>
        let security: TransportSecurity
        do {
            (asyncChannel, security) = try await Self.negotiateTLSAndWrap(channel: channel, settings: settings)
        } catch {
            deadline.cancel()
            try? await channel.close()
            throw deadline.error(replacing: Self.connectionError(error, settings: settings))
        }
        return try await asyncChannel.executeThenClose { inbound, _ in
            var iterator = inbound.makeAsyncIterator()
            let parameters: [String: String]
            let processID: Int32
            do {
                (parameters, processID) = try await Self.startUp(
                    channel: channel, inbound: &iterator, settings: settings, security: security,
                    replication: replication, logger: logger)
                deadline.cancel()
            } catch {
                deadline.cancel()
                throw deadline.error(replacing: error)
            }
            let connection = ServerConnection(
                channel: channel, inbound: iterator, settings: settings, parameters: parameters, processID: processID,
                queryTimeout: queryTimeout, activity: activity, logger: logger)
            do {
                let result = try await body(connection)
                await connection.terminate()
                return result
            } catch {
                await connection.terminate()
                throw error
            }
        }
    }

    // MARK: Commands

    /// One statement through the simple query protocol; returns the rows of the last result (text format).
    @discardableResult
    public func simpleQuery(_ sql: String) async throws -> QueryResult {
        try await self.withQueryDeadline { try await self.runSimpleQuery(sql) }
    }

    /// Runs `command`, closing the connection if the server has not answered within `queryTimeout`.
    func withQueryDeadline<Result>(_ command: () async throws -> Result) async throws -> Result {
        guard let timeout = self.queryTimeout else { return try await command() }
        let settings = self.settings
        let deadline = ResponseDeadline(
            channel: self.channel, activity: self.activity, timeout: timeout,
            expiredError: { SiphonError(
                .connectionFailed,
                "the server at \(settings) left a command unanswered for \(timeout); the connection was closed "
                    + "(is the server overloaded, or the network down?)")
            })
        defer { deadline.cancel() }
        do {
            return try await command()
        } catch {
            throw deadline.error(replacing: error)
        }
    }

    private func runSimpleQuery(_ sql: String) async throws -> QueryResult {
        var encoder = FrontendEncoder(allocator: self.channel.allocator)
        encoder.query(sql)
        try await self.write(encoder.flushBuffer())
        return try await self.queryResult(of: "simpleQuery")
    }

    /// Reads a command's answer up to `ReadyForQuery` (see `QueryStateMachine`).
    func queryResult(of command: String) async throws -> QueryResult {
        var machine = QueryStateMachine(command: command, user: self.settings.user)
        while true {
            switch machine.messageReceived(try await self.nextMessage()) {
            case .read, .row: continue
            case .finished(let result): return result
            case .failed(let error): throw error
            }
        }
    }

    /// `IDENTIFY_SYSTEM`: the cluster's identity and current WAL position.
    public func identifySystem() async throws -> SystemIdentification {
        let result = try await self.simpleQuery("IDENTIFY_SYSTEM")
        guard let row = result.rows.first, row.count >= 4, let systemID = row[0], let timelineText = row[1],
            let timeline = Int(timelineText), let positionText = row[2], let position = LSN(positionText)
        else {
            throw SiphonError(.protocolViolation, "malformed IDENTIFY_SYSTEM result \(result.rows)")
        }
        return SystemIdentification(systemID: systemID, timeline: timeline, walPosition: position, database: row[3])
    }

    /// What `CREATE_REPLICATION_SLOT` does with the snapshot it builds.
    public enum SnapshotAction: String, Sendable {
        /// Export it so another session can `SET TRANSACTION SNAPSHOT` and copy the tables consistently.
        case export = "EXPORT_SNAPSHOT"
        /// Use it in this session's current transaction (which must be `REPEATABLE READ`, begun first).
        case use = "USE_SNAPSHOT"
        case none = "NOEXPORT_SNAPSHOT"
    }

    /// `CREATE_REPLICATION_SLOT name [TEMPORARY] LOGICAL pgoutput …`.
    public func createReplicationSlot(
        _ name: String, temporary: Bool = false, snapshot: SnapshotAction = .none
    ) async throws -> CreatedSlot {
        let sql =
            "CREATE_REPLICATION_SLOT \(SQLQuoting.identifier(name))"
            + (temporary ? " TEMPORARY" : "") + " LOGICAL pgoutput " + snapshot.rawValue
        let result = try await self.simpleQuery(sql)
        guard let row = result.rows.first, row.count >= 4, let slotName = row[0], let pointText = row[1],
            let point = LSN(pointText)
        else {
            throw SiphonError(.protocolViolation, "malformed CREATE_REPLICATION_SLOT result \(result.rows)")
        }
        return CreatedSlot(name: slotName, consistentPoint: point, snapshotName: row[2], plugin: row[3] ?? "pgoutput")
    }

    /// `DROP_REPLICATION_SLOT name [WAIT]`; `wait` waits for another reader of the slot to go away.
    public func dropReplicationSlot(_ name: String, wait: Bool = false) async throws {
        try await self.simpleQuery(
            "DROP_REPLICATION_SLOT \(SQLQuoting.identifier(name))" + (wait ? " WAIT" : ""))
    }

    // MARK: Plumbing used by ReplicationStream

    func write(_ buffer: ByteBuffer) async throws {
        do {
            try await self.channel.writeAndFlush(buffer)
        } catch {
            throw SiphonError(.connectionFailed, "lost the connection to \(self.settings): \(error)", underlying: error)
        }
    }

    /// Whether messages from the last socket read are still waiting; `false` means the next message needs a read.
    var hasBufferedMessages: Bool { !self.buffered.isEmpty }

    /// The next message from the server; a closed connection is an error (we never expect the server to hang up).
    func nextMessage() async throws -> BackendMessage {
        if let message = self.buffered.popLast() {
            return message
        }
        let batch: [BackendMessage]?
        do {
            batch = try await self.inbound.next(isolation: #isolation)
        } catch let error as SiphonError {
            throw error
        } catch let error as CancellationError {
            throw error
        } catch {
            throw SiphonError(.connectionFailed, "reading from \(self.settings) failed: \(error)", underlying: error)
        }
        guard let batch else {
            throw SiphonError(.connectionFailed, "the server closed the connection (\(self.settings))")
        }
        self.buffered = batch
        self.buffered.reverse()
        return self.buffered.removeLast()
    }

    private func terminate() async {
        var encoder = FrontendEncoder(allocator: self.channel.allocator)
        encoder.terminate()
        try? await self.channel.writeAndFlush(encoder.flushBuffer())
    }

    // MARK: Connecting

    private static func openChannel(
        settings: ConnectionSettings, activity: ConnectionActivity, eventLoopGroup: any EventLoopGroup
    ) async throws -> any Channel {
        let bootstrap = ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(.seconds(Int64(settings.connectTimeout)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ActivityRecorder(activity))
                }
            }
        do {
            switch settings.endpoint {
            case .tcp(let host, let port):
                return try await Self.keepalives(settings.keepalives, on: bootstrap)
                    .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                    .connect(host: settings.hostAddress ?? host, port: port).get()
            case .unixSocket:
                return try await bootstrap.connect(unixDomainSocketPath: settings.endpoint.socketPath!).get()
            }
        } catch {
            throw connectionError(error, settings: settings)
        }
    }

    /// TCP keepalives (`SO_KEEPALIVE` with `TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT`), so a peer that vanished
    /// without closing the connection turns into an error while Siphon waits for it.
    private static func keepalives(
        _ keepalives: ConnectionSettings.Keepalives, on bootstrap: ClientBootstrap
    ) -> ClientBootstrap {
        guard keepalives.enabled else { return bootstrap.channelOption(.socketOption(.so_keepalive), value: 0) }
        #if os(Linux)
        let idle = NIOBSDSocket.Option(rawValue: TCP_KEEPIDLE)
        #else
        let idle = NIOBSDSocket.Option(rawValue: TCP_KEEPALIVE)
        #endif
        return bootstrap.channelOption(.socketOption(.so_keepalive), value: 1)
            .channelOption(.tcpOption(idle), value: SocketOptionValue(keepalives.idle))
            .channelOption(.tcpOption(.init(rawValue: TCP_KEEPINTVL)), value: SocketOptionValue(keepalives.interval))
            .channelOption(.tcpOption(.init(rawValue: TCP_KEEPCNT)), value: SocketOptionValue(keepalives.count))
    }

    /// What the transport itself guarantees, which decides what authentication may send over it.
    struct TransportSecurity {
        var isUnixSocket: Bool
        /// `nil` without TLS; with TLS, whether the certificate was checked, and the channel-binding data.
        var tls: (serverVerified: Bool, channelBindingData: [UInt8]?)?
    }

    private static func negotiateTLSAndWrap(
        channel: any Channel, settings: ConnectionSettings
    ) async throws -> (NIOAsyncChannel<[BackendMessage], ByteBuffer>, TransportSecurity) {
        var security = TransportSecurity(isUnixSocket: settings.endpoint.socketPath != nil, tls: nil)
        let wantsTLS: Bool
        switch (settings.tlsMode, settings.endpoint) {
        case (.disable, _), (.allow, _), (.prefer, .unixSocket):
            wantsTLS = false
        case (.prefer, .tcp), (.require, _), (.verifyCA, _), (.verifyFull, _):
            wantsTLS = true
        }
        if wantsTLS {
            let answer = channel.eventLoop.makePromise(of: Bool.self)
            do {
                try await channel.eventLoop.submit {
                    try channel.pipeline.syncOperations.addHandler(SSLResponseHandler(promise: answer))
                }.get()
            } catch {
                answer.fail(error)
                throw error
            }
            var encoder = FrontendEncoder(allocator: channel.allocator)
            encoder.sslRequest()
            try await channel.writeAndFlush(encoder.flushBuffer())
            if try await answer.futureResult.get() {
                let context = try Self.makeTLSContext(settings: settings)
                let serverHostname = settings.tlsMode == .verifyFull ? settings.hostName : nil
                let handshake = channel.eventLoop.makePromise(of: Void.self)
                do {
                    try await channel.eventLoop.submit {
                        // With no host name (an IP address), NIOSSL checks the certificate against the peer's address.
                        let handler = try NIOSSLClientHandler(context: context, serverHostname: serverHostname)
                        // After the activity recorder, so TLS handshake bytes count as the server answering.
                        let recorder = try channel.pipeline.syncOperations.handler(type: ActivityRecorder.self)
                        try channel.pipeline.syncOperations.addHandler(handler, position: .after(recorder))
                        try channel.pipeline.syncOperations.addHandler(TLSHandshakeWaiter(promise: handshake))
                    }.get()
                } catch {
                    // A channel closed meanwhile (the deadline) refuses handlers; the promise must not leak.
                    handshake.fail(error)
                    throw error
                }
                try await handshake.futureResult.get()
                let certificate = try await channel.eventLoop.submit {
                    try channel.pipeline.syncOperations.nioSSL_peerCertificate()?.toDERBytes()
                }.get()
                security.tls = (
                    serverVerified: settings.tlsMode == .verifyCA || settings.tlsMode == .verifyFull,
                    channelBindingData: certificate.flatMap(TLSServerEndPoint.bindingData(certificateDER:))
                )
            } else if settings.tlsMode != .prefer && settings.tlsMode != .allow {
                throw SiphonError(
                    .connectionFailed,
                    "the server at \(settings) does not accept TLS but sslmode=\(settings.tlsMode.rawValue) requires it; "
                        + "enable ssl on the server or use sslmode=prefer")
            }
        }
        let asyncChannel = try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(BackendMessageDecoder()))
            try channel.pipeline.syncOperations.addHandler(MessageBatcher())
            return try NIOAsyncChannel<[BackendMessage], ByteBuffer>(
                wrappingChannelSynchronously: channel,
                configuration: .init(backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8)))
        }.get()
        return (asyncChannel, security)
    }

    private static func makeTLSContext(settings: ConnectionSettings) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch settings.tlsMode {
        case .disable, .allow, .prefer, .require:
            // libpq's semantics: encrypt, but do not check who the server is.
            configuration.certificateVerification = .none
        case .verifyCA:
            configuration.certificateVerification = .noHostnameVerification
        case .verifyFull:
            configuration.certificateVerification = .fullVerification
        }
        if settings.tlsMode == .verifyCA || settings.tlsMode == .verifyFull {
            if let path = settings.tlsRootCertificatePath {
                do {
                    configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path))
                } catch {
                    throw SiphonError(
                        .invalidConfiguration, "cannot read the CA certificates in sslrootcert=\(path)", underlying: error)
                }
            } else {
                configuration.trustRoots = .default
            }
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw SiphonError(.invalidConfiguration, "cannot set up TLS: \(error)", underlying: error)
        }
    }

    private static func startUp(
        channel: any Channel,
        inbound: inout NIOAsyncChannelInboundStream<[BackendMessage]>.AsyncIterator,
        settings: ConnectionSettings,
        security: TransportSecurity,
        replication: Bool,
        logger: Logger
    ) async throws -> ([String: String], Int32) {
        // TLS was negotiated before: the machine starts from its outcome.
        var machine = StartupStateMachine(
            user: settings.user, password: settings.password, tlsMode: settings.tlsMode,
            transport: security.tls.map { .tls(serverVerified: $0.serverVerified, channelBindingData: $0.channelBindingData) }
                ?? .plain,
            channelBinding: settings.channelBinding, requiredAuthentication: settings.requiredAuthentication,
            isUnixSocket: security.isUnixSocket)
        var encoder = FrontendEncoder(allocator: channel.allocator)
        encoder.startup(
            parameters: [("user", settings.user), ("database", settings.database)]
                + (replication ? [("replication", "database")] : [])
                + [("application_name", settings.applicationName)] + Self.sessionParameters)
        do {
            try await channel.writeAndFlush(encoder.flushBuffer())
            while true {
                guard let batch = try await inbound.next(isolation: #isolation) else {
                    throw SiphonError(
                        .connectionFailed, "the server closed the connection during startup (\(settings))")
                }
                for message in batch {
                    let action: StartupStateMachine.Action
                    switch message {
                    case .authentication(let request): action = machine.authenticationReceived(request)
                    case .parameterStatus(let name, let value):
                        machine.parameterStatusReceived(name: name, value: value)
                        action = .none
                    case .backendKeyData(let processID, _):
                        machine.backendKeyDataReceived(processID: processID)
                        action = .none
                    case .readyForQuery: action = machine.readyForQueryReceived()
                    case .errorResponse(let fields): action = machine.errorReceived(fields)
                    case .noticeResponse: action = .none
                    case let other:
                        throw SiphonError(.protocolViolation, "unexpected message during startup: \(other)")
                    }
                    switch action {
                    case .none: break
                    case .sendPassword(let password): encoder.password(password)
                    case .sendSASLInitialResponse(let mechanism, let data):
                        encoder.saslInitialResponse(mechanism: mechanism, data: data)
                    case .sendSASLResponse(let data): encoder.saslResponse(data: data)
                    case .ready:
                        logger.debug("Connected", metadata: ["pg.url": "\(settings)"])
                        return (machine.parameters, machine.processID)
                    case .fail(let error): throw error
                    }
                }
                if encoder.buffer.readableBytes > 0 {
                    try await channel.writeAndFlush(encoder.flushBuffer())
                }
            }
        } catch let error as SiphonError {
            throw error
        } catch {
            throw connectionError(error, settings: settings)
        }
    }

    /// The error to report for a failure while connecting. A cancelled task stays a `CancellationError`: callers
    /// that stop on cancellation (Ctrl-C, a graceful shutdown) must not mistake it for an unreachable server.
    static func connectionError(_ error: any Error, settings: ConnectionSettings) -> any Error {
        if error is SiphonError || error is CancellationError { return error }
        var reason = ConnectionFailureText.describe(error, settings: settings) ?? "\(error)"
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            reason = "TLS failed (is the CA in sslrootcert right, and does the certificate name the host?): \(error)"
        }
        return SiphonError(.connectionFailed, "cannot connect to \(settings): \(reason)", underlying: error)
    }
}

/// The answer to `IDENTIFY_SYSTEM`.
public struct SystemIdentification: Sendable, Equatable {
    public var systemID: String
    public var timeline: Int
    /// The current WAL flush position.
    public var walPosition: LSN
    public var database: String?
}

/// The answer to `CREATE_REPLICATION_SLOT`.
public struct CreatedSlot: Sendable, Equatable {
    public var name: String
    /// Changes after this position are what the slot will stream.
    public var consistentPoint: LSN
    /// With `EXPORT_SNAPSHOT`: the snapshot for `SET TRANSACTION SNAPSHOT`.
    public var snapshotName: String?
    public var plugin: String
}
