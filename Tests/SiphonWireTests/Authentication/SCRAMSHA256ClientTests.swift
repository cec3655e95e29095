// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonWire
import Testing

@Suite struct SCRAMSHA256ClientTests {
    /// The example exchange of RFC 7677 section 3 (user "user", password "pencil"); PostgreSQL leaves `n=` empty,
    /// which changes the AuthMessage, so the proof differs from the RFC's while the steps stay the same.
    @Test func rfc7677ExchangeWithEmptyUserName() throws {
        var client = SCRAMSHA256Client(password: "pencil", nonce: "rOprNGfwEbeRWgbNEkqO")
        #expect(String(decoding: client.clientFirstMessage(), as: UTF8.self) == "n,,n=,r=rOprNGfwEbeRWgbNEkqO")
        let serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        let final = try client.clientFinalMessage(serverFirst: Array(serverFirst.utf8))
        let finalText = String(decoding: final, as: UTF8.self)
        #expect(finalText.hasPrefix("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p="))
        // Proof computed independently with Python's hashlib/hmac for the same inputs.
        #expect(finalText.hasSuffix("p=qvT2SWdEH5Q06albL+hjSYuUhCG7VndFyzIb7CK4n9k="))
        try client.verify(serverFinal: Array("v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=".utf8))
    }

    @Test func rejectsAServerThatDoesNotKnowThePassword() throws {
        var client = SCRAMSHA256Client(password: "pencil", nonce: "abc")
        _ = try client.clientFinalMessage(serverFirst: Array("r=abcdef,s=QSXCR+Q6sek8bf92,i=4096".utf8))
        #expect(throws: SCRAMSHA256Client.Failure.serverSignatureMismatch) {
            try client.verify(serverFinal: Array("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".utf8))
        }
    }

    @Test func rejectsANonceThatDoesNotExtendOurs() {
        var client = SCRAMSHA256Client(password: "pencil", nonce: "abc")
        #expect(throws: SCRAMSHA256Client.Failure.nonceMismatch) {
            try client.clientFinalMessage(serverFirst: Array("r=xyz123,s=QSXCR+Q6sek8bf92,i=4096".utf8))
        }
    }

    @Test func md5PasswordMatchesPostgres() {
        // md5(md5("secret" + "alice").hexdigest() + salt), computed independently with Python's hashlib.
        #expect(MD5Password.response(user: "alice", password: "secret", salt: [1, 2, 3, 4])
            == "md598a0412b9c31436fc53776e863350083")
    }
}
