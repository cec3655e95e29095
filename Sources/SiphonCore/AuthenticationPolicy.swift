// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// libpq's `channel_binding`: whether SCRAM must bind the authentication to the TLS connection, so a server in the
/// middle that terminates TLS cannot relay the exchange ("channel_binding", PostgreSQL docs 34.1.2).
public enum ChannelBindingMode: String, Sendable, Hashable, CaseIterable {
    /// Never use channel binding.
    case disable
    /// Use it when the connection is TLS and the server offers SCRAM-SHA-256-PLUS (the default).
    case prefer
    /// Refuse to authenticate without it: only SCRAM-SHA-256-PLUS over TLS is accepted.
    case require
}

/// libpq's `require_auth`: the authentication methods the client accepts from the server, so a server in the middle
/// cannot ask for a weaker one (for example the password in cleartext).
public struct AuthenticationRequirement: Sendable, Hashable, CustomStringConvertible {
    /// An authentication method, as `require_auth` names it.
    public enum Method: String, Sendable, Hashable, CaseIterable {
        /// `AuthenticationCleartextPassword`.
        case password
        case md5
        case gss
        case sspi
        case scramSHA256 = "scram-sha-256"
        /// The server asks for nothing (`trust`, `peer`, …).
        case none
    }

    /// The methods the server may use.
    public private(set) var allowed: Set<Method>
    /// Whether the user listed methods to accept (`require_auth=password,…`), rather than leaving the default or
    /// excluding some (`!md5`): only an explicit listing of `password` opts in to cleartext over an unverified
    /// connection.
    public private(set) var isExplicitList: Bool

    /// Every method allowed (libpq's default).
    public static let any = Self(allowed: Set(Method.allCases), isExplicitList: false)

    private init(allowed: Set<Method>, isExplicitList: Bool) {
        self.allowed = allowed
        self.isExplicitList = isExplicitList
    }

    /// Parses `password,scram-sha-256` (only these) or `!password,!md5` (anything but these), as libpq does.
    public init(parsing text: String) throws(SiphonError) {
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let negated = items.first?.hasPrefix("!") ?? false
        var listed: Set<Method> = []
        for item in items {
            guard item.hasPrefix("!") == negated else {
                throw SiphonError(
                    .invalidConfiguration,
                    "invalid require_auth '\(text)': negative (!method) and positive methods cannot be mixed")
            }
            guard let method = Method(rawValue: negated ? String(item.dropFirst()) : item) else {
                throw SiphonError(
                    .invalidConfiguration,
                    "invalid require_auth method '\(item)': use "
                        + Method.allCases.map(\.rawValue).joined(separator: ", ") + ", each optionally negated with !")
            }
            guard listed.insert(method).inserted else {
                throw SiphonError(.invalidConfiguration, "invalid require_auth '\(text)': '\(item)' appears twice")
            }
        }
        self.init(allowed: negated ? Set(Method.allCases).subtracting(listed) : listed, isExplicitList: !negated)
    }

    public var description: String {
        Method.allCases.filter { self.allowed.contains($0) }.map(\.rawValue).joined(separator: ",")
    }
}
