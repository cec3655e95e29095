// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
@testable import SiphonWire
import Testing

/// What the client does when the server (or someone pretending to be it) chooses the authentication.
@Suite struct StartupStateMachineAuthenticationTests {
    static let bindingData: [UInt8] = Array(repeating: 0xAB, count: 32)

    func machine(
        tls: (verified: Bool, binding: [UInt8]?)? = nil, channelBinding: ChannelBindingMode = .prefer,
        requireAuth: String? = nil, unixSocket: Bool = false
    ) throws -> StartupStateMachine {
        StartupStateMachine(
            user: "siphon", password: "pencil", tlsMode: tls == nil ? .prefer : .require,
            transport: tls.map { .tls(serverVerified: $0.verified, channelBindingData: $0.binding) } ?? .plain,
            channelBinding: channelBinding,
            requiredAuthentication: try requireAuth.map(AuthenticationRequirement.init(parsing:)) ?? .any,
            isUnixSocket: unixSocket)
    }

    func failure(_ action: StartupStateMachine.Action) -> SiphonError? {
        if case .fail(let error) = action { return error }
        return nil
    }

    @Test func cleartextPasswordIsRefusedWhenNothingVerifiesTheServer() throws {
        for tls in [nil, (verified: false, binding: Self.bindingData)] as [(verified: Bool, binding: [UInt8]?)?] {
            var machine = try self.machine(tls: tls)
            let error = self.failure(machine.authenticationReceived(.cleartextPassword))
            #expect(error?.code == .authenticationFailed)
            #expect(error?.message.contains("cleartext") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("require_auth=password") == true)
        }
    }

    @Test func cleartextPasswordIsSentToAVerifiedServerALocalSocketOrWhenAllowedExplicitly() throws {
        for var machine in [
            try self.machine(tls: (verified: true, binding: nil)), try self.machine(unixSocket: true),
            try self.machine(requireAuth: "password,scram-sha-256"),
        ] {
            guard case .sendPassword("pencil") = machine.authenticationReceived(.cleartextPassword) else {
                Issue.record("expected the password"); continue
            }
        }
    }

    @Test func acceptedPasswordCountsAsThatMethodNotAsNoAuthentication() throws {
        var cleartext = try self.machine(requireAuth: "password")
        guard case .sendPassword = cleartext.authenticationReceived(.cleartextPassword) else {
            Issue.record("expected the password"); return
        }
        guard case .none = cleartext.authenticationReceived(.ok) else { Issue.record("expected none"); return }
        guard case .ready = cleartext.readyForQueryReceived() else { Issue.record("expected ready"); return }
        var md5 = try self.machine(requireAuth: "md5")
        _ = md5.authenticationReceived(.md5Password(salt: [1, 2, 3, 4]))
        guard case .none = md5.authenticationReceived(.ok) else { Issue.record("expected none"); return }
        #expect(self.failure(md5.authenticationReceived(.cleartextPassword)) != nil, "one password per connection")
    }

    @Test func successRightAfterTheFirstSCRAMMessageIsRefused() throws {
        var machine = try self.machine()
        guard case .sendSASLInitialResponse = machine.authenticationReceived(.sasl(mechanisms: ["SCRAM-SHA-256"])) else {
            Issue.record("expected SASL initial response"); return
        }
        let error = self.failure(machine.authenticationReceived(.ok))
        #expect(error?.code == .authenticationFailed)
        #expect(error?.message.contains("before proving it knows the password") == true)
    }

    @Test func successAfterTheProofButBeforeTheServerSignatureIsRefused() throws {
        var machine = try self.machine()
        guard case .sendSASLInitialResponse(_, let first) = machine.authenticationReceived(.sasl(mechanisms: ["SCRAM-SHA-256"]))
        else { Issue.record("expected SASL initial response"); return }
        let nonce = String(decoding: first, as: UTF8.self).dropFirst("n,,n=,r=".count)
        _ = machine.authenticationReceived(.saslContinue(data: Array("r=\(nonce)S,s=QSXCR+Q6sek8bf92,i=4096".utf8)))
        #expect(self.failure(machine.authenticationReceived(.ok))?.code == .authenticationFailed)
    }

    @Test func verifiedSCRAMExchangeThenSuccessIsReady() throws {
        var machine = try self.machine()
        let result = self.runSCRAM(&machine, offered: ["SCRAM-SHA-256"])
        #expect(result.mechanism == "SCRAM-SHA-256")
        #expect(result.gs2Header == "n,,")
        guard case .none = machine.authenticationReceived(.ok) else { Issue.record("expected none"); return }
        guard case .ready = machine.readyForQueryReceived() else { Issue.record("expected ready"); return }
    }

