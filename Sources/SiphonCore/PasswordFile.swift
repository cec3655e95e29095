// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// libpq's password file ("The Password File", PostgreSQL docs 34.16): lines of
/// `hostname:port:database:username:password`, where each of the first four fields may be `*` (matches anything),
/// `\:` and `\\` stand for `:` and `\`, and lines starting with `#` are comments. The first matching line wins.
public enum PasswordFile {
    /// The host name a password-file line must name: libpq matches `localhost` for a missing host and for the
    /// default socket directory, and the literal value otherwise.
    static func hostForLookup(_ endpoint: ConnectionSettings.Endpoint) -> String {
        switch endpoint {
        case .tcp(let host, _): host
        case .unixSocket(let directory, _): directory == ConnectionSettings.defaultSocketDirectory ? "localhost" : directory
        }
    }

    /// The password of the first line that matches, or `nil`.
    public static func password(
        in text: String, host: String, port: String, database: String, user: String
    ) -> String? {
        for line in text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline) {
            guard !line.hasPrefix("#") else { continue }
            let fields = Self.fields(of: Array(line.utf8))
            guard fields.count >= 5 else { continue }
            let matches = zip(fields.prefix(4), [host, port, database, user]).allSatisfy { field, wanted in
                field.raw == Array("*".utf8) || field.unescaped == Array(wanted.utf8)
            }
            if matches { return String(decoding: fields[4].unescaped, as: UTF8.self) }
        }
        return nil
    }

    /// Fields split at unescaped `:`, each raw (to tell the `*` wildcard from an escaped `\*`) and unescaped.
    private static func fields(of line: [UInt8]) -> [(raw: [UInt8], unescaped: [UInt8])] {
        var fields: [(raw: [UInt8], unescaped: [UInt8])] = [([], [])]
        var index = 0
        while index < line.count {
            let byte = line[index]
            if byte == UInt8(ascii: "\\"), index + 1 < line.count {
                fields[fields.count - 1].raw += [byte, line[index + 1]]
                fields[fields.count - 1].unescaped.append(line[index + 1])
                index += 2
                continue
            }
            if byte == UInt8(ascii: ":") {
                fields.append(([], []))
            } else {
                fields[fields.count - 1].raw.append(byte)
                fields[fields.count - 1].unescaped.append(byte)
            }
            index += 1
        }
        return fields
    }

    /// Looks the password up in the file at `path`. A missing file (or one that is not a regular file) has no
    /// password, as in libpq. A file others may read is refused, as libpq refuses it, but with an error instead of
    /// libpq's warning, and only when it holds a matching line, so the fix is obvious.
    static func lookUp(
        path: String, host: String, port: String, database: String, user: String
    ) throws(SiphonError) -> String? {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & 0o170000 == 0o100000 else { return nil }  // S_IFREG
        guard let text = Self.readFile(path),
            let password = Self.password(in: text, host: host, port: port, database: database, user: user)
        else { return nil }
        guard status.st_mode & 0o077 == 0 else {  // S_IRWXG | S_IRWXO
            throw SiphonError(
                .invalidConfiguration,
                "the password file \(path) has group or world access, so it is not used (as libpq does not); "
                    + "permissions should be u=rw (0600) or less: chmod 600 \(path)")
        }
        return password
    }

    private static func readFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
