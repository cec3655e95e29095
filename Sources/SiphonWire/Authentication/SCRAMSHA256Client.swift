// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Crypto
import SiphonCore

/// The client side of SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802, RFC 7677) as PostgreSQL uses them: the user
/// name travels in the startup message, so the SCRAM `n=` attribute is left empty.
public struct SCRAMSHA256Client: Sendable {
    /// What the client says about channel binding in its GS2 header (RFC 5802 section 7).
    public enum ChannelBinding: Sendable, Equatable {
        /// `n,,`: the client cannot bind (no TLS, or binding disabled).
        case unsupported
        /// `y,,`: the client could bind but the server did not offer SCRAM-SHA-256-PLUS. A server that does
        /// support it then knows its offer was stripped on the way and refuses.
        case supportedButNotOffered
        /// `p=tls-server-end-point,,` with the binding data (`TLSServerEndPoint.bindingData`): SCRAM-SHA-256-PLUS.
        case tlsServerEndPoint([UInt8])
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case malformedServerMessage(String)
        case nonceMismatch
        case serverSignatureMismatch
        case serverError(String)

        public var description: String {
            switch self {
            case .malformedServerMessage(let reason): "malformed SCRAM message from server: \(reason)"
            case .nonceMismatch: "SCRAM server nonce does not extend the client nonce"
            case .serverSignatureMismatch: "SCRAM server signature is wrong: the server does not know the password"
            case .serverError(let error): "SCRAM server error: \(error)"
            }
        }
    }

    private let password: String
    private let channelBinding: ChannelBinding
    private let clientNonce: String
    private var clientFirstBare: String { "n=,r=\(self.clientNonce)" }
    private var expectedServerSignature: [UInt8]?

