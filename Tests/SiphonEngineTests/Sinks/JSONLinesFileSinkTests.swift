// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonCore
import Testing

@testable import SiphonEngine

@Suite struct JSONLinesFileSinkTests {
    private let changes = EnvelopeFixtures.all.filter { $0.id.source == "orders_cdc" }

    private func lines(_ changes: [Change], format: ChangeFormat = .siphon) -> String {
        changes.map { ChangeEnvelope.render($0, format: format) + "\n" }.joined()
    }

    @Test func deliverAppendsOneLinePerChangeToANewFile() async throws {
        try await withSinkTestDirectory { directory in
            let path = directory + "/changes.jsonl"
            let sink = try JSONLinesFileSink(path: path)
            #expect(sink.name == "jsonl:\(path)")
            #expect(sink.lastID == nil && sink.repairedBytes == 0)
            try await sink.deliver(Array(self.changes[0..<2]))
            #expect(try sinkTestFileText(path) == self.lines(Array(self.changes[0..<2])))
            try await sink.deliver(Array(self.changes[2...]))
            #expect(try sinkTestFileText(path) == self.lines(self.changes))
            #expect(sink.lastID == self.changes.last?.id)
            try await sink.close()

            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect(attributes[.posixPermissions] as? Int == 0o644 & ~Self.umask())
        }
    }

    @Test func aTornLastLineIsCutOffWhenTheFileIsOpened() async throws {
        try await withSinkTestDirectory { directory in
            let path = directory + "/changes.jsonl"
            let complete = self.lines(Array(self.changes[0..<2]))
            let torn = String(ChangeEnvelope.render(self.changes[2], format: .siphon).prefix(57))
            try (complete + torn).write(toFile: path, atomically: false, encoding: .utf8)

            let sink = try JSONLinesFileSink(path: path)
            #expect(sink.repairedBytes == 57)
            #expect(sink.lastID == self.changes[1].id)
            #expect(try sinkTestFileText(path) == complete)

            try await sink.deliver(Array(self.changes[2...]))
            #expect(try sinkTestFileText(path) == self.lines(self.changes))
            #expect(try self.changes == sinkTestFileText(path).split(separator: "\n").map(ChangeEnvelope.decode(line:)))
        }
    }

    @Test func aFileHoldingOnlyATornLineIsEmptied() async throws {
        try await withSinkTestDirectory { directory in
            let path = directory + "/changes.jsonl"
            try #"{"id":"orders_cdc/0/16B"#.write(toFile: path, atomically: false, encoding: .utf8)
            let sink = try JSONLinesFileSink(path: path)
            #expect(sink.repairedBytes == 23 && sink.lastID == nil)
            #expect(try sinkTestFileText(path) == "")
        }
    }

    @Test func changesTheFileHoldsAreSkippedAfterReopening() async throws {
        try await withSinkTestDirectory { directory in
            let path = directory + "/changes.jsonl"
            let first = try JSONLinesFileSink(path: path)
            try await first.deliver(Array(self.changes[0..<3]))
            try await first.close()

            // A crash after the fsync but before the acknowledgement: the pipeline sends 1... again.
            let second = try JSONLinesFileSink(path: path)
            #expect(second.lastID == self.changes[2].id)
            try await second.deliver(Array(self.changes[1...]))
            try await second.deliver(Array(self.changes[3...]))
            #expect(try sinkTestFileText(path) == self.lines(self.changes))
        }
    }

    @Test func laterTransactionsAndOtherSourcesAreNotSkipped() async throws {
        try await withSinkTestDirectory { directory in
            let path = directory + "/changes.jsonl"
            let sink = try JSONLinesFileSink(path: path)
            var later = EnvelopeFixtures.delete
            later.id = EnvelopeFixtures.id(0, lsn: LSN(rawValue: EnvelopeFixtures.commitLSN.rawValue + 1))
            var otherSource = EnvelopeFixtures.insert
            otherSource.id.source = "billing_cdc"
            try await sink.deliver([EnvelopeFixtures.truncate, later, otherSource])
            #expect(try sinkTestFileText(path) == self.lines([EnvelopeFixtures.truncate, later, otherSource]))
        }
    }

