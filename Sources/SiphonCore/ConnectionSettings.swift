// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// Where and how to connect to PostgreSQL, read from a `postgres://` URL and libpq's environment variables.
public struct ConnectionSettings: Sendable, Hashable, CustomStringConvertible {
    /// TCP host name / address, or a Unix socket.
    public enum Endpoint: Sendable, Hashable {
        case tcp(host: String, port: Int)
        /// A Unix-domain socket: the directory holding `.s.PGSQL.<port>`.
        case unixSocket(directory: String, port: Int)

        /// The socket file path for `.unixSocket`.
        public var socketPath: String? {
            guard case .unixSocket(let directory, let port) = self else { return nil }
            return directory + "/.s.PGSQL.\(port)"
        }
    }

    /// libpq's `sslmode`, with the same meaning.
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var endpoint: Endpoint
    public var user: String
    public var password: String?
    public var database: String
    public var tlsMode: TLSMode
    /// PEM file of trusted certificate authorities for `verify-ca` / `verify-full` (`sslrootcert`).
    public var tlsRootCertificatePath: String?
    public var applicationName: String
    /// Seconds to wait for the connection and authentication.
    public var connectTimeout: Int

    public init(
        endpoint: Endpoint, user: String, password: String? = nil, database: String? = nil,
        tlsMode: TLSMode = .prefer, tlsRootCertificatePath: String? = nil, applicationName: String = "siphon",
        connectTimeout: Int = 10
    ) {
        self.endpoint = endpoint
        self.user = user
        self.password = password
        self.database = database ?? user
        self.tlsMode = tlsMode
        self.tlsRootCertificatePath = tlsRootCertificatePath
        self.applicationName = applicationName
        self.connectTimeout = connectTimeout
    }

    /// Host name to check the server certificate against (`verify-full`), if TCP.
    public var hostName: String? {
        if case .tcp(let host, _) = self.endpoint { return host }
        return nil
    }

    /// A URL that is safe to log: the password is replaced by `***`.
    public var description: String {
        var text = "postgres://" + Self.percentEncode(self.user)
        if self.password != nil { text += ":***" }
        switch self.endpoint {
        case .tcp(let host, let port):
            text += "@" + (host.contains(":") ? "[\(host)]" : host) + ":\(port)/" + Self.percentEncode(self.database)
            text += "?sslmode=" + self.tlsMode.rawValue
        case .unixSocket(let directory, let port):
            text += "@/" + Self.percentEncode(self.database) + "?host=" + Self.percentEncode(directory)
            text += "&port=\(port)"
        }
        return text
    }
}

extension ConnectionSettings {
    /// Reads settings from a connection URL, falling back to libpq's environment variables (`PGHOST`, `PGPORT`,
    /// `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT`, `PGAPPNAME`, `PGCONNECT_TIMEOUT`) for
    /// whatever the URL leaves out, then to libpq's defaults. With no URL, the environment alone decides.
    public init(url: String?, environment: [String: String]) throws(SiphonError) {
        var host = environment["PGHOST"].flatMap { $0.isEmpty ? nil : $0 }
        var port = environment["PGPORT"].flatMap { $0.isEmpty ? nil : $0 }
        var user = environment["PGUSER"].flatMap { $0.isEmpty ? nil : $0 }
        var password = environment["PGPASSWORD"]
        var database = environment["PGDATABASE"].flatMap { $0.isEmpty ? nil : $0 }
        var sslMode = environment["PGSSLMODE"].flatMap { $0.isEmpty ? nil : $0 }
        var rootCertificate = environment["PGSSLROOTCERT"].flatMap { $0.isEmpty ? nil : $0 }
        var applicationName = environment["PGAPPNAME"].flatMap { $0.isEmpty ? nil : $0 }
        var connectTimeout = environment["PGCONNECT_TIMEOUT"].flatMap { $0.isEmpty ? nil : $0 }

        if let url {
            let parsed = try ParsedURL(url)
            host = parsed.host ?? host
            port = parsed.port ?? port
            user = parsed.user ?? user
            password = parsed.password ?? password
            database = parsed.database ?? database
            for (key, value) in parsed.query {
                switch key {
                case "host": host = value
                case "port": port = value
                case "user": user = value
                case "password": password = value
                case "dbname": database = value
                case "sslmode": sslMode = value
                case "sslrootcert": rootCertificate = value
                case "application_name": applicationName = value
                case "connect_timeout": connectTimeout = value
                default:
                    throw SiphonError(
                        .invalidConfiguration,
                        "unknown connection URL parameter '\(key)'; supported: host, port, user, password, dbname, "
                            + "sslmode, sslrootcert, application_name, connect_timeout")
                }
            }
        }

        let portNumber: Int
        if let port {
            guard let number = Int(port), (1...65535).contains(number) else {
                throw SiphonError(.invalidConfiguration, "invalid port '\(port)': expected a number from 1 to 65535")
            }
            portNumber = number
        } else {
            portNumber = 5432
        }
        let resolvedHost = host ?? Self.defaultSocketDirectory
        let endpoint: Endpoint =
            resolvedHost.hasPrefix("/")
            ? .unixSocket(directory: resolvedHost, port: portNumber)
            : .tcp(host: resolvedHost, port: portNumber)

        let mode: TLSMode
        if let sslMode {
            guard let known = TLSMode(rawValue: sslMode) else {
                throw SiphonError(
                    .invalidConfiguration,
                    "invalid sslmode '\(sslMode)': use one of "
                        + TLSMode.allCases.map(\.rawValue).joined(separator: ", "))
            }
            mode = known
        } else {
            mode = .prefer
        }
        let timeout: Int
        if let connectTimeout {
            guard let seconds = Int(connectTimeout), seconds >= 0 else {
                throw SiphonError(.invalidConfiguration, "invalid connect_timeout '\(connectTimeout)': expected seconds")
            }
            timeout = seconds == 0 ? 10 : seconds
        } else {
            timeout = 10
        }
        let resolvedUser = user ?? environment["USER"] ?? "postgres"
        self.init(
            endpoint: endpoint, user: resolvedUser, password: password, database: database ?? resolvedUser,
            tlsMode: mode, tlsRootCertificatePath: rootCertificate, applicationName: applicationName ?? "siphon",
            connectTimeout: timeout)
    }

