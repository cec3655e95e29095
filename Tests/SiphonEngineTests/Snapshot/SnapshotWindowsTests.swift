// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
@testable import SiphonEngine
import Testing

@Suite struct SnapshotWindowsTests {
    let table = TableName(schema: "public", "orders")
    let key = SnapshotKey(columns: ["id"])

    func change(_ operation: Change.Operation, id: Int, table: String = "orders", newID: Int? = nil) -> Change {
        let key = Row([.init(name: "id", json: "\(id)")])
        var change = Change(
            id: Change.ID(source: "s", commitLSN: LSN(rawValue: 1), index: 0), operation: operation, schema: "public",
            table: table, xid: 1, commitTime: PostgresTimestamp(rawValue: 0), key: key)
        if operation != .delete && operation != .truncate {
            change.new = Row([.init(name: "id", json: "\(newID ?? id)"), .init(name: "note", json: "\"x\"")])
        }
        return change
    }

    func reads(_ ids: [Int]) -> [Change] { ids.map { self.change(.read, id: $0) } }

    @Test func rowsTouchedInTheWindowAreStruckOutAndTheRestDelivered() {
        var windows = SnapshotWindows()
        windows.open(1, table: self.table, key: self.key)
        windows.observe(self.change(.update, id: 2))
        windows.observe(self.change(.delete, id: 3))
        windows.observe(self.change(.update, id: 9, table: "other"))
        windows.observe(self.change(.update, id: 4, newID: 40))  // a new key: both old and new are touched
        let outcome = windows.close(1, rows: self.reads([1, 2, 3, 4, 5, 9, 40]))
        #expect(outcome == .deliver(self.reads([1, 5, 9])))
        #expect(windows.isEmpty)
    }

    @Test func changesBeforeTheLowWatermarkOrOfOtherTablesStrikeNothing() {
        var windows = SnapshotWindows()
        windows.observe(self.change(.delete, id: 1))
        windows.open(7, table: self.table, key: self.key)
        windows.observe(self.change(.delete, id: 2, table: "other"))
        #expect(windows.close(7, rows: self.reads([1, 2])) == .deliver(self.reads([1, 2])))
    }

    @Test func aTruncateInTheWindowDropsTheWholeChunk() {
        var windows = SnapshotWindows()
        windows.open(1, table: self.table, key: self.key)
        windows.observe(self.change(.truncate, id: 0))
        #expect(windows.close(1, rows: self.reads([1, 2])) == .deliver([]))
    }

    @Test func aChangeWithoutItsKeyColumnsMakesTheChunkReadAgain() {
        var windows = SnapshotWindows()
        windows.open(1, table: self.table, key: SnapshotKey(columns: ["id", "region"]))
        windows.observe(self.change(.update, id: 1))
        #expect(windows.close(1, rows: self.reads([1])) == .readAgain)
    }

    @Test func anUpdateThatLeftOutLargeValuesOfAChunkRowMakesTheChunkReadAgain() {
        var windows = SnapshotWindows()
        windows.open(1, table: self.table, key: self.key)
        var update = self.change(.update, id: 2)
        update.unchangedToast = ["description"]
        windows.observe(update)
        #expect(windows.close(1, rows: self.reads([1, 2, 3])) == .readAgain)
        // Outside the chunk's rows it strikes nothing and asks for nothing.
        windows.open(2, table: self.table, key: self.key)
        windows.observe(update)
        #expect(windows.close(2, rows: self.reads([5, 6])) == .deliver(self.reads([5, 6])))
    }

    @Test func aHighWatermarkWithoutItsLowOneIsNotOurs() {
        var windows = SnapshotWindows()
        #expect(windows.close(3, rows: self.reads([1])) == nil)
    }

    @Test func watermarksRoundTripAndForeignContentIsRejected() {
        let mark = SnapshotWatermark(slot: "siphon", token: 42, chunk: 7, kind: .high)
        #expect(SnapshotWatermark(content: mark.content) == mark)
        for content in ["", "siphon 42 7", "siphon x 7 low", "siphon 42 7 middle", "a b 1 2 low", "siphon 42 -1 low"] {
            #expect(SnapshotWatermark(content: content) == nil, "\(content)")
        }
    }
}
