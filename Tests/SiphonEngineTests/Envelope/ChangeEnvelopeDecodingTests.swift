// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonEngine
import Testing

@Suite struct ChangeEnvelopeDecodingTests {
    @Test(arguments: EnvelopeFixtures.all)
    func decodingARenderedLineGivesTheSameChange(_ change: Change) throws {
        let line = ChangeEnvelope.render(change, format: .siphon)
        let decoded = try ChangeEnvelope.decode(line: line + "\n")
        #expect(decoded == change)
        #expect(ChangeEnvelope.render(decoded, format: .siphon) == line)
    }

    @Test func valuesKeepTheirExactTextWhateverTheirSpacing() throws {
        let line = """
            { "commit_time" : "2026-11-21T23:00:00.123456Z", "future_field": {"x": [1, 2, {"y": null}]},
              "id": "orders_cdc/0/16B37A0/5", "op": "insert", "schema": "public", "table": "users",
              "new": { "price": 1.50, "big": 12345678901234567890123, "tiny": 1E-400,
                       "doc": {"b": 1, "a": [true, false]}, "text": "caf\\u00e9 \\ud83d\\ude00 \\/ \\"" },
              "key": {"price": 1.50} }
            """
        let change = try ChangeEnvelope.decode(line: line)
        #expect(
            change.new
                == EnvelopeFixtures.row([
                    "price": "1.50", "big": "12345678901234567890123", "tiny": "1E-400",
                    "doc": #"{"b": 1, "a": [true, false]}"#, "text": #""caf\u00e9 \ud83d\ude00 \/ \"""#,
                ]))
        #expect(change.key == EnvelopeFixtures.row(["price": "1.50"]))
        #expect(change.id == EnvelopeFixtures.id(5))
        #expect(change.xid == nil && change.origin == nil && change.old == nil && change.unchangedToast.isEmpty)
    }

    @Test func escapedNamesAreUnescaped() throws {
        let change = try ChangeEnvelope.decode(
            line: #"{"id":"s/0/1/0","op":"insert","schema":"a\u0022b\/c","table":"\ud83d\ude00\t","#
                + #""commit_time":"2000-01-01T00:00:00Z","key":{}}"#)
        #expect(change.schema == #"a"b/c"#)
        #expect(change.table == "😀\t")
        #expect(change.commitTime == PostgresTimestamp(rawValue: 0))
    }

    @Test func truncateWithoutOptionsReadsAsNeither() throws {
        let change = try ChangeEnvelope.decode(
            line: #"{"id":"s/0/1/0","op":"truncate","schema":"public","table":"t","#
                + #""commit_time":"2000-01-01T00:00:00Z"}"#)
        #expect(change.truncateOptions == Change.TruncateOptions(cascade: false, restartIdentity: false))
    }

    @Test(arguments: [
        ("", "expected '{' at byte 0"),
        ("[]", "expected '{' at byte 0"),
        (#"{"id":"s/0/1/0"}"#, #"missing "op" at byte 16"#),
        (
            #"{"id":"s/0/1/0","op":"upsert"}"#,
            #"unknown op "upsert" (expected insert, update, delete, truncate or read) at byte 21"#
        ),
        (#"{"id":"s/0/1"}"#, #"malformed id "s/0/1" (expected <source>/<commit LSN>/<index>) at byte 6"#),
        (#"{"id":"s/0/1/-1"}"#, #"malformed id "s/0/1/-1" (expected <source>/<commit LSN>/<index>) at byte 6"#),
        (#"{"xid":-1}"#, "expected an integer between 0 and 4294967295 at byte 7"),
        (#"{"xid":4294967296}"#, "expected an integer between 0 and 4294967295 at byte 7"),
        (#"{"new":{"a":01}}"#, "expected '}' at byte 13"),
        (#"{"new":{"a":[1,]}}"#, "expected a value at byte 15"),
        (#"{"new":{"a":"x}}"#, "unterminated string at byte 12"),
        (#"{"schema":"\q"}"#, #"unknown escape \q at byte 11"#),
        (#"{"schema":"\ud83d"}"#, #"unpaired surrogate in \u escape at byte 11"#),
        (#"{"commit_time":"2026-02-30T00:00:00Z"}"#, #"malformed commit_time "2026-02-30T00:00:00Z" at byte 15"#),
        (
            #"{"id":"s/0/1/0","op":"delete","schema":"p","table":"t","commit_time":"2000-01-01T00:00:00Z","#
                + #""lsn":"0/2"}"#,
            "lsn 0/2 differs from the commit LSN in the id s/0/1/0 at byte 98"
        ),
        (#"{"op":"insert"} x"#, "unexpected text after the object at byte 16"),
    ])
    func malformedLinesSayWhatAndWhere(_ line: String, _ reason: String) {
        do {
            _ = try ChangeEnvelope.decode(line: line)
            Issue.record("decoded \(line)")
        } catch let error as SiphonError {
            #expect(error.code == .decodingFailed)
            #expect(error.message == "not a Siphon change line: \(reason) in \(line)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func longLinesAreShortenedInTheMessage() {
        let line = #"{"op":"nope""# + String(repeating: " ", count: 200) + "}"
        #expect(throws: SiphonError.self) { try ChangeEnvelope.decode(line: line) }
        do {
            _ = try ChangeEnvelope.decode(line: line)
        } catch let error as SiphonError {
            #expect(error.message.hasSuffix(#"in {"op":"nope""# + String(repeating: " ", count: 108) + "…"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func changeIDsParseFromTheRightSoSourcesMayHoldSlashes() {
        #expect(
            Change.ID(parsing: "a/b/16/B374D848/12")
                == Change.ID(source: "a/b", commitLSN: LSN("16/B374D848")!, index: 12))
        #expect(Change.ID(parsing: "/0/1/0") == nil)
        #expect(Change.ID(parsing: "s/0/1/+1") == nil)
        #expect(Change.ID(parsing: "s/0/x/1") == nil)
    }
}
