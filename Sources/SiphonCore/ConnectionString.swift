// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// A libpq connection string, either form, split into libpq's keywords: a `postgres://` URL ("Connection URIs",
/// PostgreSQL docs 34.1.1.2) or `key=value` pairs ("Keyword/Value Connection Strings", 34.1.1.1).
///
/// Errors never repeat a value from the input: a value may be (part of) a password.
struct ConnectionString {
    /// Keywords in the order given; a later one overrides an earlier one, as in libpq.
    var parameters: [(key: String, value: String)] = []

    init(_ text: String) throws(SiphonError) {
        if let scheme = Self.urlScheme(of: text) {
            try self.parseURL(text.utf8.dropFirst(scheme.utf8.count))
        } else if let separator = text.firstRange(of: "://"), !text[..<separator.lowerBound].contains("=") {
            throw SiphonError(
                .invalidConfiguration,
                "malformed connection URL (not shown: it may hold a password): it must start with postgres:// or "
                    + "postgresql://, e.g. postgres://user@localhost:5432/dbname")
        } else if text.contains("=") {
            try self.parseKeywords(Array(text.utf8))
        } else {
            throw SiphonError(
                .invalidConfiguration,
                "malformed connection string (not shown: it may hold a password): use a URL such as "
                    + "postgres://user@localhost:5432/dbname or keywords such as 'host=localhost dbname=app'")
        }
    }

    private static func urlScheme(of text: String) -> String? {
        ["postgresql://", "postgres://"].first { text.hasPrefix($0) }
    }

    // MARK: URL

    /// `scheme://[user[:password]@][host][:port][/dbname][?key=value&…]`. The user info ends at the last `@`
    /// before the query (RFC 3986 wants `/`, `@` and `?` in a password percent-encoded; a `/` or `@` typed as is
    /// stays in the password instead of spilling into the host or database name). An `@` in a database name must
    /// therefore be written `%40`, and a `?` in a password `%3F`.
    private mutating func parseURL(_ rest: Substring.UTF8View) throws(SiphonError) {
        var rest = Array(rest)
        if let questionMark = rest.firstIndex(of: UInt8(ascii: "?")) {
            try self.parseQuery(rest[(questionMark + 1)...])
            rest = Array(rest[..<questionMark])
        }
        var hostAndPath = rest[...]
        var url: [(String, String)] = []
        if let at = rest.lastIndex(of: UInt8(ascii: "@")) {
            let userInfo = rest[..<at]
            if let colon = userInfo.firstIndex(of: UInt8(ascii: ":")) {
                url.append(("user", try Self.percentDecode(userInfo[..<colon], part: "user name")))
                url.append(("password", try Self.percentDecode(userInfo[(colon + 1)...], part: "password")))
            } else if !userInfo.isEmpty {
                url.append(("user", try Self.percentDecode(userInfo, part: "user name")))
            }
            hostAndPath = rest[(at + 1)...]
        }
        var hostPort = hostAndPath
        if let slash = hostAndPath.firstIndex(of: UInt8(ascii: "/")) {
            let path = hostAndPath[(slash + 1)...]
            if !path.isEmpty { url.append(("dbname", try Self.percentDecode(path, part: "database name"))) }
            hostPort = hostAndPath[..<slash]
        }
        if hostPort.first == UInt8(ascii: "[") {
            guard let close = hostPort.firstIndex(of: UInt8(ascii: "]")) else {
                throw SiphonError(.invalidConfiguration, "malformed URL host: missing ']' after the IPv6 address")
            }
            url.append(("host", String(decoding: hostPort[(hostPort.startIndex + 1)..<close], as: UTF8.self)))
            let after = hostPort[(close + 1)...]
            if after.first == UInt8(ascii: ":"), after.count > 1 {
                url.append(("port", String(decoding: after.dropFirst(), as: UTF8.self)))
            } else if !after.isEmpty && after.first != UInt8(ascii: ":") {
                throw SiphonError(.invalidConfiguration, "malformed URL host: expected ':port' after ']'")
            }
        } else {
            var host = hostPort
            if let colon = hostPort.lastIndex(of: UInt8(ascii: ":")) {
                host = hostPort[..<colon]
                let port = hostPort[(colon + 1)...]
                if !port.isEmpty { url.append(("port", String(decoding: port, as: UTF8.self))) }
            }
            if !host.isEmpty { url.append(("host", try Self.percentDecode(host, part: "host"))) }
        }
        // Query parameters override the parts of the URL, whatever their order in the text.
        self.parameters.insert(contentsOf: url.map { (key: $0.0, value: $0.1) }, at: 0)
    }

    private mutating func parseQuery(_ query: ArraySlice<UInt8>) throws(SiphonError) {
        for pair in query.split(separator: UInt8(ascii: "&")) {
            guard let equals = pair.firstIndex(of: UInt8(ascii: "=")) else {
                throw SiphonError(
                    .invalidConfiguration, "malformed URL parameter: expected key=value after '?' and between '&'")
            }
            let key = try Self.percentDecode(pair[..<equals], part: "parameter name")
            self.parameters.append((key, try Self.percentDecode(pair[(equals + 1)...], part: "parameter '\(key)'")))
        }
    }

