// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import Testing

@Suite struct PostgresTimestampTextTests {
    let instant = PostgresTimestamp(unixMicroseconds: 1_795_309_445_500_000)  // 2026-11-22 01:04:05.5 UTC

    @Test func readsTheFormsPostgreSQLAndTheEnvelopePrint() {
        #expect(PostgresTimestamp(parsing: "2026-11-22T01:04:05.500000Z") == self.instant)
        #expect(PostgresTimestamp(parsing: "2026-11-22 01:04:05.5+00") == self.instant)
        #expect(PostgresTimestamp(parsing: "2026-11-22T03:04:05.5+02:00") == self.instant)
        #expect(PostgresTimestamp(parsing: "2026-11-21T22:34:05.5-02:30") == self.instant)
        #expect(PostgresTimestamp(parsing: "2026-11-22T01:04:05.500000000+00:00") == self.instant)
        #expect(PostgresTimestamp(parsing: "2026-11-22T01:04:05.5") == self.instant)
        #expect(PostgresTimestamp(parsing: "1999-12-31 23:59:59.999999+00")?.rawValue == -1)
    }

    @Test func aBareDateIsMidnightOnlyWhenAllowed() {
        #expect(PostgresTimestamp(parsing: "2026-11-22") == nil)
        #expect(
            PostgresTimestamp(parsing: "2026-11-22", allowingDateOnly: true)
                == PostgresTimestamp(unixMicroseconds: 1_795_305_600_000_000))
    }

    @Test func refusesOtherShapes() {
        for text in [
            "infinity", "2026-02-30T00:00:00Z", "2026-11-22T24:00:00Z", "2026-11-22T01:04:05.1234567Z",
            "2026-11-22T01:04:05.Z", "2026-11-22T01:04:05Zjunk", "0044-03-15 00:00:00+00 BC", "2026-11-22X01:04:05Z",
        ] {
            #expect(PostgresTimestamp(parsing: text) == nil, "\(text)")
        }
    }

    @Test func theFastWriterPrintsWhatDescriptionPrintsAndReadsBack() {
        // From year 0 to year 14700 in odd steps, so every field takes many values; beyond 9999 the general path.
        for step in Int64(0)..<2000 {
            let timestamp = PostgresTimestamp(rawValue: -63_000_000_000_000_000 + step * 240_000_000_000_037)
            var text = ""
            timestamp.append(to: &text)
            #expect(text == timestamp.description)
            if text.firstIndex(of: "-") == text.index(text.startIndex, offsetBy: 4) {
                #expect(PostgresTimestamp(parsing: text) == timestamp)
            }
        }
    }
}
