// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonCore
import Synchronization
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

    @Test func aRetryAfterAPartialWriteFinishesTheTornLineAndRepeatsNothing() async throws {
        let pipe = Pipe()
        // The descriptor takes 150 bytes, then fails once with EIO, then works again.
        let budget = WriteBudget(bytes: 150)
        let sink = StandardOutputSink(
            format: .siphon, debezium: DebeziumSource(), descriptor: pipe.fileHandleForWriting.fileDescriptor
        ) { descriptor, bytes in
            let allowed = budget.left.withLock { left -> Int in
                defer { left = left == 0 ? Int.max : max(0, left - bytes.count) }
                return min(left, bytes.count)
            }
            guard allowed > 0 else {
                errno = EIO
                return -1
            }
            return write(descriptor, bytes.baseAddress, allowed)
        }
        let changes = [EnvelopeFixtures.insert, EnvelopeFixtures.delete, EnvelopeFixtures.truncate]
        let error = try await #require(throws: SiphonError.self) { try await sink.deliver(changes) }
        #expect(error.message.contains("Input/output error"))
        try await sink.deliver(changes)
        try await sink.deliver([EnvelopeFixtures.updateFull])
        try pipe.fileHandleForWriting.close()
        let text = String(decoding: try pipe.fileHandleForReading.readToEnd() ?? Data(), as: UTF8.self)
        #expect(text == (changes + [EnvelopeFixtures.updateFull]).map { ChangeEnvelope.render($0, format: .siphon) + "\n" }.joined())
    }

    @Test func aFullNonBlockingPipeIsWaitedForNotFailed() async throws {
        var descriptors: [Int32] = [0, 0]
        #expect(pipe(&descriptors) == 0)
        let (reader, writer) = (descriptors[0], descriptors[1])
        #expect(fcntl(writer, F_SETFL, fcntl(writer, F_GETFL) | O_NONBLOCK) == 0)
        let sink = StandardOutputSink(format: .siphon, debezium: DebeziumSource(), descriptor: writer)
        let changes = (0..<2000).map { index -> Change in
            var change = EnvelopeFixtures.insert
            change.id.index = index
            return change
        }
        let expected = changes.map { ChangeEnvelope.render($0, format: .siphon) + "\n" }.joined()
        // A slow reader: the pipe fills up long before the batch is written. It runs on a thread of its own, not the
        // cooperative pool: the sink blocks a pool thread while it waits, and the pool has one thread per core.
        async let read: [UInt8] = withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var bytes: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 4096)
                while true {
                    let count = Glibc.read(reader, &chunk, chunk.count)
                    if count <= 0 { break }
                    bytes += chunk[..<count]
                    usleep(200)
                }
                close(reader)
                continuation.resume(returning: bytes)
            }
        }
        try await sink.deliver(changes)
        close(writer)
        #expect(String(decoding: await read, as: UTF8.self) == expected)
    }
}

/// How many bytes a fake descriptor still takes before it fails once.
private final class WriteBudget: Sendable {
    let left: Mutex<Int>

    init(bytes: Int) { self.left = Mutex(bytes) }
}
