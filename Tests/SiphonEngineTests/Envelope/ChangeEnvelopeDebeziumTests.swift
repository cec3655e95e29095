// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonEngine
import Testing

@Suite struct ChangeEnvelopeDebeziumTests {
    private let shop = DebeziumSource(database: "shop", version: "siphon")

    private func render(_ change: Change) -> String {
        ChangeEnvelope.render(change, format: .debezium, debezium: self.shop)
    }

    /// The `source` block and trailer every `users` fixture shares, with its own index and op.
    private func expected(before: String, after: String, index: Int, op: String) -> String {
        #"{"before":\#(before),"after":\#(after),"source":{"version":"siphon","connector":"postgresql","#
            + #""name":"orders_cdc","ts_ms":1795302000123,"snapshot":"false","db":"shop","sequence":null,"#
            + #""ts_us":1795302000123456,"ts_ns":1795302000123456000,"schema":"public","table":"users","#
            + #""txId":731,"lsn":23803808,"xmin":null,"origin":null,"origin_lsn":null,"#
            + #""change_id":"orders_cdc/0/16B37A0/\#(index)"},"op":"\#(op)","ts_ms":1795302000123,"#
            + #""ts_us":1795302000123456,"ts_ns":1795302000123456000,"transaction":null}"#
    }

    @Test func insertIsACreateWithOnlyAfter() {
        #expect(
            self.render(EnvelopeFixtures.insert)
                == #"{"before":null,"after":{"id":42,"email":"ada@example.com","#
                + #""name":"Ada \"The Countess\" Lovelace","score":1.50,"tags":["admin", "ops"],"#
                + #""created_at":"2026-11-21T23:00:00.123456+00:00","prefs":{"beta": true, "theme": "dark"}},"#
                + #""source":{"version":"siphon","connector":"postgresql","name":"orders_cdc","ts_ms":1795302000123,"#
                + #""snapshot":"false","db":"shop","sequence":null,"ts_us":1795302000123456,"#
                + #""ts_ns":1795302000123456000,"schema":"public","table":"users","txId":731,"lsn":23803808,"#
                + #""xmin":null,"origin":null,"origin_lsn":null,"change_id":"orders_cdc/0/16B37A0/0"},"op":"c","#
                + #""ts_ms":1795302000123,"ts_us":1795302000123456,"ts_ns":1795302000123456000,"transaction":null}"#)
    }

    @Test func updateWithReplicaIdentityDefaultHasNoBeforeAndDebeziumsPlaceholderForUnchangedToast() {
        #expect(
            self.render(EnvelopeFixtures.updateDefault)
                == self.expected(
                    before: "null",
                    after: #"{"id":42,"email":"ada@lovelace.org","bio":"__debezium_unavailable_value"}"#,
                    index: 1, op: "u"))
    }

    @Test func updateWithReplicaIdentityFullHasTheWholeBefore() {
        #expect(
            self.render(EnvelopeFixtures.updateFull)
                == self.expected(
                    before: #"{"id":42,"email":"ada@example.com","score":1.50}"#,
                    after: #"{"id":42,"email":"ada@lovelace.org","score":2}"#, index: 2, op: "u"))
    }

    @Test func deleteHasOnlyBefore() {
        #expect(
            self.render(EnvelopeFixtures.delete)
                == self.expected(before: #"{"id":42}"#, after: "null", index: 3, op: "d"))
    }

    @Test func truncateHasNeitherBeforeNorAfter() {
        #expect(
            self.render(EnvelopeFixtures.truncate)
                == self.expected(before: "null", after: "null", index: 4, op: "t"))
    }

    @Test func aSnapshotReadIsOpRFromASnapshot() {
        let rendered = self.render(EnvelopeFixtures.read)
        #expect(rendered.contains(#""before":null,"after":{"id":42,"email":"ada@example.com"}"#))
        #expect(rendered.contains(#""snapshot":"true""#))
        #expect(rendered.contains(#""txId":null"#))
        #expect(rendered.contains(#"},"op":"r","ts_ms":"#))
    }

    @Test func unknownXIDOriginAndTimesBefore1970() {
        #expect(
            ChangeEnvelope.render(EnvelopeFixtures.awkward, format: .debezium)
                == #"{"before":{"say \"hi\"":"x"},"after":{"say \"hi\"":"Zoë ☕ 😀 \"q\" \\ / \n","#
                + #""line\nbreak":null,"😀":-1.5e-7,"big \"one\"":"__debezium_unavailable_value"},"#
                + #""source":{"version":"siphon","connector":"postgresql","name":"outbox \"main\"\\eu","ts_ms":-1,"#
                + #""snapshot":"false","db":"","#
                + #""sequence":null,"ts_us":-1,"ts_ns":-1000,"schema":"weird\"schema","table":"tåble\t☕","#
                + #""txId":null,"lsn":23803808,"xmin":null,"origin":"pg_16384","origin_lsn":null,"#
                + #""change_id":"outbox \"main\"\\eu/0/16B37A0/7"},"op":"u","ts_ms":-1,"ts_us":-1,"ts_ns":-1000,"#
                + #""transaction":null}"#)
    }

    @Test func nanosecondsThatDoNotFitAreNull() {
        var change = EnvelopeFixtures.delete
        change.commitTime = PostgresTimestamp(unixMicroseconds: 9_300_000_000_000_000)
        let line = self.render(change)
        #expect(line.contains(#""ts_us":9300000000000000,"ts_ns":null,"schema""#))
        #expect(line.hasSuffix(#""ts_ms":9300000000000,"ts_us":9300000000000000,"ts_ns":null,"transaction":null}"#))
    }
}
