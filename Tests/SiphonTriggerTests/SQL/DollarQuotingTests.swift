// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Testing

@testable import SiphonTrigger

/// A dollar-quoted body must not contain its own delimiter as bytes, which is how PostgreSQL's lexer finds the end.
@Suite struct DollarQuotingTests {
    @Test func delimiterFollowedByACombiningMarkIsAvoided() {
        // `$siphon$` + U+0301 is no `$siphon$` to a grapheme-cluster search, but ends the quote for the server.
        let body = "SELECT '$siphon$\u{301}; DROP TABLE victim; --'"
        let quoted = TriggerSQL.dollarQuoted(body)
        #expect(quoted == "$siphon1$" + body + "$siphon1$")
        #expect(TriggerSQL.dollarQuoted("SELECT 1") == "$siphon$SELECT 1$siphon$")
    }
}
