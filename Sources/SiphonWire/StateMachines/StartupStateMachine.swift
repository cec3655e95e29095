// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Drives a connection from the startup message to `ReadyForQuery`: authentication and the session's parameters.
///
/// A value type: it takes events, returns actions, and does no I/O ("Start-up", PostgreSQL docs 55.2.1). TLS is
/// negotiated before it starts (the `SSLRequest` byte exchange and the handshake belong to the channel); the
/// machine starts from the outcome, `Transport`, which decides what authentication may safely happen.
///
/// It assumes a server in the middle may be answering. `AuthenticationOk` counts only after a started SCRAM
/// exchange verified the server's signature; `require_auth` and `channel_binding=require` refuse a method before
/// anything is sent; and a cleartext password goes only to a server the transport vouches for (a Unix socket, or
/// TLS with `verify-ca`/`verify-full`), unless `require_auth` lists `password`. libpq sends it to whoever asks;
/// Siphon, which runs unattended with a replication role's password, does not by default.
public struct StartupStateMachine {
    public enum Action {
        case none
        case sendPassword(String)
        case sendSASLInitialResponse(mechanism: String, data: [UInt8])
        case sendSASLResponse(data: [UInt8])
        /// Authenticated and idle: the connection is ready for queries.
        case ready
        case fail(SiphonError)
    }

    /// What the connection runs over, as negotiated before startup.
    public enum Transport: Sendable {
        /// No TLS: a plain TCP connection, or a Unix socket.
        case plain
        /// TLS is up. `serverVerified`: the certificate was checked against trusted CAs (`verify-ca`,
        /// `verify-full`). `channelBindingData`: `TLSServerEndPoint.bindingData` of the server certificate, if it
        /// has one.
        case tls(serverVerified: Bool, channelBindingData: [UInt8]?)
    }

    private enum State {
        case waitingForAuthentication
        /// A cleartext or md5 password went out; `AuthenticationOk` means the server accepted it.
        case waitingForPasswordResult
        case waitingForSCRAMContinue(SCRAMSHA256Client)
        case waitingForSCRAMFinal(SCRAMSHA256Client)
        /// The server proved it knows the password; `AuthenticationOk` may follow.
        case scramVerified
        case authenticated
        case ready
        case failed
    }

    private var state: State = .waitingForAuthentication
    private let user: String
    private let password: String?
    private let tlsMode: ConnectionSettings.TLSMode
    private let channelBinding: ChannelBindingMode
    private let requiredAuthentication: AuthenticationRequirement
    /// Whether the server is who it claims to be without any help from authentication: a Unix socket (only a local
    /// process can listen there) or TLS whose certificate was checked.
    private var serverVerifiedByTransport: Bool
    /// Set once TLS is up.
    private var tls: TLS?

    private struct TLS {
        /// The `tls-server-end-point` data, or `nil` when the certificate's hash is not one Siphon knows.
        var channelBindingData: [UInt8]?
    }
    /// `server_version` and the other `ParameterStatus` values the server reported.
    public private(set) var parameters: [String: String] = [:]
    public private(set) var processID: Int32 = 0

    /// `tlsMode` is the `sslmode` asked for, named in messages; `transport` is what it gave.
    public init(
        user: String, password: String?, tlsMode: ConnectionSettings.TLSMode, transport: Transport = .plain,
        channelBinding: ChannelBindingMode = .prefer, requiredAuthentication: AuthenticationRequirement = .any,
        isUnixSocket: Bool = false
    ) {
        self.user = user
        self.password = password
        self.tlsMode = tlsMode
        self.channelBinding = channelBinding
        self.requiredAuthentication = requiredAuthentication
        switch transport {
        case .plain:
            self.serverVerifiedByTransport = isUnixSocket
        case .tls(let serverVerified, let channelBindingData):
            self.tls = TLS(channelBindingData: channelBindingData)
            self.serverVerifiedByTransport = isUnixSocket || serverVerified
        }
    }

    public mutating func authenticationReceived(_ request: BackendMessage.Authentication) -> Action {
        switch (self.state, request) {
        case (.waitingForAuthentication, .ok):
            if self.channelBinding == .require {
                return self.fail(
                    .authenticationFailed,
                    "channel_binding=require, but the server let the client in without authenticating (no channel "
                        + "binding took place); a server in the middle may be answering")
            }
            if let refusal = self.refusal(of: .none) { return refusal }
            self.state = .authenticated
            return .none
        case (.scramVerified, .ok), (.waitingForPasswordResult, .ok):
            self.state = .authenticated
            return .none
        case (.waitingForSCRAMContinue, .ok), (.waitingForSCRAMFinal, .ok):
            return self.fail(
                .authenticationFailed,
                "the server reported successful authentication before proving it knows the password (the SCRAM "
                    + "exchange was not finished); a server in the middle may be answering")
        case (.waitingForAuthentication, .cleartextPassword):
            if let refusal = self.refusal(of: .password) { return refusal }
            guard let password = self.password else { return self.missingPassword() }
            guard self.serverVerifiedByTransport || self.requiredAuthentication.isExplicitList else {
                return self.fail(
                    .authenticationFailed,
                    "the server asks for the password in cleartext, but nothing proves this is the real server "
                        + "(sslmode=\(self.tlsMode.rawValue)), so a server in the middle could read it; Siphon refuses. "
                        + "Use sslmode=verify-full with sslrootcert, switch the role to scram-sha-256 in pg_hba.conf, "
                        + "or accept the risk explicitly with require_auth=password")
            }
            self.state = .waitingForPasswordResult
            return .sendPassword(password)
        case (.waitingForAuthentication, .md5Password(let salt)):
            if let refusal = self.refusal(of: .md5) { return refusal }
            guard let password = self.password else { return self.missingPassword() }
            self.state = .waitingForPasswordResult
            return .sendPassword(MD5Password.response(user: self.user, password: password, salt: salt))
        case (.waitingForAuthentication, .sasl(let mechanisms)):
            return self.startSCRAM(offered: mechanisms)
        case (.waitingForSCRAMContinue(var client), .saslContinue(let data)):
            do {
                let final = try client.clientFinalMessage(serverFirst: data)
                self.state = .waitingForSCRAMFinal(client)
                return .sendSASLResponse(data: final)
            } catch {
                return self.fail(.authenticationFailed, "SCRAM authentication failed: \(error)")
            }
        case (.waitingForSCRAMFinal(let client), .saslFinal(let data)):
            do {
                try client.verify(serverFinal: data)
                self.state = .scramVerified
                return .none
            } catch {
                return self.fail(.authenticationFailed, "SCRAM authentication failed: \(error)")
            }
        case (.waitingForAuthentication, .unsupported(let code)):
            return self.fail(
                .authenticationFailed,
                "the server asks for an authentication method Siphon does not support (code \(code)); "
                    + "configure pg_hba.conf to use scram-sha-256, md5, password or trust for this user")
        case (.waitingForAuthentication, _), (.waitingForPasswordResult, _),
            (.waitingForSCRAMContinue, _), (.waitingForSCRAMFinal, _), (.scramVerified, _), (.authenticated, _),
            (.ready, _), (.failed, _):
            return self.fail(.protocolViolation, "unexpected authentication request \(request)")
        }
    }