    /// `nonce` is for tests (RFC 7677's example); by default 24 random bytes, base64.
    public init(password: String, channelBinding: ChannelBinding = .unsupported, nonce: String? = nil) {
        self.password = password
        self.channelBinding = channelBinding
        if let nonce {
            self.clientNonce = nonce
        } else {
            var generator = SystemRandomNumberGenerator()
            self.clientNonce = Base64.encode((0..<18).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }
    }

    /// The SASL mechanism name for `SASLInitialResponse`.
    public var mechanism: String {
        if case .tlsServerEndPoint = self.channelBinding { return "SCRAM-SHA-256-PLUS" }
        return "SCRAM-SHA-256"
    }

    private var gs2Header: String {
        switch self.channelBinding {
        case .unsupported: "n,,"
        case .supportedButNotOffered: "y,,"
        case .tlsServerEndPoint: "p=tls-server-end-point,,"
        }
    }

    /// The `c=` attribute: the GS2 header, followed by the binding data when binding.
    private var channelBindingAttribute: String {
        var input = Array(self.gs2Header.utf8)
        if case .tlsServerEndPoint(let data) = self.channelBinding { input += data }
        return Base64.encode(input)
    }

    /// The `client-first-message`.
    public func clientFirstMessage() -> [UInt8] { Array((self.gs2Header + self.clientFirstBare).utf8) }

    /// Takes the `server-first-message`, returns the `client-final-message` with the proof.
    public mutating func clientFinalMessage(serverFirst: [UInt8]) throws(Failure) -> [UInt8] {
        let serverFirstText = String(decoding: serverFirst, as: UTF8.self)
        let attributes = try Self.attributes(serverFirstText)
        guard let nonce = attributes["r"], let saltText = attributes["s"], let iterationText = attributes["i"] else {
            throw .malformedServerMessage("missing r, s or i in '\(serverFirstText)'")
        }
        guard nonce.hasPrefix(self.clientNonce), nonce.count > self.clientNonce.count else { throw .nonceMismatch }
        guard let salt = Base64.decode(saltText) else { throw .malformedServerMessage("salt is not base64") }
        guard let iterations = Int(iterationText), iterations > 0 else {
            throw .malformedServerMessage("bad iteration count '\(iterationText)'")
        }

        let saltedPassword = Self.pbkdf2SHA256(password: Array(self.password.utf8), salt: salt, iterations: iterations)
        let clientKey = Self.hmac(key: saltedPassword, Array("Client Key".utf8))
        let storedKey = Array(SHA256.hash(data: clientKey))
        let clientFinalWithoutProof = "c=\(self.channelBindingAttribute),r=\(nonce)"
        let authMessage = Array("\(self.clientFirstBare),\(serverFirstText),\(clientFinalWithoutProof)".utf8)
        let clientSignature = Self.hmac(key: storedKey, authMessage)
        let proof = zip(clientKey, clientSignature).map { $0 ^ $1 }
        let serverKey = Self.hmac(key: saltedPassword, Array("Server Key".utf8))
        self.expectedServerSignature = Self.hmac(key: serverKey, authMessage)
        return Array("\(clientFinalWithoutProof),p=\(Base64.encode(proof))".utf8)
    }

    /// Checks the `server-final-message`: the server proves it knew the password too (and, with channel binding,
    /// saw the same TLS certificate, since the binding is part of the signed message).
    public func verify(serverFinal: [UInt8]) throws(Failure) {
        let text = String(decoding: serverFinal, as: UTF8.self)
        let attributes = try Self.attributes(text)
        if let error = attributes["e"] { throw .serverError(error) }
        guard let signatureText = attributes["v"], let signature = Base64.decode(signatureText) else {
            throw .malformedServerMessage("missing server signature in '\(text)'")
        }
        guard let expected = self.expectedServerSignature, signature == expected else { throw .serverSignatureMismatch }
    }

    private static func attributes(_ message: String) throws(Failure) -> [Character: String] {
        var result: [Character: String] = [:]
        for part in message.split(separator: ",") {
            guard part.count >= 2, part.dropFirst().first == "=" else {
                throw .malformedServerMessage("bad attribute '\(part)'")
            }
            result[part.first!] = String(part.dropFirst(2))
        }
        return result
    }

    static func hmac(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: key)))
    }

    /// PBKDF2 with HMAC-SHA-256, one block (SCRAM's `Hi()`): 32 bytes of output.
    static func pbkdf2SHA256(password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        let key = SymmetricKey(data: password)
        var block = Array(HMAC<SHA256>.authenticationCode(for: salt + [0, 0, 0, 1], using: key))
        var result = block
        for _ in 1..<iterations {
            block = Array(HMAC<SHA256>.authenticationCode(for: block, using: key))
            for index in result.indices { result[index] ^= block[index] }
        }
        return result
    }
}

/// md5 password authentication: `"md5" + md5hex(md5hex(password + user) + salt)`.
public enum MD5Password {
    public static func response(user: String, password: String, salt: [UInt8]) -> String {
        let inner = hex(Insecure.MD5.hash(data: Array((password + user).utf8)))
        return "md5" + hex(Insecure.MD5.hash(data: Array(inner.utf8) + salt))
    }

    private static func hex(_ digest: some Sequence<UInt8>) -> String {
        digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

/// Standard base64 (RFC 4648) without Foundation.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = bytes[index]
            let b1 = index + 1 < bytes.count ? bytes[index + 1] : 0
            let b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
            output.append(alphabet[Int(b0 >> 2)])
            output.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            output.append(index + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            output.append(index + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        for byte in text.utf8 {
            if byte == UInt8(ascii: "=") { break }
            guard let value = alphabet.firstIndex(of: byte) else { return nil }
            values.append(UInt8(value))
        }
        guard values.count % 4 != 1 else { return nil }
        var output: [UInt8] = []
        var index = 0
        while index < values.count {
            let chunk = values[index..<min(index + 4, values.count)]
            let v = Array(chunk) + Array(repeating: 0, count: 4 - chunk.count)
            output.append(v[0] << 2 | v[1] >> 4)
            if chunk.count > 2 { output.append((v[1] & 0x0F) << 4 | v[2] >> 2) }
            if chunk.count > 3 { output.append((v[2] & 0x03) << 6 | v[3]) }
            index += 4
        }
        return output
    }
}
