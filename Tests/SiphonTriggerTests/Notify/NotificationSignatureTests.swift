// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import Testing

@testable import SiphonTrigger

@Suite struct NotificationSignatureTests {
    let key = Array(0..<64).map { UInt8($0 * 3 % 256) }
    let payload = #"{"op": "insert", "key": {"id": 1}, "new": {"id": 1, "note": "é\u0600'"}, "old": null}"#

    @Test func aSignedPayloadVerifies() {
        let signed = NotificationSignature.sign(self.payload, key: self.key)
        #expect(signed.hasPrefix(String(self.payload.dropLast()) + #", "mac": ""#))
        #expect(NotificationSignature.verify(signed, key: self.key) == .authentic(payload: self.payload))
    }

    @Test func aPayloadWithoutCodeIsUnsigned() {
        #expect(NotificationSignature.verify(self.payload, key: self.key) == .unsigned)
        #expect(NotificationSignature.verify("", key: self.key) == .unsigned)
        let signed = NotificationSignature.sign(self.payload, key: self.key)
        #expect(NotificationSignature.verify(signed.uppercased(), key: self.key) == .unsigned)
        #expect(NotificationSignature.verify(String(signed.dropLast(3)) + "\"}", key: self.key) == .unsigned)
    }

    @Test func anAlteredPayloadOrAnotherKeyIsForged() {
        let signed = NotificationSignature.sign(self.payload, key: self.key)
        let altered = signed.replacingOccurrences(of: #"{"id": 1}"#, with: #"{"id": 2}"#)
        #expect(NotificationSignature.verify(altered, key: self.key) == .forged)
        var otherKey = self.key
        otherKey[0] ^= 1
        #expect(NotificationSignature.verify(signed, key: otherKey) == .forged)
    }
}
