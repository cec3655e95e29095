// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Crypto

/// The HMAC-SHA256 the notify trigger appends to each payload, so a listener can tell a genuine change from one that
/// any role that can connect sent with `pg_notify`.
///
/// The trigger function (`SECURITY DEFINER`) reads the channel's key from a table only its owner can read, computes
/// `HMAC-SHA256(key, payload)` over the UTF-8 bytes of the payload's `jsonb` text, and sends that text with
/// `, "mac": "<64 hex digits>"` inserted before its closing brace. A listener that holds the key removes the member
/// again and checks the code. Pure: no I/O.
enum NotificationSignature {
    /// Key length in bytes: SHA-256's block size, so the SQL side needs no key hashing or padding.
    static let keyLength = 64
    static let memberPrefix = #", "mac": ""#
    static let memberSuffix = #""}"#
    static let codeLength = 64

    /// What checking a notification found.
    enum Verdict: Equatable {
        /// The code matches: `payload` is what the trigger signed.
        case authentic(payload: String)
        /// The notification carries no code.
        case unsigned
        /// It carries a code that does not match.
        case forged
    }

    /// The signed text the trigger sends for `payload` (a `jsonb` object's text) under `key`.
    static func sign(_ payload: String, key: [UInt8]) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array(payload.utf8), using: SymmetricKey(data: key))
        return String(payload.dropLast()) + Self.memberPrefix + Self.hex(Array(code)) + Self.memberSuffix
    }

    /// Checks `text` as received on a channel whose key is `key`; the comparison takes the same time wherever the
    /// codes differ.
    static func verify(_ text: String, key: [UInt8]) -> Verdict {
        let bytes = Array(text.utf8)
        let prefix = Array(Self.memberPrefix.utf8)
        let suffix = Array(Self.memberSuffix.utf8)
        let tail = prefix.count + Self.codeLength + suffix.count
        guard bytes.count > tail, bytes[(bytes.count - tail)...].starts(with: prefix),
            bytes.suffix(suffix.count).elementsEqual(suffix),
            let code = Self.bytes(fromHex: bytes[(bytes.count - tail + prefix.count)...].prefix(Self.codeLength))
        else { return .unsigned }
        let payload = Array(bytes[..<(bytes.count - tail)]) + [UInt8(ascii: "}")]
        guard HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: payload, using: SymmetricKey(data: key))
        else { return .forged }
        return .authentic(payload: String(decoding: payload, as: UTF8.self))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Lower-case hex digits (as `encode(…, 'hex')` writes them) to bytes; `nil` for anything else.
    static func bytes(fromHex text: some Collection<UInt8>) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        func value(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
            default: return nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count / 2)
        var iterator = text.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            guard let high = value(high), let low = value(low) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }
}
