// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import NIOPosix
import SiphonCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed connection in libpq's words, so it reads like what psql says for the same mistake (and what a search
/// for the message finds), not like NIO's internals: `connection to server at "db", port 5432 failed: Connection
/// refused. Is the server running on that host and accepting TCP/IP connections?`
enum ConnectionFailureText {
    /// The sentence for `error` when it is one of the socket-level failures libpq names; `nil` for anything else.
    static func describe(_ error: any Error, settings: ConnectionSettings) -> String? {
        switch settings.endpoint {
        case .tcp(let host, let port):
            let server = "connection to server at \"\(settings.hostAddress ?? host)\", port \(port) failed"
            if let error = error as? NIOConnectionError {
                if let failure = error.connectionErrors.first {
                    return Self.describe(failure.error, server: server, hint: Self.tcpHint, settings: settings)
                }
                if let unknown = (error.dnsAError ?? error.dnsAAAAError) as? SocketAddressError.UnknownHost {
                    return Self.unknownHost(unknown)
                }
                return nil
            }
            if let unknown = error as? SocketAddressError.UnknownHost { return Self.unknownHost(unknown) }
            return Self.describe(error, server: server, hint: Self.tcpHint, settings: settings)
        case .unixSocket:
            let server = "connection to server on socket \"\(settings.endpoint.socketPath ?? "?")\" failed"
            return Self.describe(
                error, server: server,
                hint: "Is the server running locally and accepting connections on that socket?", settings: settings)
        }
    }

    private static let tcpHint = "Is the server running on that host and accepting TCP/IP connections?"

    private static func describe(
        _ error: any Error, server: String, hint: String, settings: ConnectionSettings
    ) -> String? {
        if let error = error as? ChannelError, case .connectTimeout = error {
            return "\(server): timeout expired (connect_timeout=\(settings.connectTimeout) s)"
        }
        guard let error = error as? IOError else { return nil }
        let reason = String(cString: strerror(error.errnoCode))
        switch error.errnoCode {
        case ECONNREFUSED, ENOENT: return "\(server): \(reason). \(hint)"
        default: return "\(server): \(reason)"
        }
    }

    private static func unknownHost(_ error: SocketAddressError.UnknownHost) -> String {
        "could not translate host name \"\(error.host)\" to address: \(error.errorDescription)"
    }
}