    /// Debian's libpq looks for the server's socket here when no host is given.
    public static let defaultSocketDirectory = "/var/run/postgresql"

    static func percentEncode(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"), UInt8(ascii: "/"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                output += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xF, radix: 16, uppercase: true)
            }
        }
        return output
    }
}

/// The pieces of `postgres://user:password@host:port/database?key=value`, percent-decoded.
private struct ParsedURL {
    var user: String?
    var password: String?
    var host: String?
    var port: String?
    var database: String?
    var query: [(String, String)] = []

    init(_ url: String) throws(SiphonError) {
        let schemes = ["postgresql://", "postgres://"]
        guard let scheme = schemes.first(where: { url.hasPrefix($0) }) else {
            throw SiphonError(
                .invalidConfiguration,
                "malformed connection URL '\(Self.redacted(url))': it must start with postgres:// or postgresql://, "
                    + "e.g. postgres://user:password@localhost:5432/dbname")
        }
        var rest = Substring(url.dropFirst(scheme.count))
        if let questionMark = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: questionMark)...].split(separator: "&") where !pair.isEmpty {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw SiphonError(.invalidConfiguration, "malformed URL parameter '\(pair)': expected key=value")
                }
                self.query.append((try Self.decode(parts[0]), try Self.decode(parts[1])))
            }
            rest = rest[..<questionMark]
        }
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty { self.database = try Self.decode(path) }
            rest = rest[..<slash]
        }
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            if let colon = credentials.firstIndex(of: ":") {
                self.user = try Self.decode(credentials[..<colon])
                self.password = try Self.decode(credentials[credentials.index(after: colon)...])
            } else if !credentials.isEmpty {
                self.user = try Self.decode(credentials)
            }
            rest = rest[rest.index(after: at)...]
        }
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw SiphonError(.invalidConfiguration, "malformed URL host '\(rest)': missing ']' after IPv6 address")
            }
            self.host = String(rest[rest.index(after: rest.startIndex)..<close])
            let afterHost = rest[rest.index(after: close)...]
            if afterHost.hasPrefix(":") { self.port = String(afterHost.dropFirst()) }
        } else if let colon = rest.lastIndex(of: ":") {
            if colon != rest.startIndex { self.host = try Self.decode(rest[..<colon]) }
            self.port = String(rest[rest.index(after: colon)...])
        } else if !rest.isEmpty {
            self.host = try Self.decode(rest)
        }
        if let port, port.isEmpty { self.port = nil }
    }

    static func decode(_ text: some StringProtocol) throws(SiphonError) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else {
                    throw SiphonError(.invalidConfiguration, "malformed percent-encoding in connection URL")
                }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The URL with any password masked, for error messages.
    static func redacted(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@"), let schemeEnd = url.firstRange(of: "://")?.upperBound,
            schemeEnd <= at, let colon = url[schemeEnd..<at].firstIndex(of: ":")
        else { return url }
        return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
    }
}
