// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import Testing

@Suite struct ValueFormattingTests {
    @Test func lsnRoundTrips() {
        #expect(LSN("16/B374D848")?.rawValue == 0x16_B374_D848)
        #expect(LSN(rawValue: 0x16_B374_D848).description == "16/B374D848")
        #expect(LSN("0/0") == .zero)
        #expect(LSN("nope") == nil)
        #expect(LSN("1/123456789") == nil)
    }

    @Test func timestampRendersInUTCWithMicroseconds() {
        #expect(PostgresTimestamp(rawValue: 0).description == "2000-01-01T00:00:00.000000Z")
        #expect(PostgresTimestamp(rawValue: -1).description == "1999-12-31T23:59:59.999999Z")
        #expect(PostgresTimestamp(unixMicroseconds: 1_795_302_000_123_456).description == "2026-11-21T23:00:00.123456Z")
    }

    @Test func jsonEscapingMatchesPostgres() {
        // SELECT to_jsonb(E'a"b\\c\n\t\u0001/é')::text gives "a\"b\\c\n\t\u0001/é"
        #expect(JSONText.string("a\"b\\c\n\t\u{01}/é") == #""a\"b\\c\n\t\u0001/é""#)
    }
}