    @Test func debeziumLinesCarryTheIdThatDropsRepeats() async throws {
        try await withSinkTestDirectory { directory in
            let path = directory + "/changes.jsonl"
            let shop = DebeziumSource(database: "shop")
            let first = try JSONLinesFileSink(path: path, format: .debezium, debezium: shop)
            try await first.deliver(Array(self.changes[0..<2]))
            try await first.close()
            let reopened = try JSONLinesFileSink(path: path, format: .debezium, debezium: shop)
            #expect(reopened.lastID == self.changes[1].id)
            try await reopened.deliver(self.changes)
            #expect(
                try sinkTestFileText(path)
                    == self.changes.map { ChangeEnvelope.render($0, format: .debezium, debezium: shop) + "\n" }
                    .joined())
        }
    }

    @Test func aFileAnotherSinkHasOpenIsRefused() async throws {
        try await withSinkTestDirectory { directory in
            let path = directory + "/changes.jsonl"
            let first = try JSONLinesFileSink(path: path)
            let error = try #require(throws: SiphonError.self) { try JSONLinesFileSink(path: path) }
            #expect(
                error.message
                    == "\(path) is already being written by another jsonl sink (another siphon process?); two "
                    + "writers would mix their lines")
            try await first.close()
            _ = try JSONLinesFileSink(path: path)
        }
    }

    @Test func aFileSiphonDidNotWriteIsRefused() async throws {
        try await withSinkTestDirectory { directory in
            let path = directory + "/notes.txt"
            try "shopping list\n".write(toFile: path, atomically: false, encoding: .utf8)
            let error = try #require(throws: SiphonError.self) { try JSONLinesFileSink(path: path) }
            #expect(error.code == .sinkRejected)
            #expect(
                error.message
                    == "the last line of \(path) is not a change Siphon wrote (expected '{' at byte 0); the jsonl "
                    + "sink only appends to its own files: move this one away or choose another path")
            #expect(try sinkTestFileText(path) == "shopping list\n")
        }
    }

    @Test func aDirectoryPathIsRefusedWithAnExample() async throws {
        try await withSinkTestDirectory { directory in
            let error = try #require(throws: SiphonError.self) { try JSONLinesFileSink(path: directory) }
            #expect(error.code == .sinkRejected)
            #expect(
                error.message
                    == "\(directory) is a directory; the jsonl sink needs a file path, e.g. "
                    + "jsonl:\(directory)/changes.jsonl")
        }
    }

    @Test func aMissingDirectoryIsNotCreated() async throws {
        try await withSinkTestDirectory { directory in
            let error = try #require(throws: SiphonError.self) {
                try JSONLinesFileSink(path: directory + "/missing/changes.jsonl")
            }
            #expect(
                error.message
                    == "directory \(directory)/missing does not exist; create it first (Siphon does not create "
                    + "directories, so an unmounted volume is never written to by mistake)")
            #expect(!FileManager.default.fileExists(atPath: directory + "/missing"))
        }
    }

    @Test func aFileInThePlaceOfADirectoryIsNamed() async throws {
        try await withSinkTestDirectory { directory in
            try "".write(toFile: directory + "/file", atomically: false, encoding: .utf8)
            let path = directory + "/file/changes.jsonl"
            let error = try #require(throws: SiphonError.self) { try JSONLinesFileSink(path: path) }
            #expect(error.message == "a part of \(path) that should be a directory is a file")
        }
    }

    @Test func somethingOtherThanARegularFileIsRefused() throws {
        let error = try #require(throws: SiphonError.self) { try JSONLinesFileSink(path: "/dev/null") }
        #expect(
            error.message
                == "/dev/null is not a regular file; the jsonl sink appends to files only "
                + "(use --sink stdout to write to a pipe or terminal)")
    }

    #if os(Linux)
        /// sysfs refuses writes to this read-only file even to root, so the test means the same for every user.
        @Test func anUnwritableFileIsRefused() throws {
            let error = try #require(throws: SiphonError.self) { try JSONLinesFileSink(path: "/sys/kernel/notes") }
            #expect(error.code == .sinkRejected)
            #expect(
                error.message
                    == "permission denied opening /sys/kernel/notes for appending; make the file (or its directory) "
                    + "writable for this user")
            #expect((error.underlying as? SystemCallError) == SystemCallError("open", errno: EACCES))
        }
    #endif

    @Test func writeFailuresSayWhatWasNotWritten() async throws {
        try await withSinkTestDirectory { directory in
            let sink = try JSONLinesFileSink(path: directory + "/changes.jsonl")
            let diskFull = sink.deliveryFailure(SystemCallError("write", errno: ENOSPC), changes: 3, bytes: 1200)
            #expect(diskFull.code == .sinkRejected)
            #expect(
                diskFull.message
                    == "no space left on the device holding \(directory)/changes.jsonl; 3 changes (1200 bytes) "
                    + "not written")
            let fsync = sink.deliveryFailure(SystemCallError("fsync", errno: EIO), changes: 1, bytes: 10)
            #expect(
                fsync.message
                    == "cannot fsync \(directory)/changes.jsonl: Input/output error; 1 change (10 bytes) not delivered")
        }
    }

    @Test func deliveringAfterCloseFails() async throws {
        try await withSinkTestDirectory { directory in
            let sink = try JSONLinesFileSink(path: directory + "/changes.jsonl")
            try await sink.close()
            try await sink.close()
            await #expect(throws: SiphonError.self) { try await sink.deliver([EnvelopeFixtures.insert]) }
        }
    }

    @Test func anEmptyPathIsAConfigurationError() {
        #expect(throws: SiphonError.self) { try JSONLinesFileSink(path: "") }
    }

    /// The process umask, read without changing it.
    private static func umask() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Umask:") }
        return line.flatMap { Int($0.dropFirst(6).trimmingCharacters(in: .whitespaces), radix: 8) } ?? 0o022
    }
}