    /// Chooses SCRAM-SHA-256-PLUS when the connection is TLS, binding is not disabled and the server offers it;
    /// plain SCRAM-SHA-256 otherwise, unless `channel_binding=require`.
    private mutating func startSCRAM(offered mechanisms: [String]) -> Action {
        if let refusal = self.refusal(of: .scramSHA256) { return refusal }
        guard let password = self.password else { return self.missingPassword() }
        let binding: SCRAMSHA256Client.ChannelBinding
        switch (self.channelBinding, self.tls) {
        case (.disable, _), (.prefer, .none):
            binding = .unsupported
        case (.require, .none):
            return self.fail(
                .authenticationFailed,
                "channel_binding=require needs TLS, but this connection is not encrypted "
                    + "(sslmode=\(self.tlsMode.rawValue)); use sslmode=require or stricter")
        case (.prefer, .some(let tls)), (.require, .some(let tls)):
            if let data = tls.channelBindingData, mechanisms.contains("SCRAM-SHA-256-PLUS") {
                binding = .tlsServerEndPoint(data)
            } else if self.channelBinding == .require {
                return self.fail(
                    .authenticationFailed,
                    tls.channelBindingData == nil
                        ? "channel_binding=require, but the server certificate's signature algorithm has no "
                            + "tls-server-end-point hash Siphon supports (use an RSA or ECDSA certificate with SHA-256)"
                        : "channel_binding=require, but the server does not offer SCRAM-SHA-256-PLUS "
                            + "(offered: \(mechanisms.joined(separator: ", ")))")
            } else {
                binding = tls.channelBindingData == nil ? .unsupported : .supportedButNotOffered
            }
        }
        let client = SCRAMSHA256Client(password: password, channelBinding: binding)
        guard mechanisms.contains(client.mechanism) else {
            return self.fail(
                .authenticationFailed,
                "the server offers SASL mechanisms \(mechanisms) but Siphon supports only SCRAM-SHA-256 "
                    + "and SCRAM-SHA-256-PLUS")
        }
        self.state = .waitingForSCRAMContinue(client)
        return .sendSASLInitialResponse(mechanism: client.mechanism, data: client.clientFirstMessage())
    }

    /// A failure when `require_auth` or `channel_binding=require` excludes `method`, before anything is sent.
    private mutating func refusal(of method: AuthenticationRequirement.Method) -> Action? {
        if !self.requiredAuthentication.allowed.contains(method) {
            let asked = method == .none ? "no authentication" : "authentication method \(method.rawValue)"
            return self.fail(
                .authenticationFailed,
                "the server asked for \(asked), which require_auth=\(self.requiredAuthentication) does not allow; "
                    + "a server in the middle may be answering, or pg_hba.conf uses another method for this user")
        }
        if self.channelBinding == .require && method != .scramSHA256 && method != .none {
            return self.fail(
                .authenticationFailed,
                "channel_binding=require, but the server asked for \(method.rawValue) authentication, which cannot "
                    + "bind to the TLS connection; use scram-sha-256 for this user in pg_hba.conf")
        }
        return nil
    }

    public mutating func parameterStatusReceived(name: String, value: String) {
        self.parameters[name] = value
    }

    public mutating func backendKeyDataReceived(processID: Int32) {
        self.processID = processID
    }

    public mutating func readyForQueryReceived() -> Action {
        guard case .authenticated = self.state else {
            return self.fail(.protocolViolation, "ReadyForQuery before authentication finished")
        }
        self.state = .ready
        return .ready
    }

    public mutating func errorReceived(_ fields: BackendMessage.ErrorFields) -> Action {
        self.state = .failed
        return .fail(ServerErrorTranslation.error(for: fields.serverError, user: self.user))
    }

    private mutating func missingPassword() -> Action {
        self.fail(
            .authenticationFailed,
            "the server asks for a password for user \"\(self.user)\" but none was given; put it in "
                + "~/.pgpass (or the file PGPASSFILE names), in a URL file (--url-file) or in PGPASSWORD")
    }

    private mutating func fail(_ code: SiphonError.Code, _ message: String) -> Action {
        self.state = .failed
        return .fail(SiphonError(code, message))
    }
}
