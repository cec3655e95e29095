// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// Text from the database made safe to print on a terminal.
///
/// Table, column and schema names, values and server messages are written by whoever can create a table or a row.
/// Printed raw, an escape sequence in them drives the terminal: `ESC ] 52` writes the clipboard, `ESC [ 2J` clears
/// the screen, CR and backspace overwrite what was printed, bidi overrides reorder it. Everything Siphon prints for a
/// person goes through here, which writes such characters visibly instead.
enum TerminalText {
    /// Whether a terminal may act on `scalar` instead of just showing it: C0 controls, DEL, C1 controls (which
    /// some terminals obey in UTF-8 too: U+009B is CSI), bidi embeddings, overrides, isolates and marks, and the
    /// line and paragraph separators.
    static func isHazard(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x061C, 0x200E, 0x200F, 0x2028...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// A name or other short text with every hazard written as an escape (`\e`, `\n`, `\t`, `\r`, `\u{9b}`), and
    /// `\` doubled, so what is shown reads back unambiguously.
    static func name(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { self.isHazard($0) || $0 == "\\" }) else { return text }
        var output = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == "\\" {
                output.append(contentsOf: #"\\"#.unicodeScalars)
            } else if self.isHazard(scalar) {
                output.append(contentsOf: self.escape(scalar).unicodeScalars)
            } else {
                output.append(scalar)
            }
        }
        return String(output)
    }

    /// A message (an error, a log line) with every hazard but line feed and tab written as an escape; the message's
    /// own line breaks stay.
    static func message(_ text: String) -> String {
        let kept: Set<Unicode.Scalar> = ["\n", "\t"]
        guard text.unicodeScalars.contains(where: { self.isHazard($0) && !kept.contains($0) }) else { return text }
        var output = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if self.isHazard(scalar) && !kept.contains(scalar) {
                output.append(contentsOf: self.escape(scalar).unicodeScalars)
            } else {
                output.append(scalar)
            }
        }
        return String(output)
    }

    /// JSON text with the same value, safe on a terminal: a hazard inside a string becomes a JSON escape
    /// (`\u009b`), a carriage return between tokens becomes a space (line feeds and tabs there stay, so indented
    /// JSON keeps its layout), and anything else out of place is escaped as in a string (it was not valid JSON).
    static func json(_ text: String) -> String {
        let kept: Set<Unicode.Scalar> = ["\n", "\t"]
        guard text.unicodeScalars.contains(where: { self.isHazard($0) && !kept.contains($0) }) else { return text }
        var output = String.UnicodeScalarView()
        var inString = false
        var escaping = false
        for scalar in text.unicodeScalars {
            if self.isHazard(scalar) {
                if !inString && kept.contains(scalar) {
                    output.append(scalar)
                } else if !inString && scalar == "\r" {
                    output.append(" ")
                } else {
                    output.append(contentsOf: self.jsonEscape(scalar).unicodeScalars)
                }
                escaping = false
                continue
            }
            output.append(scalar)
            if escaping {
                escaping = false
            } else if inString && scalar == "\\" {
                escaping = true
            } else if scalar == "\"" {
                inString.toggle()
            }
        }
        return String(output)
    }

    private static func escape(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\u{1B}": #"\e"#
        case "\n": #"\n"#
        case "\r": #"\r"#
        case "\t": #"\t"#
        default: #"\u{"# + String(scalar.value, radix: 16) + "}"
        }
    }

    private static func jsonEscape(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16)
        return #"\u"# + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