    @Test func tlsWithBindingDataUsesSCRAMPlusAndSignsTheCertificateHash() throws {
        var machine = try self.machine(tls: (verified: false, binding: Self.bindingData))
        let result = self.runSCRAM(&machine, offered: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"])
        #expect(result.mechanism == "SCRAM-SHA-256-PLUS")
        #expect(result.gs2Header == "p=tls-server-end-point,,")
        #expect(result.channelBindingAttribute
            == Base64.encode(Array("p=tls-server-end-point,,".utf8) + Self.bindingData))
        guard case .none = machine.authenticationReceived(.ok) else { Issue.record("expected none"); return }
    }

    @Test func tlsWhenTheServerDoesNotOfferPlusSaysTheClientCouldBind() throws {
        var machine = try self.machine(tls: (verified: false, binding: Self.bindingData))
        let result = self.runSCRAM(&machine, offered: ["SCRAM-SHA-256"])
        #expect(result.gs2Header == "y,,")
        #expect(result.channelBindingAttribute == "eSws")
    }

    @Test func requiredChannelBindingRefusesEverythingButSCRAMPlusOverTLS() throws {
        var plain = try self.machine(channelBinding: .require)
        #expect(self.failure(plain.authenticationReceived(.sasl(mechanisms: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"])))?
            .message.contains("channel_binding=require needs TLS") == true)
        var stripped = try self.machine(tls: (verified: false, binding: Self.bindingData), channelBinding: .require)
        #expect(self.failure(stripped.authenticationReceived(.sasl(mechanisms: ["SCRAM-SHA-256"])))?
            .message.contains("does not offer SCRAM-SHA-256-PLUS") == true)
        for request in [BackendMessage.Authentication.cleartextPassword, .md5Password(salt: [1, 2, 3, 4]), .ok] {
            var machine = try self.machine(tls: (verified: true, binding: Self.bindingData), channelBinding: .require)
            let error = self.failure(machine.authenticationReceived(request))
            #expect(error?.message.contains("channel_binding=require") == true, "\(request)")
        }
    }

    @Test func requireAuthRefusesOtherMethodsBeforeSendingAnything() throws {
        var scramOnly = try self.machine(requireAuth: "scram-sha-256")
        #expect(self.failure(scramOnly.authenticationReceived(.md5Password(salt: [1, 2, 3, 4])))?
            .message.contains("require_auth") == true)
        var mustAuthenticate = try self.machine(requireAuth: "!none")
        #expect(self.failure(mustAuthenticate.authenticationReceived(.ok))?.message.contains("no authentication") == true)
        var noSCRAM = try self.machine(requireAuth: "!scram-sha-256")
        #expect(self.failure(noSCRAM.authenticationReceived(.sasl(mechanisms: ["SCRAM-SHA-256"]))) != nil)
        var md5Allowed = try self.machine(requireAuth: "!password")
        guard case .sendPassword = md5Allowed.authenticationReceived(.md5Password(salt: [1, 2, 3, 4])) else {
            Issue.record("md5 is allowed by !password"); return
        }
    }

    /// Plays the server's side of SCRAM with the password "pencil" and returns what the client sent.
    func runSCRAM(
        _ machine: inout StartupStateMachine, offered: [String]
    ) -> (mechanism: String, gs2Header: String, channelBindingAttribute: String) {
        guard case .sendSASLInitialResponse(let mechanism, let firstBytes) = machine.authenticationReceived(.sasl(mechanisms: offered))
        else { Issue.record("expected SASL initial response"); return ("", "", "") }
        let first = String(decoding: firstBytes, as: UTF8.self)
        let bareStart = first.firstRange(of: "n=,r=")!.lowerBound
        let gs2Header = String(first[..<bareStart])
        let clientFirstBare = String(first[bareStart...])
        let nonce = clientFirstBare.dropFirst("n=,r=".count)
        let salt: [UInt8] = Array("salt-for-tests".utf8)
        let serverFirst = "r=\(nonce)SERVER,s=\(Base64.encode(salt)),i=4096"
        guard case .sendSASLResponse(let finalBytes) = machine.authenticationReceived(.saslContinue(data: Array(serverFirst.utf8)))
        else { Issue.record("expected SASL response"); return (mechanism, gs2Header, "") }
        let final = String(decoding: finalBytes, as: UTF8.self)
        let withoutProof = String(final[..<final.firstRange(of: ",p=")!.lowerBound])
        let channelBindingAttribute = String(withoutProof.dropFirst(2).prefix { $0 != "," })
        let salted = SCRAMSHA256Client.pbkdf2SHA256(password: Array("pencil".utf8), salt: salt, iterations: 4096)
        let serverKey = SCRAMSHA256Client.hmac(key: salted, Array("Server Key".utf8))
        let signature = SCRAMSHA256Client.hmac(key: serverKey, Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8))
        guard case .none = machine.authenticationReceived(.saslFinal(data: Array("v=\(Base64.encode(signature))".utf8))) else {
            Issue.record("a correct server signature must be accepted"); return (mechanism, gs2Header, channelBindingAttribute)
        }
        return (mechanism, gs2Header, channelBindingAttribute)
    }
}
