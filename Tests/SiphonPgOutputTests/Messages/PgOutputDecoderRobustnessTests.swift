// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonPgOutput
import SiphonTestSupport
import Testing

/// Cut and corrupted fixture bytes must throw or decode — a trap would fail the whole test run.
@Suite struct PgOutputDecoderRobustnessTests {
    @Test func everyStrictPrefixOfEveryMessageThrows() throws {
        var prefixes = 0
        for fixture in try PgOutputFixture.all() {
            var decoder = PgOutputDecoder(protocolVersion: fixture.protocolVersion)
            for message in fixture.messages {
                for length in 0..<message.readableBytes {
                    var prefix = message.getSlice(at: message.readerIndex, length: length)!
                    var copy = decoder
                    if let decoded = try? copy.decode(&prefix) {
                        let hex = message.hexDump(format: .plain)
                        Issue.record("\(fixture.name): the first \(length) bytes of \(hex) decoded to \(decoded)")
                    }
                    prefixes += 1
                }
                var whole = message
                _ = try decoder.decode(&whole)
            }
        }
        #expect(prefixes > 40_000)
    }

    @Test func flippedBytesThrowOrDecodeAndTheAssemblerCopes() throws {
        var random = SeededGenerator(state: 0x5119_404E)
        var decodedVariants = 0
        var rejectedVariants = 0
        for fixture in try PgOutputFixture.all() {
            var decoder = PgOutputDecoder(protocolVersion: fixture.protocolVersion)
            var assembler = ChangeAssembler(source: "fuzz", renderer: ValueRenderer())
            for (position, message) in fixture.messages.enumerated() {
                // The thousand-row fixtures repeat one insert shape; a sample of them is enough.
                if fixture.messages.count > 100 && position % 25 != 0 && message.readableBytes > 40 {
                    var whole = message
                    _ = try assembler.consume(try decoder.decode(&whole))
                    continue
                }
                for _ in 0..<16 {
                    var corrupted = message
                    for _ in 0...Int.random(in: 0...2, using: &random) {
                        let offset = Int.random(in: 0..<corrupted.readableBytes, using: &random)
                        corrupted.setInteger(
                            UInt8.random(in: 0...255, using: &random),
                            at: corrupted.readerIndex + offset
                        )
                    }
                    var decoderCopy = decoder
                    do {
                        let decoded = try decoderCopy.decode(&corrupted)
                        var assemblerCopy = assembler
                        _ = try? assemblerCopy.consume(decoded)
                        decodedVariants += 1
                    } catch {
                        rejectedVariants += 1
                    }
                }
                var whole = message
                _ = try assembler.consume(try decoder.decode(&whole))
            }
        }
        #expect(decodedVariants > 100)
        #expect(rejectedVariants > 100)
    }
}
