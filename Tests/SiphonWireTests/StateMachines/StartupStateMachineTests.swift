// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonWire
import Testing

@Suite struct StartupStateMachineTests {
    @Test func scramConversationReachesReady() {
        var machine = StartupStateMachine(user: "siphon", password: "pencil", tlsMode: .disable)
        guard case .sendSASLInitialResponse(let mechanism, let first) = machine.authenticationReceived(.sasl(mechanisms: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"])) else {
            Issue.record("expected SASL initial response"); return
        }
        #expect(mechanism == "SCRAM-SHA-256")
        let nonce = String(decoding: first, as: UTF8.self).dropFirst("n,,n=,r=".count)
        let serverFirst = "r=\(nonce)SERVER,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        guard case .sendSASLResponse = machine.authenticationReceived(.saslContinue(data: Array(serverFirst.utf8))) else {
            Issue.record("expected SASL response"); return
        }
        guard case .fail(let error) = machine.authenticationReceived(.saslFinal(data: Array("v=AAAA".utf8))) else {
            Issue.record("a wrong server signature must fail"); return
        }
        #expect(error.code == .authenticationFailed)
    }

    @Test func passwordRequestWithoutPasswordSaysWhereToPutIt() {
        var machine = StartupStateMachine(user: "alice", password: nil, tlsMode: .disable)
        guard case .fail(let error) = machine.authenticationReceived(.md5Password(salt: [1, 2, 3, 4])) else {
            Issue.record("expected failure"); return
        }
        #expect(error.message.contains("PGPASSWORD"))
    }

    @Test func trustReachesReady() {
        var machine = StartupStateMachine(user: "alice", password: nil, tlsMode: .disable)
        guard case .none = machine.authenticationReceived(.ok) else { Issue.record("expected none"); return }
        machine.parameterStatusReceived(name: "server_version", value: "15.18")
        guard case .ready = machine.readyForQueryReceived() else { Issue.record("expected ready"); return }
        #expect(machine.parameters["server_version"] == "15.18")
    }
}
