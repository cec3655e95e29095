// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where and how to connect to PostgreSQL, read from a libpq connection string (URL or keywords) and libpq's
/// environment variables.
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
    /// libpq's `hostaddr`: the numeric address to connect to instead of resolving the host name, which still names
    /// the server for `verify-full` and the password file.
    public var hostAddress: String?
    public var user: String
    public var password: String?
    public var database: String
    public var tlsMode: TLSMode
    /// PEM file of trusted certificate authorities for `verify-ca` / `verify-full` (`sslrootcert`).
    public var tlsRootCertificatePath: String?
    public var applicationName: String
    /// Seconds allowed for each phase of connecting: the TCP connect, then TLS, startup and authentication
    /// together. A server that accepts the connection and never answers fails after this long.
    public var connectTimeout: Int
    /// `channel_binding`.
    public var channelBinding: ChannelBindingMode
    /// `require_auth`.
    public var requiredAuthentication: AuthenticationRequirement
    /// TCP keepalives, so a peer that vanished (a cut network, a crashed host) is noticed while Siphon waits.
    public var keepalives: Keepalives

    /// libpq's `keepalives`, `keepalives_idle`, `keepalives_interval` and `keepalives_count`. Siphon's defaults
    /// (probe after 60 s of silence, every 10 s, give up after 6) notice a dead peer within about two minutes,
    /// where the operating system's usual defaults take more than two hours.
    public struct Keepalives: Sendable, Hashable {
        public var enabled: Bool
        /// Seconds of silence before the first probe.
        public var idle: Int
        /// Seconds between probes.
        public var interval: Int
        /// Unanswered probes before the connection counts as dead.
        public var count: Int

        public init(enabled: Bool = true, idle: Int = 60, interval: Int = 10, count: Int = 6) {
            self.enabled = enabled
            self.idle = idle
            self.interval = interval
            self.count = count
        }
    }

    /// Seconds allowed for connecting when `connect_timeout` is not set (or is 0, which in libpq means forever).
    public static let defaultConnectTimeout = 10

    public init(
        endpoint: Endpoint, user: String, password: String? = nil, database: String? = nil,
        tlsMode: TLSMode = .prefer, tlsRootCertificatePath: String? = nil, applicationName: String = "siphon",
        connectTimeout: Int = Self.defaultConnectTimeout, hostAddress: String? = nil,
        channelBinding: ChannelBindingMode = .prefer, requiredAuthentication: AuthenticationRequirement = .any,
        keepalives: Keepalives = Keepalives()
    ) {
        self.endpoint = endpoint
        self.hostAddress = hostAddress
        self.user = user
        self.password = password
        self.database = database ?? user
        self.tlsMode = tlsMode
        self.tlsRootCertificatePath = tlsRootCertificatePath
        self.applicationName = applicationName
        self.connectTimeout = connectTimeout
        self.channelBinding = channelBinding
        self.requiredAuthentication = requiredAuthentication
        self.keepalives = keepalives
    }

    /// Host name to check the server certificate against (`verify-full`), if TCP and a name rather than an
    /// address (an address is checked against the certificate's IP entries instead).
    public var hostName: String? {
        guard case .tcp(let host, _) = self.endpoint, !Self.isIPAddress(host) else { return nil }
        return host
    }

    /// Whether `host` is a literal IPv4 (dotted quad) or IPv6 address rather than a name; `1password.com` and
    /// `0x7f.example` are names.
    public static func isIPAddress(_ host: String) -> Bool {
        var ipv4 = in_addr()
        var ipv6 = in6_addr()
        return inet_pton(AF_INET, host, &ipv4) == 1 || inet_pton(AF_INET6, host, &ipv6) == 1
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
    /// Reads settings from a connection string, a `postgres://` URL or libpq's `key=value` form, falling back to
    /// libpq's environment variables (`PGHOST`, `PGHOSTADDR`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGPASSFILE`,
    /// `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT`, `PGAPPNAME`, `PGCONNECT_TIMEOUT`, `PGCHANNELBINDING`,
    /// `PGREQUIREAUTH`) for whatever it leaves out, then to libpq's defaults. With no string, the environment alone
    /// decides. Without a password, the password file (`passfile`, `PGPASSFILE`, `~/.pgpass`) is consulted.
    public init(url: String?, environment: [String: String]) throws(SiphonError) {
        var values: [String: String] = [:]
        for (keyword, variable) in Self.environmentVariables {
            if let value = environment[variable], !value.isEmpty { values[keyword] = value }
        }
        if let url {
            for (key, value) in try ConnectionString(url).parameters {
                guard Self.keywords.contains(key) else {
                    throw SiphonError(
                        .invalidConfiguration,
                        "unknown connection parameter '\(key)'; supported: \(Self.keywords.sorted().joined(separator: ", "))")
                }
                values[key] = value
            }
        }
        try self.init(keywords: values, environment: environment)
    }

    /// The libpq keywords Siphon understands.
    static let keywords: Set<String> = Set(environmentVariables.map(\.keyword)).union([
        "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
    ])

    private static let environmentVariables: [(keyword: String, variable: String)] = [
        ("host", "PGHOST"), ("hostaddr", "PGHOSTADDR"), ("port", "PGPORT"), ("user", "PGUSER"),
        ("password", "PGPASSWORD"), ("passfile", "PGPASSFILE"), ("dbname", "PGDATABASE"), ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"), ("application_name", "PGAPPNAME"), ("connect_timeout", "PGCONNECT_TIMEOUT"),
        ("channel_binding", "PGCHANNELBINDING"), ("require_auth", "PGREQUIREAUTH"),
    ]

    private init(keywords values: [String: String], environment: [String: String]) throws(SiphonError) {
        let port = try values["port"].map { text throws(SiphonError) in
            try Self.integer(text, keyword: "port", range: 1...65535, expected: "a number from 1 to 65535")
        } ?? 5432
        let hostAddress = values["hostaddr"].flatMap { $0.isEmpty ? nil : $0 }
        if let hostAddress, !Self.isIPAddress(hostAddress) {
            throw SiphonError(
                .invalidConfiguration, "invalid hostaddr '\(hostAddress)': expected a numeric IPv4 or IPv6 address")
        }
        let host = values["host"].flatMap { $0.isEmpty ? nil : $0 } ?? hostAddress ?? Self.defaultSocketDirectory
        let endpoint: Endpoint =
            host.hasPrefix("/") ? .unixSocket(directory: host, port: port) : .tcp(host: host, port: port)

        let mode = try Self.choice(values["sslmode"], keyword: "sslmode", default: TLSMode.prefer)
        let channelBinding = try Self.choice(
            values["channel_binding"], keyword: "channel_binding", default: ChannelBindingMode.prefer)
        let requiredAuthentication = try values["require_auth"].map(AuthenticationRequirement.init(parsing:)) ?? .any
        let timeout = try values["connect_timeout"].map { text throws(SiphonError) in
            try Self.integer(text, keyword: "connect_timeout", range: 0...Int(Int32.max), expected: "whole seconds")
        }
        var keepalives = Keepalives()
        if let enabled = values["keepalives"] {
            keepalives.enabled = try Self.integer(enabled, keyword: "keepalives", range: 0...1, expected: "0 or 1") == 1
        }
        for (keyword, path) in [
            ("keepalives_idle", \Keepalives.idle), ("keepalives_interval", \Keepalives.interval),
            ("keepalives_count", \Keepalives.count),
        ] {
            if let text = values[keyword] {
                keepalives[keyPath: path] = try Self.integer(text, keyword: keyword, range: 1...32767, expected: "a positive number")
            }
        }

        let user = values["user"].flatMap { $0.isEmpty ? nil : $0 } ?? environment["USER"] ?? "postgres"
        let database = values["dbname"].flatMap { $0.isEmpty ? nil : $0 } ?? user
        var password = values["password"].flatMap { $0.isEmpty ? nil : $0 }
        if password == nil, let file = values["passfile"] ?? environment["HOME"].map({ $0 + "/.pgpass" }) {
            password = try PasswordFile.lookUp(
                path: file, host: PasswordFile.hostForLookup(endpoint), port: String(port), database: database,
                user: user)
        }
        self.init(
            endpoint: endpoint, user: user, password: password, database: database, tlsMode: mode,
            tlsRootCertificatePath: values["sslrootcert"], applicationName: values["application_name"] ?? "siphon",
            connectTimeout: timeout.flatMap { $0 == 0 ? nil : $0 } ?? Self.defaultConnectTimeout,
            hostAddress: hostAddress, channelBinding: channelBinding, requiredAuthentication: requiredAuthentication,
            keepalives: keepalives)
    }

    /// A number within `range`; the error repeats the value only when it is a number (a stray value could be part
    /// of a password that a typo moved).
    private static func integer(
        _ text: String, keyword: String, range: ClosedRange<Int>, expected: String
    ) throws(SiphonError) -> Int {
        guard let number = Int(text), range.contains(number) else {
            let shown = text.allSatisfy(\.isNumber) && !text.isEmpty ? " '\(text)'" : ""
            throw SiphonError(.invalidConfiguration, "invalid \(keyword)\(shown): expected \(expected)")
        }
        return number
    }

    private static func choice<Choice: RawRepresentable & CaseIterable>(
        _ text: String?, keyword: String, default value: Choice
    ) throws(SiphonError) -> Choice where Choice.RawValue == String {
        guard let text, !text.isEmpty else { return value }
        guard let choice = Choice(rawValue: text) else {
            throw SiphonError(
                .invalidConfiguration,
                "invalid \(keyword) '\(text)': use one of " + Choice.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return choice
    }

    /// `text` with every password masked, whichever form it takes (a URL's user info, a `password=` parameter or
    /// keyword). Use it for any connection string that goes into an error or a log line.
    public static func redacted(connectionString text: String) -> String {
        ConnectionString.redacted(text)
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

