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
            (23, [0, 1, 2]), (20, []), (16, [1, 1]), (1700, [0, 1, 0, 0, 0, 0, 0, 0]),
            (1700, [0, 0, 0, 0, 0x12, 0, 0, 0]),
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
                    guard let json = try? renderer.json(of: ByteBuffer(bytes: bytes), format: format, typeOID: oid)
                    else {
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

    /// Valid encodings with bytes flipped, cut short or extended reach the deeper decoders that random bytes miss.
    @Test func mutatedValidValuesNeverCrash() throws {
        func bytes(_ build: (inout ByteBuffer) -> Void) -> [UInt8] {
            var buffer = ByteBuffer()
            build(&buffer)
            return Array(buffer.readableBytesView)
        }
        let int4: (inout ByteBuffer, Int32) -> Void = { buffer, value in
            buffer.writeInteger(Int32(4))
            buffer.writeInteger(value)
        }
        let binary: [(UInt32, [UInt8])] = [
            (
                1007,
                bytes { b in  // int4[2][2] with lower bounds 0
                    for header: Int32 in [2, 0, 23, 2, 0, 2, 0] { b.writeInteger(header) }
                    for value: Int32 in [1, 2, 3, 4] { int4(&b, value) }
                }
            ),
            (
                1009,
                bytes { b in
                    for header: Int32 in [1, 1, 25, 2, 1] { b.writeInteger(header) }
                    b.writeInteger(Int32(-1))
                    b.writeInteger(Int32(3))
                    b.writeString("a\"b")
                }
            ),
            (
                3904,
                bytes { b in
                    b.writeInteger(UInt8(0x02))
                    int4(&b, 1)
                    int4(&b, 5)
                }
            ),
            (
                4451,
                bytes { b in
                    b.writeInteger(Int32(2))
                    for (flags, low, high): (UInt8, Int32, Int32) in [(0x02, 1, 3), (0x06, 5, 7)] {
                        b.writeInteger(Int32(17))
                        b.writeInteger(flags)
                        int4(&b, low)
                        int4(&b, high)
                    }
                }
            ),
            (
                1700,
                bytes { b in
                    for word: Int16 in [3, 1, 0x4000, 9, 12, 3456, 7800] { b.writeInteger(word) }
                }
            ),
            (
                3615,
                bytes { b in
                    b.writeInteger(UInt32(4))
                    b.writeBytes([2, 4])
                    b.writeInteger(Int16(2))
                    b.writeBytes([2, 1, 1, 0, 0x62, 0])
                    b.writeBytes([1, 8, 1, 0x61, 0])
                }
            ),
            (
                3614,
                bytes { b in
                    b.writeInteger(UInt32(1))
                    b.writeBytes([0x61, 0x62, 0])
                    b.writeInteger(UInt16(2))
                    b.writeInteger(UInt16(0xC001))
                    b.writeInteger(UInt16(2))
                }
            ),
            (
                602,
                bytes { b in
                    b.writeInteger(UInt8(1))
                    b.writeInteger(Int32(2))
                    for value in [1.5, -2.0, 1e300, 5e-324] { b.writeInteger(value.bitPattern) }
                }
            ),
            (869, [3, 64, 0, 16, 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            (1562, [0, 0, 0, 9, 0xA5, 0x80]),
            (
                1186,
                bytes { b in
                    b.writeInteger(Int64(-1))
                    b.writeInteger(Int32(3))
                    b.writeInteger(Int32(-14))
                }
            ),
            (
                1266,
                bytes { b in
                    b.writeInteger(Int64(1))
                    b.writeInteger(Int32(-19_800))
                }
            ),
            (
                3910,
                bytes { b in
                    b.writeInteger(UInt8(0x12))
                    b.writeInteger(Int32(8))
                    b.writeInteger(Int64.min + 1)
                }
            ),
        ]
        let text: [(UInt32, String)] = [
            (1007, "[0:1][1:2]={{1,2},{3,NULL}}"), (1009, #"{"a \"b",NULL,"",x}"#), (3904, "[1,5)"),
            (4534, #"{["2026-01-01 00:00:00+00","2026-01-02 00:00:00+00")}"#),
            (1186, "-1 years -2 mons +3 days -04:05:06.5"),
            (1184, "0044-03-15 12:00:00.5+05:30 BC"), (3614, "'a':1A,2 'b''c' 'd\\\\e'"), (869, "::ffff:1.2.3.4/120"),
            (114, #"{"a": [1.5e3, "\u00e9", {"b": null}]}"#), (603, "(1,2),(3,4)"), (790, "-$1,234.56"),
        ]
        var generator = Generator(state: 0x7661_6C75_6573)
        var decoded = 0
        func mutate(_ original: [UInt8]) -> [UInt8] {
            var bytes = original
            switch generator.next() % 3 {
            case 0:
                for _ in 0...(generator.next() % 3) where !bytes.isEmpty {
                    bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
                }
            case 1:
                bytes.removeLast(Int(generator.next() % UInt64(bytes.count + 1)))
            default:
                bytes.append(UInt8(truncatingIfNeeded: generator.next()))
            }
            return bytes
        }
        let samples = binary.map { ($0, ValueFormat.binary, $1) } + text.map { ($0, ValueFormat.text, Array($1.utf8)) }
        for (oid, format, original) in samples {
            // The unmutated value must decode, or the mutations below would test nothing.
            _ = try renderer.json(of: ByteBuffer(bytes: original), format: format, typeOID: oid)
            for _ in 0..<2_000 {
                let bytes = mutate(original)
                guard let json = try? renderer.json(of: ByteBuffer(bytes: bytes), format: format, typeOID: oid) else {
                    continue
                }
                decoded += 1
                #expect(isWellFormedJSON(json), "\(format) \(bytes) as \(oid) gave \(json)")
            }
        }
        #expect(decoded > 1_000)
    }

    @Test func deepJSONStaysValidEvenBeyondTheNormalisationDepth() throws {
        let deep = String(repeating: "[", count: 2000) + String(repeating: "]", count: 2000)
        let json = try renderer.json(of: ByteBuffer(string: deep), format: .text, typeOID: 114)
        #expect(json == deep)
        let malformed = try renderer.json(of: ByteBuffer(string: "{\"a\": tru}"), format: .text, typeOID: 114)
        #expect(malformed == #""{\"a\": tru}""#)
    }
}
