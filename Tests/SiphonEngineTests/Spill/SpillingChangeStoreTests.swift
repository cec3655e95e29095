// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import NIOCore
import SiphonCore
import SiphonEngine
import SiphonPgOutput
import Testing

/// A fresh directory for one spill test, removed afterwards whatever happens.
func withSpillDirectory<Result>(_ body: (String) throws -> Result) throws -> Result {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("siphon-spill-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// Files this process holds open in `directory`, named or already unlinked: each takes disk space until closed.
/// `nil` where the system does not list a process's open files (`/proc/self/fd` is Linux's).
func openFiles(in directory: String) throws -> Int? {
    #if os(Linux)
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")
        return descriptors.count { descriptor in
            let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(descriptor)")
            return target?.hasPrefix(directory + "/") == true
        }
    #else
        return nil
    #endif
}

@Suite struct SpillingChangeStoreTests {
    /// What the store is told each event takes, so tests choose exactly when the limit is crossed.
    static let eventBytes = 100

    static func row(_ columns: KeyValuePairs<String, String>) -> Row {
        Row(columns.map { Row.Column(name: $0.key, json: $0.value) })
    }

    /// A held insert as the assembler makes it: no commit LSN, index, commit time or origin yet.
    static func insert(_ id: Int, note: String = "\"note\"", xid: UInt32 = 10) -> AssembledEvent {
        .change(
            Change(
                id: Change.ID(source: "slot", commitLSN: .zero, index: 0), operation: .insert, schema: "app",
                table: "users", xid: xid, commitTime: PostgresTimestamp(rawValue: 0),
                new: Self.row(["id": "\(id)", "note": note]), key: Self.row(["id": "\(id)"])))
    }

    /// Every kind of value the file must give back exactly.
    static let unusual: [AssembledEvent] = [
        .change(
            Change(
                id: Change.ID(source: "slot/with/slashes", commitLSN: .zero, index: 0), operation: .update,
                schema: "Ünïcode schema", table: "tab\"le", xid: 10, commitTime: PostgresTimestamp(rawValue: 0),
                new: Self.row(["id": "1", "doc": "{\"a\":\n[1, 2.50]}", "tab\tname": "null", "emoji": "\"🦆\""]),
                old: Self.row(["id": "1", "doc": "null"]), key: Self.row(["id": "1"]),
                unchangedToast: ["big", "bigger"])),
        .change(
            Change(
                id: Change.ID(source: "slot", commitLSN: .zero, index: 0), operation: .delete, schema: "app",
                table: "users", xid: 10, commitTime: PostgresTimestamp(rawValue: 0), old: Self.row(["id": "2"]),
                key: Self.row(["id": "2"]))),
        .change(
            Change(
                id: Change.ID(source: "slot", commitLSN: .zero, index: 0), operation: .truncate, schema: "app",
                table: "users", xid: 10, commitTime: PostgresTimestamp(rawValue: 0),
                truncateOptions: Change.TruncateOptions(cascade: true, restartIdentity: false))),
        .message(
            transactional: true, prefix: "pre\nfix", content: ByteBuffer(bytes: [0, 10, 255, 13]),
            lsn: LSN(rawValue: 77)),
        .message(transactional: true, prefix: "", content: ByteBuffer(), lsn: LSN(rawValue: 78)),
    ]

    /// Takes everything the store holds for `xid`.
    static func drain(_ store: inout SpillingChangeStore, _ xid: UInt32) throws -> [AssembledEvent] {
        var events: [AssembledEvent] = []
        while let event = try store.takeNext(of: xid) { events.append(event) }
        return events
    }

    @Test func handsBackEveryEventInOrderFromTheFileThenFromMemory() throws {
        try withSpillDirectory { directory in
            var store = SpillingChangeStore(memoryLimit: 1_000, directory: directory)
            let held = Self.unusual + (1...20).map { Self.insert($0) } + Self.unusual
            for event in held {
                try store.hold(event, bytes: Self.eventBytes, xid: 10, subtransactionXID: 10)
                #expect(store.bytesInMemory <= 1_000)
            }
            // 30 events of 100 bytes: two spills of 11, then 8 in memory.
            #expect(store.bytesInMemory == 800)
            #expect(store.changesInMemory == 6)
            #expect(store.spillFileCount == 1)
            #expect(try Self.drain(&store, 10) == held)
            #expect(store.bytesInMemory == 0)
            #expect(store.changesInMemory == 0)
            #expect(store.spillFileCount == 0)
            #expect(try openFiles(in: directory) ?? 0 == 0)
            #expect(try Self.drain(&store, 10) == [])
        }
    }

    @Test func spillsOnlyOnceTheLimitIsCrossed() throws {
        try withSpillDirectory { directory in
            var store = SpillingChangeStore(memoryLimit: 300, directory: directory)
            for id in 1...3 { try store.hold(Self.insert(id), bytes: Self.eventBytes, xid: 10, subtransactionXID: 10) }
            #expect(store.bytesInMemory == 300)
            #expect(store.changesInMemory == 3)
            #expect(store.spillFileCount == 0)
            #expect(try openFiles(in: directory) ?? 0 == 0)

            try store.hold(Self.insert(4), bytes: Self.eventBytes, xid: 10, subtransactionXID: 10)
            #expect(store.bytesInMemory == 0)
            #expect(store.changesInMemory == 0)
            #expect(store.spillFileCount == 1)
            #expect(try openFiles(in: directory) ?? 1 == 1)
            // The file has no name: nothing shows in the directory, even while it holds events.
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == [])

            try store.hold(Self.insert(5), bytes: Self.eventBytes, xid: 10, subtransactionXID: 10)
            #expect(store.bytesInMemory == 100)
            #expect(store.changesInMemory == 1)
            #expect(try Self.drain(&store, 10) == (1...5).map { Self.insert($0) })
            #expect(try openFiles(in: directory) ?? 0 == 0)
        }
    }

    @Test func subtransactionAbortDropsOnlyItsEventsFromFileAndMemory() throws {
        try withSpillDirectory { directory in
            var store = SpillingChangeStore(memoryLimit: 250, directory: directory)
            let subtransactions: [UInt32] = [10, 11, 12, 11, 10, 13]
            for (id, subtransaction) in subtransactions.enumerated() {
                try store.hold(Self.insert(id), bytes: id < 3 ? 100 : 50, xid: 10, subtransactionXID: subtransaction)
            }
            // The first three went to the file, the last three are in memory.
            #expect(store.changesInMemory == 3)
            #expect(store.bytesInMemory == 150)
            store.discard(subtransactionXID: 11, of: 10)
            #expect(store.changesInMemory == 2)
            #expect(store.bytesInMemory == 100)
            store.discard(subtransactionXID: 99, of: 10)
            store.discard(subtransactionXID: 11, of: 99)
            #expect(try Self.drain(&store, 10) == [0, 2, 4, 5].map { Self.insert($0) })
            #expect(try openFiles(in: directory) ?? 0 == 0)
        }
    }

    @Test func wholeAbortForgetsEverythingAndFreesTheFile() throws {
        try withSpillDirectory { directory in
            var store = SpillingChangeStore(memoryLimit: 250, directory: directory)
            for id in 1...4 { try store.hold(Self.insert(id), bytes: Self.eventBytes, xid: 10, subtransactionXID: 11) }
            #expect(store.spillFileCount == 1)
            #expect(store.changesInMemory == 1)
            #expect(try openFiles(in: directory) ?? 1 == 1)
            store.discard(xid: 10)
            #expect(store.spillFileCount == 0)
            #expect(store.changesInMemory == 0)
            #expect(store.bytesInMemory == 0)
            #expect(try openFiles(in: directory) ?? 0 == 0)
            #expect(try store.takeNext(of: 10) == nil)
        }
    }

    @Test func interleavedTransactionsSpillTheLargestAndKeepTheirOwnOrder() throws {
        try withSpillDirectory { directory in
            var store = SpillingChangeStore(memoryLimit: 320, directory: directory)
            try store.hold(Self.insert(1), bytes: 100, xid: 10, subtransactionXID: 10)
            try store.hold(Self.insert(101, xid: 20), bytes: 10, xid: 20, subtransactionXID: 20)
            try store.hold(Self.insert(2), bytes: 100, xid: 10, subtransactionXID: 10)
            try store.hold(Self.insert(102, xid: 20), bytes: 10, xid: 20, subtransactionXID: 21)
            try store.hold(Self.insert(3), bytes: 100, xid: 10, subtransactionXID: 10)
            #expect(store.spillFileCount == 0)
            // 330 bytes: transaction 10, holding the most, goes to disk; 20 stays in memory.
            try store.hold(Self.insert(103, xid: 20), bytes: 10, xid: 20, subtransactionXID: 20)
            #expect(store.spillFileCount == 1)
            #expect(store.bytesInMemory == 30)
            try store.hold(Self.insert(4), bytes: 100, xid: 10, subtransactionXID: 10)
            store.discard(subtransactionXID: 21, of: 20)
            // 20 commits first, while 10 is still open.
            #expect(try Self.drain(&store, 20) == [101, 103].map { Self.insert($0, xid: 20) })
            #expect(store.spillFileCount == 1)
            #expect(store.bytesInMemory == 100)
            try store.hold(Self.insert(5), bytes: 100, xid: 10, subtransactionXID: 10)
            #expect(try Self.drain(&store, 10) == (1...5).map { Self.insert($0) })
            #expect(store.spillFileCount == 0)
            #expect(store.bytesInMemory == 0)
        }
    }

    @Test func aDirectoryThatCannotHoldFilesFailsWithTheReason() throws {
        var store = SpillingChangeStore(memoryLimit: 0, directory: "/nonexistent-siphon-spill")
        let error = #expect(throws: SiphonError.self) {
            try store.hold(Self.insert(1), bytes: Self.eventBytes, xid: 10, subtransactionXID: 10)
        }
        #expect(
            error?.description
                == "cannot spill the changes of streamed transaction 10 to a file in /nonexistent-siphon-spill: "
                + "mkstemp: No such file or directory (errno 2)")
    }
}
