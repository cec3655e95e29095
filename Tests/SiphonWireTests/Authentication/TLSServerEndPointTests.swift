// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonWire
import Testing

@Suite struct TLSServerEndPointTests {
    /// The smallest certificate-shaped DER: `SEQUENCE { SEQUENCE {}, SEQUENCE { OID, NULL }, BIT STRING }`.
    /// Expected hashes computed independently with Python's hashlib.
    @Test func sha384SignedCertificateIsHashedWithSHA384() throws {
        let der = try ByteBuffer(plainHexEncodedBytes: "30143000300d06092a864886f70d01010c0500030100")
        #expect(TLSServerEndPoint.bindingData(certificateDER: Array(buffer: der))
            == Array(buffer: try ByteBuffer(plainHexEncodedBytes:
                "4316b10e425608d80b59a0f45542b7761902134f4f1f3e715b11a1faa1e09ffb57c148164bf910c8cd7329f9f7f66db1")))
    }

    @Test func sha1SignedCertificateIsHashedWithSHA256() throws {
        let der = try ByteBuffer(plainHexEncodedBytes: "30143000300d06092a864886f70d0101050500030100")
        #expect(TLSServerEndPoint.bindingData(certificateDER: Array(buffer: der))
            == Array(buffer: try ByteBuffer(plainHexEncodedBytes:
                "93c0a65cddbcf93a665d519353e79a0a33a239eadb84189658ad6928cbbb4e04")))
    }

    @Test func ed25519AndGarbageHaveNoBinding() throws {
        let ed25519 = try ByteBuffer(plainHexEncodedBytes: "300e3000300706032b65700500030100")
        #expect(TLSServerEndPoint.bindingData(certificateDER: Array(buffer: ed25519)) == nil)
        #expect(TLSServerEndPoint.bindingData(certificateDER: [0x30, 0x82, 0xFF]) == nil)
        #expect(TLSServerEndPoint.bindingData(certificateDER: []) == nil)
    }
}
