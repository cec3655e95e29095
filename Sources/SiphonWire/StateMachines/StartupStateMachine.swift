// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Drives a connection from the first byte to `ReadyForQuery`: optional TLS, startup, authentication.
///
/// A value type: it takes events, returns actions, and does no I/O ("Start-up", PostgreSQL docs 55.2.1).
public struct StartupStateMachine {
    public enum Action {
        case none
        case sendSSLRequest
        /// The server accepted TLS: add the TLS handler, then report `tlsEstablished()`.
        case startTLS
        case sendStartup
        case sendPassword(String)
        case sendSASLInitialResponse(mechanism: String, data: [UInt8])
        case sendSASLResponse(data: [UInt8])
        /// Authenticated and idle: the connection is ready for queries.
        case ready
        case fail(SiphonError)
    }

    private enum State {
        case initial
        case waitingForSSLResponse
        case waitingForAuthentication
        case waitingForSCRAMContinue(SCRAMSHA256Client)
        case waitingForSCRAMFinal(SCRAMSHA256Client)
        case authenticated
        case ready
        case failed
    }

    private var state: State = .initial
    private let user: String
    private let password: String?
    private let tlsMode: ConnectionSettings.TLSMode
    /// `server_version` and the other `ParameterStatus` values the server reported.
    public private(set) var parameters: [String: String] = [:]
    public private(set) var processID: Int32 = 0

    public init(user: String, password: String?, tlsMode: ConnectionSettings.TLSMode) {
        self.user = user
        self.password = password
        self.tlsMode = tlsMode
    }

    /// The socket is connected.
    public mutating func connected() -> Action {
        switch self.tlsMode {
        case .disable, .allow:
            self.state = .waitingForAuthentication
            return .sendStartup
        case .prefer, .require, .verifyCA, .verifyFull:
            self.state = .waitingForSSLResponse
            return .sendSSLRequest
        }
    }

    /// The server answered the `SSLRequest` with `S` (accepted) or `N` (refused).
    public mutating func sslResponseReceived(accepted: Bool) -> Action {
        guard case .waitingForSSLResponse = self.state else {
            return self.fail(.protocolViolation, "unexpected SSL response")
        }
        if accepted { return .startTLS }
        switch self.tlsMode {
        case .prefer, .allow, .disable:
            self.state = .waitingForAuthentication
            return .sendStartup
        case .require, .verifyCA, .verifyFull:
            return self.fail(
                .connectionFailed,
                "the server does not accept TLS connections but sslmode=\(self.tlsMode.rawValue) requires TLS; "
                    + "enable ssl on the server or use sslmode=prefer")
        }
    }

    /// The TLS handshake finished.
    public mutating func tlsEstablished() -> Action {
        self.state = .waitingForAuthentication
        return .sendStartup
    }

    public mutating func authenticationReceived(_ request: BackendMessage.Authentication) -> Action {
        switch (self.state, request) {
        case (.waitingForAuthentication, .ok), (.waitingForSCRAMFinal, .ok):
            self.state = .authenticated
            return .none
        case (.waitingForAuthentication, .cleartextPassword):
            guard let password = self.password else { return self.missingPassword() }
            return .sendPassword(password)
        case (.waitingForAuthentication, .md5Password(let salt)):
            guard let password = self.password else { return self.missingPassword() }
            return .sendPassword(MD5Password.response(user: self.user, password: password, salt: salt))
        case (.waitingForAuthentication, .sasl(let mechanisms)):
            guard mechanisms.contains("SCRAM-SHA-256") else {
                return self.fail(
                    .authenticationFailed,
                    "the server offers SASL mechanisms \(mechanisms) but Siphon supports only SCRAM-SHA-256")
            }
            guard let password = self.password else { return self.missingPassword() }
            let client = SCRAMSHA256Client(password: password)
            self.state = .waitingForSCRAMContinue(client)
            return .sendSASLInitialResponse(mechanism: "SCRAM-SHA-256", data: client.clientFirstMessage())
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
                return .none
            } catch {
                return self.fail(.authenticationFailed, "SCRAM authentication failed: \(error)")
            }
        case (_, .unsupported(let code)):
            return self.fail(
                .authenticationFailed,
                "the server asks for an authentication method Siphon does not support (code \(code)); "
                    + "configure pg_hba.conf to use scram-sha-256, md5, password or trust for this user")
        case (.initial, _), (.waitingForSSLResponse, _), (.waitingForAuthentication, _), (.waitingForSCRAMContinue, _),
            (.waitingForSCRAMFinal, _), (.authenticated, _), (.ready, _), (.failed, _):
            return self.fail(.protocolViolation, "unexpected authentication request \(request)")
        }
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
            "the server asks for a password for user \"\(self.user)\" but none was given; "
                + "put it in the URL (postgres://user:password@host/db) or in PGPASSWORD")
    }

    private mutating func fail(_ code: SiphonError.Code, _ message: String) -> Action {
        self.state = .failed
        return .fail(SiphonError(code, message))
    }
}