    private static func percentDecode(_ text: ArraySlice<UInt8>, part: String) throws(SiphonError) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count)
        var index = text.startIndex
        while index < text.endIndex {
            let byte = text[index]
            if byte == UInt8(ascii: "%") {
                guard let high = hexValue(text[safe: index + 1]), let low = hexValue(text[safe: index + 2])
                else {
                    throw SiphonError(
                        .invalidConfiguration,
                        "malformed percent-encoding in the connection URL's \(part): '%' must be followed by two hex digits")
                }
                bytes.append(high << 4 | low)
                index += 3
            } else {
                bytes.append(byte)
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8?) -> UInt8? {
        switch byte {
        case .some(let digit) where (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit): digit - UInt8(ascii: "0")
        case .some(let letter) where (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(letter): letter - UInt8(ascii: "a") + 10
        case .some(let letter) where (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(letter): letter - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    // MARK: Keywords

    /// libpq's `conninfo_parse`: `key = value` separated by white space; a value is either unquoted (ends at white
    /// space) or in single quotes; a backslash takes the next character literally in both.
    private mutating func parseKeywords(_ text: [UInt8]) throws(SiphonError) {
        var index = 0
        func skipSpace() { while index < text.count, Self.isSpace(text[index]) { index += 1 } }
        while true {
            skipSpace()
            guard index < text.count else { return }
            let keyStart = index
            while index < text.count, text[index] != UInt8(ascii: "="), !Self.isSpace(text[index]) { index += 1 }
            let key = String(decoding: text[keyStart..<index], as: UTF8.self)
            skipSpace()
            guard index < text.count, text[index] == UInt8(ascii: "=") else {
                throw SiphonError(
                    .invalidConfiguration,
                    "malformed connection string: missing '=' after a keyword (write key=value pairs separated by "
                        + "spaces, and quote values that contain spaces: password='a b')")
            }
            index += 1
            skipSpace()
            var value: [UInt8] = []
            if index < text.count, text[index] == UInt8(ascii: "'") {
                index += 1
                while true {
                    guard index < text.count else {
                        throw SiphonError(
                            .invalidConfiguration,
                            "malformed connection string: unterminated quoted value for keyword '\(key)'")
                    }
                    let byte = text[index]
                    index += 1
                    if byte == UInt8(ascii: "'") { break }
                    if byte == UInt8(ascii: "\\"), index < text.count {
                        value.append(text[index])
                        index += 1
                    } else {
                        value.append(byte)
                    }
                }
            } else {
                while index < text.count, !Self.isSpace(text[index]) {
                    if text[index] == UInt8(ascii: "\\"), index + 1 < text.count { index += 1 }
                    value.append(text[index])
                    index += 1
                }
            }
            self.parameters.append((key, String(decoding: value, as: UTF8.self)))
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || (9...13).contains(byte)
    }

    // MARK: Masking

    /// The connection string with every password replaced by `***`, in either form: the user info of a URL, a
    /// `password=` URL parameter, and a `password=` keyword (quoted or not). The one masking function: every error
    /// and log line that shows a connection string goes through it. It also masks URLs and keywords inside a longer
    /// text (an error message that quotes a config file line), where a URL ends at white space or a quote.
    static func redacted(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        let isURL = Self.urlScheme(of: text) != nil
        let keyword = Array("password".utf8)
        var index = 0
        while index < bytes.count {
            let atBoundary = index == 0 || [UInt8(ascii: "?"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "\"")]
                .contains(bytes[index - 1]) || Self.isSpace(bytes[index - 1])
            if atBoundary, let scheme = ["postgresql://", "postgres://"].first(where: { bytes[index...].starts(with: $0.utf8) }) {
                // A whole-text URL may hold white space in its password; one inside a message ends at white space.
                let isWholeText = isURL && index == 0
                index += scheme.utf8.count
                output += scheme.utf8
                let end =
                    isWholeText
                    ? bytes.count
                    : bytes[index...].firstIndex { Self.isSpace($0) || $0 == UInt8(ascii: "'") || $0 == UInt8(ascii: "\"") }
                        ?? bytes.count
                if let at = bytes[index..<end].lastIndex(of: UInt8(ascii: "@")),
                    let colon = bytes[index..<at].firstIndex(of: UInt8(ascii: ":"))
                {
                    output += bytes[index...colon] + Array("***".utf8)
                    index = at
                }
                continue
            }
            guard atBoundary, bytes[index...].starts(with: keyword) else {
                output.append(bytes[index])
                index += 1
                continue
            }
            var cursor = index + keyword.count
            while cursor < bytes.count, Self.isSpace(bytes[cursor]) { cursor += 1 }
            guard cursor < bytes.count, bytes[cursor] == UInt8(ascii: "=") else {
                output.append(bytes[index])
                index += 1
                continue
            }
            cursor += 1
            while cursor < bytes.count, !isURL, Self.isSpace(bytes[cursor]) { cursor += 1 }
            output += bytes[index..<cursor] + Array("***".utf8)
            index = Self.endOfValue(bytes, from: cursor, isURL: isURL)
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func endOfValue(_ bytes: [UInt8], from start: Int, isURL: Bool) -> Int {
        var index = start
        if isURL {
            while index < bytes.count, bytes[index] != UInt8(ascii: "&") { index += 1 }
            return index
        }
        let quoted = index < bytes.count && bytes[index] == UInt8(ascii: "'")
        if quoted { index += 1 }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") {
                index += 2
                continue
            }
            if quoted ? byte == UInt8(ascii: "'") : Self.isSpace(byte) { return quoted ? index + 1 : index }
            index += 1
        }
        return bytes.count
    }
}

extension ArraySlice {
    fileprivate subscript(safe index: Index) -> Element? {
        self.indices.contains(index) ? self[index] : nil
    }
}
