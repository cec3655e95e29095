// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonCore
import Testing

@testable import SiphonEngine

/// A jsonl file knows its source: another cluster, timeline or slot is refused, a slot that moved past the file
/// is lost changes, and ids are compared only within their own source.
@Suite struct JSONLinesFileSinkSourceTests {
    private static let clusterA = SourceIdentity.logicalSlot(
        systemID: "7000000000000000001", timeline: 1, database: "shop", slot: "orders")

    private func change(_ source: String, _ lsn: UInt64, _ index: Int) -> Change {
        var change = EnvelopeFixtures.insert
        change.id = Change.ID(source: source, commitLSN: LSN(rawValue: lsn), index: index)
        return change
    }

    @Test func anotherClusterWithTheSameSlotNameIsRefused() async throws {
        try await withSinkTestDirectory { directory in
            let path = directory + "/changes.jsonl"
            let first = try JSONLinesFileSink(path: path)
            try await first.bind(to: Self.clusterA, slotPosition: LSN(rawValue: 0x500))
            try await first.deliver([self.change("orders", 0x900, 0)])
            try await first.close()
            let before = try sinkTestFileText(path)

            let restored = SourceIdentity.logicalSlot(
                systemID: "7000000000000000002", timeline: 2, database: "shop", slot: "orders")
            let second = try JSONLinesFileSink(path: path)
            let error = try await #require(throws: SiphonError.self) {
                try await second.bind(to: restored, slotPosition: LSN(rawValue: 0x100))
            }
            #expect(error.code == .invalidConfiguration)
            #expect(error.message.contains(#"system_identifier "7000000000000000001" recorded vs "7000000000000000002" now"#))
            #expect(error.message.contains(#"timeline "1" recorded vs "2" now"#))
            #expect(error.message.contains("Write to a new file"))
            #expect(try sinkTestFileText(path) == before)
        }
    }

    @Test func aSlotBeyondTheFilesConfirmedPositionIsLostChanges() async throws {
        try await withSinkTestDirectory { directory in
            let path = directory + "/changes.jsonl"
            let first = try JSONLinesFileSink(path: path)
            try await first.bind(to: Self.clusterA, slotPosition: LSN(rawValue: 0x500))
            try await first.deliver([self.change("orders", 0x600, 0)])
            #expect(try await first.confirming(LSN(rawValue: 0x640), seenUpTo: LSN(rawValue: 0x700)) == LSN(rawValue: 0x640))
            try await first.close()

            // Reopened where the slot was left (or behind it, after a crash): accepted.
            let again = try JSONLinesFileSink(path: path)
            try await again.bind(to: Self.clusterA, slotPosition: LSN(rawValue: 0x700))
            try await again.close()

            // The slot was created again further on: the changes in between never reached the file.
            let third = try JSONLinesFileSink(path: path)
            let error = try await #require(throws: SiphonError.self) {
                try await third.bind(to: Self.clusterA, slotPosition: LSN(rawValue: 0x800))
            }
            #expect(error.code == .changesLost)
            #expect(error.message.contains("dropped and created again"))
            #expect(error.message.contains("0/700"))
        }
    }

    @Test func aFileFromBeforeSourceRecordsIsAdoptedOnlyForItsOwnSlot() async throws {
        try await withSinkTestDirectory { directory in
            let path = directory + "/changes.jsonl"
            try (ChangeEnvelope.render(self.change("orders", 0x600, 0), format: .siphon) + "\n")
                .write(toFile: path, atomically: false, encoding: .utf8)
            let other = try JSONLinesFileSink(path: path)
            let error = try await #require(throws: SiphonError.self) {
                try await other.bind(
                    to: .logicalSlot(systemID: "1", timeline: 1, database: "shop", slot: "billing"), slotPosition: nil)
            }
            #expect(error.message.contains(#"holds changes of "orders""#))
            try await other.close()
            let own = try JSONLinesFileSink(path: path)
            try await own.bind(to: Self.clusterA, slotPosition: LSN(rawValue: 0x700))
            #expect(FileManager.default.fileExists(atPath: path + ".siphon"))
        }
    }

    @Test func partitionsAreDeduplicatedEachAgainstItsOwnIds() async throws {
        try await withSinkTestDirectory { directory in
            let path = directory + "/changes.jsonl"
            let sink = try JSONLinesFileSink(path: path)
            // Partition 0 opened a later window than partition 1, whose window was left open by a stop.
            try await sink.deliver([self.change("outbox#1", 0x100, 7), self.change("outbox#1", 0x100, 9)])
            try await sink.deliver([self.change("outbox#0", 0x300, 8), self.change("outbox#0", 0x300, 10)])
            try await sink.deliver([self.change("outbox#1", 0x100, 9), self.change("outbox#1", 0x100, 11)])
            try await sink.close()

            // After reopening, each partition's last id is known again, however far back it is.
            let reopened = try JSONLinesFileSink(path: path)
            try await reopened.deliver([
                self.change("outbox#1", 0x100, 11), self.change("outbox#1", 0x200, 12), self.change("outbox#0", 0x300, 10),
            ])
            let ids = try sinkTestFileText(path).split(separator: "\n").map {
                try ChangeEnvelope.changeID(inLine: $0).description
            }
            #expect(
                ids == [
                    "outbox#1/0/100/7", "outbox#1/0/100/9", "outbox#0/0/300/8", "outbox#0/0/300/10", "outbox#1/0/100/11",
                    "outbox#1/0/200/12",
                ])
        }
    }
}
