// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Crypto

/// The `tls-server-end-point` channel binding (RFC 5929 section 4): the hash of the server certificate, so SCRAM
/// proves the client and the server see the same certificate, which a server in the middle cannot arrange.
public enum TLSServerEndPoint {
    /// The binding data: the certificate's DER bytes hashed with its signature algorithm's hash, where MD5 and
    /// SHA-1 become SHA-256 (RFC 5929 section 4.1). `nil` when that hash is not one function Siphon has (Ed25519,
    /// RSASSA-PSS, SHA-224, or a certificate it cannot read); SCRAM then runs without channel binding.
    public static func bindingData(certificateDER: [UInt8]) -> [UInt8]? {
        guard let oid = Self.signatureAlgorithm(certificateDER: certificateDER) else { return nil }
        switch oid {
        case Self.md5WithRSA, Self.sha1WithRSA, Self.sha256WithRSA, Self.ecdsaWithSHA1, Self.ecdsaWithSHA256,
            Self.dsaWithSHA1, Self.dsaWithSHA256:
            return Array(SHA256.hash(data: certificateDER))
        case Self.sha384WithRSA, Self.ecdsaWithSHA384:
            return Array(SHA384.hash(data: certificateDER))
        case Self.sha512WithRSA, Self.ecdsaWithSHA512:
            return Array(SHA512.hash(data: certificateDER))
        default:
            return nil
        }
    }

    // Object identifier contents (DER, without tag and length) of the signature algorithms with one hash.
    static let md5WithRSA: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x04]
    static let sha1WithRSA: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x05]
    static let sha256WithRSA: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B]
    static let sha384WithRSA: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0C]
    static let sha512WithRSA: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0D]
    static let ecdsaWithSHA1: [UInt8] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x01]
    static let ecdsaWithSHA256: [UInt8] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02]
    static let ecdsaWithSHA384: [UInt8] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03]
    static let ecdsaWithSHA512: [UInt8] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x04]
    static let dsaWithSHA1: [UInt8] = [0x2A, 0x86, 0x48, 0xCE, 0x38, 0x04, 0x03]
    static let dsaWithSHA256: [UInt8] = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x02]

    /// The OID of `Certificate.signatureAlgorithm` (RFC 5280 section 4.1:
    /// `SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm SEQUENCE { OID, … }, signatureValue BIT STRING }`).
    static func signatureAlgorithm(certificateDER bytes: [UInt8]) -> [UInt8]? {
        guard let certificate = Self.element(in: bytes[...], tag: 0x30),
            let tbs = Self.element(in: certificate.contents, tag: 0x30),
            let algorithm = Self.element(in: certificate.contents[tbs.end...], tag: 0x30),
            let oid = Self.element(in: algorithm.contents, tag: 0x06)
        else { return nil }
        return Array(oid.contents)
    }

    /// The DER element at the start of `bytes` if it has `tag`: its contents and where it ends.
    private static func element(
        in bytes: ArraySlice<UInt8>, tag: UInt8
    ) -> (contents: ArraySlice<UInt8>, end: Int)? {
        var index = bytes.startIndex
        guard index + 1 < bytes.endIndex, bytes[index] == tag else { return nil }
        index += 1
        var length = Int(bytes[index])
        index += 1
        if length & 0x80 != 0 {
            let count = length & 0x7F
            guard (1...4).contains(count), index + count <= bytes.endIndex else { return nil }
            length = bytes[index..<(index + count)].reduce(0) { $0 << 8 | Int($1) }
            index += count
        }
        guard length <= bytes.endIndex - index else { return nil }
        return (bytes[index..<(index + length)], index + length)
    }
}
