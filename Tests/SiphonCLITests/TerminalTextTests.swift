// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import Logging
@testable import SiphonCLI
import SiphonCore
import Testing

/// What `siphon tail` and the error printer do to text that could drive a terminal.
@Suite struct TerminalTextTests {
    @Test func namesShowEveryControlVisibly() {
        #expect(TerminalText.name("orders") == "orders")
        #expect(TerminalText.name("Grüße 日本 😀") == "Grüße 日本 😀")
        #expect(TerminalText.name("t\u{1B}]52;c;aGk=\u{07}") == #"t\e]52;c;aGk=\u{7}"#)
        #expect(TerminalText.name("a\r\u{8}\n\t\u{0}\u{7F}") == #"a\r\u{8}\n\t\u{0}\u{7f}"#)
        #expect(TerminalText.name("\u{9B}31m\u{85}") == #"\u{9b}31m\u{85}"#)
        #expect(TerminalText.name("abc\u{202E}fed\u{2066}\u{2069}\u{200F}\u{2028}") == #"abc\u{202e}fed\u{2066}\u{2069}\u{200f}\u{2028}"#)
        // A backslash is doubled, so a name cannot pretend to hold an escape it does not.
        #expect(TerminalText.name(#"a\eb"#) == #"a\\eb"#)
    }

    @Test func messagesKeepTheirLineBreaks() {
        #expect(TerminalText.message("line one\n\tline two") == "line one\n\tline two")
        #expect(TerminalText.message("relation \"x\u{1B}[2J\r\" does not exist") == #"relation "x\e[2J\r" does not exist"#)
        #expect(TerminalText.message(#"path C:\x"#) == #"path C:\x"#)
    }

    @Test func jsonKeepsItsValueAndLosesItsHazards() throws {
        let value = "v\u{1B}[2J\u{9B}31m\u{202E}\r\u{7F}\u{2028}\u{2029}\\\"\u{85}"
        let json = "{" + JSONText.string("k\u{9B}") + ":" + JSONText.string(value) + "}"
        let safe = TerminalText.json(json)
        #expect(safe == #"{"k\u009b":"v\u001b[2J\u009b31m\u202e\r\u007f\u2028\u2029\\\"\u0085"}"#)
        #expect(!safe.unicodeScalars.contains { TerminalText.isHazard($0) })
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(safe.utf8)) as? [String: String])
        #expect(decoded.map { Array($0.key.unicodeScalars) } == [Array("k\u{9B}".unicodeScalars)])
        #expect(decoded.values.map { Array($0.unicodeScalars) } == [Array(value.unicodeScalars)])
    }

    /// A carriage return between tokens (a `json` column keeps the writer's whitespace) becomes a space, line
    /// feeds and tabs there stay; raw controls inside a string, which are not valid JSON, are escaped like the rest.
    @Test func jsonWhitespaceAndStrayControlsAreNeutralised() {
        #expect(TerminalText.json("{\"a\":\r\n\t[1,\r2]}") == "{\"a\": \n\t[1, 2]}")
        #expect(TerminalText.json("[\"a\u{1B}b\", \"\\\"\u{7}\"]") == #"["a\u001bb", "\"\u0007"]"#)
        #expect(TerminalText.json("{\"plain\":1}") == "{\"plain\":1}")
    }

    @Test func logLinesAreEscapedToo() {
        struct ServerError: Error, CustomStringConvertible { var description = "relation \"t\u{1B}[2J\" is gone" }
        let event = TerminalSafeLogHandler.safe(
            LogEvent(
                level: .error, message: "cannot drop t\u{1B}]52;c;aGk=\u{7}", error: ServerError(),
                metadata: ["pg.relation": "s.t\u{9B}1m", "nested": ["list": ["\u{202E}"]]], source: nil, file: #fileID,
                function: #function, line: #line))
        #expect(event.message.description == #"cannot drop t\e]52;c;aGk=\u{7}"#)
        #expect(event.error == nil)
        #expect(event.metadata?["error.message"]?.description == #"relation "t\e[2J" is gone"#)
        #expect(event.metadata?["pg.relation"]?.description == #"s.t\u{9b}1m"#)
        guard case .dictionary(let nested) = event.metadata?["nested"], case .array(let list) = nested["list"] else {
            Issue.record("nested metadata lost its shape: \(String(describing: event.metadata))")
            return
        }
        #expect(list.map(\.description) == [#"\u{202e}"#])
    }
}
