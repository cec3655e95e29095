// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonEngine
import Testing

@Suite struct ChangeEnvelopeSiphonTests {
    private func render(_ change: Change) -> String {
        ChangeEnvelope.render(change, format: .siphon)
    }

    @Test func insertHasEveryKeyInOrderAndValuesAsPostgresRenderedThem() {
        #expect(
            self.render(EnvelopeFixtures.insert)
                == #"{"id":"orders_cdc/0/16B37A0/0","op":"insert","schema":"public","table":"users","xid":731,"#
                + #""lsn":"0/16B37A0","commit_time":"2026-11-21T23:00:00.123456Z","origin":null,"#
                + #""new":{"id":42,"email":"ada@example.com","name":"Ada \"The Countess\" Lovelace","score":1.50,"#
                + #""tags":["admin", "ops"],"created_at":"2026-11-21T23:00:00.123456+00:00","#
                + #""prefs":{"beta": true, "theme": "dark"}},"old":null,"key":{"id":42},"unchanged_toast":[]}"#)
    }

    @Test func updateWithReplicaIdentityDefaultHasNoOldRowAndNamesUnchangedToast() {
        #expect(
            self.render(EnvelopeFixtures.updateDefault)
                == #"{"id":"orders_cdc/0/16B37A0/1","op":"update","schema":"public","table":"users","xid":731,"#
                + #""lsn":"0/16B37A0","commit_time":"2026-11-21T23:00:00.123456Z","origin":null,"#
                + #""new":{"id":42,"email":"ada@lovelace.org"},"old":null,"key":{"id":42},"unchanged_toast":["bio"]}"#)
    }

    @Test func updateWithReplicaIdentityFullCarriesTheWholeOldRow() {
        #expect(
            self.render(EnvelopeFixtures.updateFull)
                == #"{"id":"orders_cdc/0/16B37A0/2","op":"update","schema":"public","table":"users","xid":731,"#
                + #""lsn":"0/16B37A0","commit_time":"2026-11-21T23:00:00.123456Z","origin":null,"#
                + #""new":{"id":42,"email":"ada@lovelace.org","score":2},"#
                + #""old":{"id":42,"email":"ada@example.com","score":1.50},"key":{"id":42},"unchanged_toast":[]}"#)
    }

    @Test func deleteHasNoNewRow() {
        #expect(
            self.render(EnvelopeFixtures.delete)
                == #"{"id":"orders_cdc/0/16B37A0/3","op":"delete","schema":"public","table":"users","xid":731,"#
                + #""lsn":"0/16B37A0","commit_time":"2026-11-21T23:00:00.123456Z","origin":null,"#
                + #""new":null,"old":{"id":42},"key":{"id":42},"unchanged_toast":[]}"#)
    }

    @Test func truncateHasNoRowsAnEmptyKeyAndItsOptionsLast() {
        #expect(
            self.render(EnvelopeFixtures.truncate)
                == #"{"id":"orders_cdc/0/16B37A0/4","op":"truncate","schema":"public","table":"users","xid":731,"#
                + #""lsn":"0/16B37A0","commit_time":"2026-11-21T23:00:00.123456Z","origin":null,"#
                + #""new":null,"old":null,"key":{},"unchanged_toast":[],"#
                + #""truncate":{"cascade":true,"restart_identity":false}}"#)
    }

    @Test func escapesNamesExactlyAsPostgresDoesAndLeavesSlashAndUnicodeAlone() {
        #expect(
            self.render(EnvelopeFixtures.awkward)
                == #"{"id":"outbox \"main\"\\eu/0/16B37A0/7","op":"update","schema":"weird\"schema","#
                + #""table":"tåble\t☕","xid":null,"lsn":"0/16B37A0","commit_time":"1969-12-31T23:59:59.999999Z","#
                + #""origin":"pg_16384","new":{"say \"hi\"":"Zoë ☕ 😀 \"q\" \\ / \n","line\nbreak":null,"#
                + #""😀":-1.5e-7},"old":{"say \"hi\"":"x"},"key":{"say \"hi\"":"x"},"#
                + #""unchanged_toast":["big \"one\""]}"#)
    }

    @Test func rowsAreWhatRowRendersItself() {
        for change in EnvelopeFixtures.all {
            let line = self.render(change)
            for row in [change.new, change.old].compactMap({ $0 }) + [change.key] {
                #expect(line.contains(row.jsonObject))
            }
        }
    }

    @Test func appendsAfterWhatTheBufferAlreadyHolds() {
        var buffer = "previous\n"
        ChangeEnvelope.append(EnvelopeFixtures.delete, format: .siphon, to: &buffer)
        #expect(buffer == "previous\n" + self.render(EnvelopeFixtures.delete))
    }

    @Test func commitTimesRenderAsPostgresTimestampDescribesThem() {
        let samples: [Int64] = [
            0, 1, -1, 999_999, 1_000_000, -1_000_000, 1_795_302_000_123_456, 946_684_800_000_000,
            951_782_400_000_000, 253_402_300_799_999_999, 253_402_300_800_000_000, -62_135_596_800_000_000,
            4_102_444_799_999_999,
        ]
        for micros in samples {
            let time = PostgresTimestamp(unixMicroseconds: micros)
            var change = EnvelopeFixtures.delete
            change.commitTime = time
            #expect(self.render(change).contains(#""commit_time":"\#(time)""#))
        }
    }

    @Test func lsnHalvesAreUppercaseHexWithoutPadding() {
        var change = EnvelopeFixtures.delete
        change.id.commitLSN = LSN(rawValue: 0x0000_00AB_0000_0C0D)
        #expect(self.render(change).hasPrefix(#"{"id":"orders_cdc/AB/C0D/3","op":"delete""#))
        #expect(self.render(change).contains(#""lsn":"AB/C0D""#))
        change.id.commitLSN = LSN(rawValue: .max)
        #expect(self.render(change).contains(#""lsn":"FFFFFFFF/FFFFFFFF""#))
    }
}
