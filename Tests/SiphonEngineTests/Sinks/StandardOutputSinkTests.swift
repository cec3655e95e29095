// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonCore
import Testing

@testable import SiphonEngine

@Suite struct StandardOutputSinkTests {
    @Test func eachDeliveryReachesThePipeWhole() async throws {
        let pipe = Pipe()
        let sink = StandardOutputSink(
            format: .siphon, debezium: DebeziumSource(), descriptor: pipe.fileHandleForWriting.fileDescriptor)
        #expect(sink.name == "stdout")
        try await sink.deliver([EnvelopeFixtures.insert, EnvelopeFixtures.delete])
        try await sink.deliver([])
        try await sink.deliver([EnvelopeFixtures.truncate])
        try pipe.fileHandleForWriting.close()
        let text = String(decoding: try pipe.fileHandleForReading.readToEnd() ?? Data(), as: UTF8.self)
        #expect(
            text
                == [EnvelopeFixtures.insert, EnvelopeFixtures.delete, EnvelopeFixtures.truncate]
                .map { ChangeEnvelope.render($0, format: .siphon) + "\n" }.joined())
    }

    @Test func aRedirectionToAFileGetsDebeziumLines() async throws {
        try await withSinkTestDirectory { directory in
            let path = directory + "/out.jsonl"
            #expect(FileManager.default.createFile(atPath: path, contents: nil))
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            let shop = DebeziumSource(database: "shop")
            let sink = StandardOutputSink(format: .debezium, debezium: shop, descriptor: handle.fileDescriptor)
            try await sink.deliver([EnvelopeFixtures.updateFull])
            #expect(
                try sinkTestFileText(path)
                    == ChangeEnvelope.render(EnvelopeFixtures.updateFull, format: .debezium, debezium: shop) + "\n")
        }
    }

    @Test func aFailedWriteIsReported() async throws {
        let readOnly = try #require(FileHandle(forReadingAtPath: "/dev/null"))
        defer { try? readOnly.close() }
        let sink = StandardOutputSink(format: .siphon, debezium: DebeziumSource(), descriptor: readOnly.fileDescriptor)
        let error = try await #require(throws: SiphonError.self) { try await sink.deliver([EnvelopeFixtures.insert]) }
        #expect(error.code == .sinkRejected)
        #expect(error.message == "cannot write standard output: Bad file descriptor; 1 change not delivered")
    }
}
