// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import Testing

@testable import SiphonPgOutput

/// Malformed bytes are a `ValueDecodingError`, never a crash, and whatever renders is well-formed JSON.
@Suite struct ValueDecodingRobustnessTests {
    private let renderer = ValueRenderer()

    /// A small deterministic generator (xorshift64*), so a failure reproduces.
    private struct Generator: RandomNumberGenerator {
        var state: UInt64

        mutating func next() -> UInt64 {
            self.state ^= self.state >> 12
            self.state ^= self.state << 25
            self.state ^= self.state >> 27
            return self.state &* 0x2545_F491_4F6C_DD1D
        }
    }

    private static let builtinOIDs: [UInt32] = (0..<10_000).filter { BuiltinTypes.valueType(for: $0) != nil }

    private func isWellFormedJSON(_ json: String) -> Bool {
        var output = ""
        var json = json
        return json.withUTF8 { JSONNormalizer.append(UnsafeRawBufferPointer($0), to: &output) } == .normalized
    }

    @Test func malformedValuesAreErrors() {
        let text: [(UInt32, String)] = [
            (23, "12a"), (21, "40000"), (20, "99999999999999999999"), (16, "yes"), (1700, "1e5"), (1700, "--1"),
            (701, "one"), (1184, "2026-13-01 00:00:00+00"), (1184, "2026-11-21T23:00:00+00"), (1114, "infinity BC"),
            (1082, "21/11/2026"), (1083, "25:00:00"), (1266, "12:00:00"), (1186, "P1Y2M"), (1186, "1 fortnight"),
            (1007, "{1,2"), (1007, "{{1},{2,3}}"), (1007, "[3:1]={1}"), (1007, "[1:2]={1}"), (1009, "{\"open}"),
            (3904, "[1,2"), (3904, "[1,x)"), (4451, "{[1,2),"), (2950, "not-a-uuid"), (869, "1.2.3.4/33"),
            (869, "1::2::3"), (829, "08:00:2b:01:02"), (790, "12.34"), (1560, "10201"), (17, "\\x0"), (3614, "'open"),
            (600, "(1,2,3)"), (718, "<(1,2)>"),
        ]
        for (oid, value) in text {
            #expect(throws: ValueDecodingError.self, "text \(value) as \(oid)") {
                try renderer.json(of: ByteBuffer(string: value), format: .text, typeOID: oid)
            }
        }
        let binary: [(UInt32, [UInt8])] = [
            (23, [0, 1, 2]), (20, []), (16, [1, 1]), (1700, [0, 1, 0, 0, 0, 0, 0, 0]), (1700, [0, 0, 0, 0, 0x12, 0, 0, 0]),
            (1700, [0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10]), (1007, [0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 23]),
            (1007, [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1]),
            (869, [2, 33, 0, 4, 1, 2, 3, 4]), (869, [3, 8, 0, 4, 1, 2, 3, 4]), (3802, [2, 0x7B, 0x7D]),
            (3904, [0x02, 0, 0, 0, 4, 0, 0]), (1560, [0, 0, 0, 9, 0xFF]), (3615, [0, 0, 0, 1, 2, 9]),
            (3614, [0, 0, 0, 1, 0x61]), (602, [1, 0, 0, 0, 2, 0]),
        ]
        for (oid, bytes) in binary {
            #expect(throws: ValueDecodingError.self, "binary \(bytes) as \(oid)") {
                try renderer.json(of: ByteBuffer(bytes: bytes), format: .binary, typeOID: oid)
            }
        }
    }

    @Test func arbitraryBytesNeverCrashAnyDecoder() {
        var generator = Generator(state: 0x5349_5048_4F4E)
        let alphabet = Array("{}()[]<>,;:\"\\' .-+eE0123456789abcdefxNULInfinityaNBC/T=>$@\t\n".utf8)
        var rendered = 0
        for oid in Self.builtinOIDs {
            for round in 0..<300 {
                let length = Int(generator.next() % 40)
                let binary = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                let text = (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
                for (format, bytes) in [(ValueFormat.binary, binary), (.text, text)] {
                    guard let json = try? renderer.json(of: ByteBuffer(bytes: bytes), format: format, typeOID: oid) else {
                        continue
                    }
                    rendered += 1
                    // jsonb is embedded as the server wrote it, so garbage in is garbage out there.
                    if oid != 3802 && oid != 3807 {
                        #expect(isWellFormedJSON(json), "\(format) \(bytes) as \(oid) (round \(round)) gave \(json)")
                    }
                }
            }
        }
        #expect(rendered > 10_000)
    }

    @Test func deepJSONStaysValidEvenBeyondTheNormalisationDepth() throws {
        let deep = String(repeating: "[", count: 2000) + String(repeating: "]", count: 2000)
        let json = try renderer.json(of: ByteBuffer(string: deep), format: .text, typeOID: 114)
        #expect(json == deep)
        let malformed = try renderer.json(of: ByteBuffer(string: "{\"a\": tru}"), format: .text, typeOID: 114)
        #expect(malformed == #""{\"a\": tru}""#)
    }
}
