// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonReplication
import SiphonTestSupport

/// Concurrent writers on their own connections: short transactions, long ones that take their transaction id (and
/// their first outbox rows) early and commit late, and rollbacks. Records what committed, to check delivery against.
///
/// Tables: `counters (k int PRIMARY KEY, v int)`, where every committed update adds one to `v`, so the values a
/// key goes through are 0, 1, 2, … with no gap; and `events (kind text, writer int, seq int, PRIMARY KEY (kind,
/// writer, seq))`, one row per committed transaction. Rolled-back work writes `kind = 'rollback'`.
struct Workload: Sendable {
    let db: TriggerFixture
    var keys = 16
    var shortWriters = 4
    var shortTransactions = 120
    var longWriters = 2
    var longTransactions = 12
    /// Each writer draws its choices from its own generator, derived from this seed.
    var seed = SeededGenerator.forFaultInjection("Workload").state

    /// What committed.
    struct Expected: Sendable {
        var finalValues: [Int: Int] = [:]
        var events: Set<String> = []
    }

    var tables: String {
        "CREATE TABLE \(self.db.s).counters (k int PRIMARY KEY, v int NOT NULL);"
            + "CREATE TABLE \(self.db.s).events (kind text, writer int, seq int, PRIMARY KEY (kind, writer, seq))"
    }

    /// Inserts the counters (through the triggers, so their inserts are changes too), then runs the writers.
    func run() async throws -> Expected {
        try await self.db.execute(
            "INSERT INTO \(self.db.s).counters SELECT k, 0 FROM generate_series(0, \(self.keys - 1)) AS k")
        let expected = SharedValue(Expected())
        expected.withLock { state in
            for key in 0..<self.keys { state.finalValues[key] = 0 }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<self.shortWriters {
                group.addTask { try await self.shortWriter(writer, expected: expected) }
            }
            for writer in 0..<self.longWriters {
                group.addTask { try await self.longWriter(self.shortWriters + writer, expected: expected) }
            }
            try await group.waitForAll()
        }
        return expected.withLock { $0 }
    }

    private func connect<Result>(_ body: (ServerConnection) async throws -> Result) async throws -> Result {
        try await ServerConnection.withConnection(
            settings: try self.db.settings(applicationName: "siphon-trigger-writer"), replication: false,
            logger: self.db.logger, body)
    }

    private func shortWriter(_ writer: Int, expected: SharedValue<Expected>) async throws {
        let s = self.db.s
        try await self.connect { connection in
            var random = SeededGenerator(state: self.seed &+ UInt64(writer) &* 2)
            for seq in 0..<self.shortTransactions {
                let first = Int.random(in: 0..<self.keys - 1, using: &random)
                let second = Int.random(in: first + 1..<self.keys, using: &random)
                switch Int.random(in: 0..<10, using: &random) {
                case 0:
                    try await connection.simpleQuery(
                        "BEGIN; UPDATE \(s).counters SET v = v + 1 WHERE k = \(first); "
                            + "INSERT INTO \(s).events VALUES ('rollback', \(writer), \(seq)); ROLLBACK")
                case 1:
                    try await connection.simpleQuery(
                        "BEGIN; UPDATE \(s).counters SET v = v + 1 WHERE k = \(first); SAVEPOINT s; "
                            + "INSERT INTO \(s).events VALUES ('rollback', \(writer), \(seq)); "
                            + "UPDATE \(s).counters SET v = v + 1 WHERE k = \(second); ROLLBACK TO SAVEPOINT s; "
                            + "INSERT INTO \(s).events VALUES ('short', \(writer), \(seq)); COMMIT")
                    expected.withLock { state in
                        state.finalValues[first, default: 0] += 1
                        state.events.insert("short/\(writer)/\(seq)")
                    }
                case 2, 3, 4:
                    try await connection.simpleQuery(
                        "BEGIN; UPDATE \(s).counters SET v = v + 1 WHERE k = \(first); "
                            + "UPDATE \(s).counters SET v = v + 1 WHERE k = \(second); "
                            + "INSERT INTO \(s).events VALUES ('short', \(writer), \(seq)); COMMIT")
                    expected.withLock { state in
                        state.finalValues[first, default: 0] += 1
                        state.finalValues[second, default: 0] += 1
                        state.events.insert("short/\(writer)/\(seq)")
                    }
                default:
                    try await connection.simpleQuery(
                        "BEGIN; UPDATE \(s).counters SET v = v + 1 WHERE k = \(first); "
                            + "INSERT INTO \(s).events VALUES ('short', \(writer), \(seq)); COMMIT")
                    expected.withLock { state in
                        state.finalValues[first, default: 0] += 1
                        state.events.insert("short/\(writer)/\(seq)")
                    }
                }
            }
        }
    }

    /// Takes its transaction id and writes its first change at once, then stays open while short transactions
    /// commit around it: the change that "id greater than the last seen" readers skip.
    private func longWriter(_ writer: Int, expected: SharedValue<Expected>) async throws {
        let s = self.db.s
        try await self.connect { connection in
            var random = SeededGenerator(state: self.seed &+ UInt64(writer) &* 2 &+ 1)
            for seq in 0..<self.longTransactions {
                let key = Int.random(in: 0..<self.keys, using: &random)
                let sleep = Double(Int.random(in: 50...300, using: &random)) / 1000
                let commits = Int.random(in: 0..<5, using: &random) > 0
                let kind = commits ? "long" : "rollback"
                try await connection.simpleQuery(
                    "BEGIN; INSERT INTO \(s).events VALUES ('\(kind)', \(writer), \(seq)); SELECT pg_sleep(\(sleep)); "
                        + "UPDATE \(s).counters SET v = v + 1 WHERE k = \(key); "
                        + (commits ? "COMMIT" : "ROLLBACK"))
                if commits {
                    expected.withLock { state in
                        state.finalValues[key, default: 0] += 1
                        state.events.insert("long/\(writer)/\(seq)")
                    }
                }
            }
        }
    }

    /// Checks what a sink received against what committed: per key every value once and in order, every committed
    /// event, nothing rolled back, and first deliveries in increasing id order. Returns the problems found.
    static func problems(delivered changes: [Change], expected: Expected) -> [String] {
        var problems: [String] = []
        var seen: Set<Change.ID> = []
        var lastFirstDelivery: Change.ID?
        var values: [Int: [Int]] = [:]
        var events: Set<String> = []
        for change in changes {
            guard seen.insert(change.id).inserted else { continue }
            if let last = lastFirstDelivery, change.id <= last {
                problems.append("\(change.id) was first delivered after \(last)")
            }
            lastFirstDelivery = change.id
            switch change.table {
            case "counters":
                guard let key = change.key["k"].flatMap({ Int($0) }), let value = change.new?["v"].flatMap({ Int($0) })
                else {
                    problems.append("unexpected counters change \(change)")
                    continue
                }
                values[key, default: []].append(value)
            case "events":
                let new = change.new
                let kind = new?["kind"].map { $0.replacingQuotes } ?? "?"
                events.insert("\(kind)/\(new?["writer"] ?? "?")/\(new?["seq"] ?? "?")")
            default:
                problems.append("change of an unexpected table \(change.table)")
            }
        }
        for (key, final) in expected.finalValues.sorted(by: { $0.key < $1.key }) {
            let got = values[key] ?? []
            if got != Array(0...final) {
                problems.append("key \(key): values \(got), expected 0...\(final)")
            }
        }
        if events != expected.events {
            problems.append(
                "events missing: \(expected.events.subtracting(events).sorted()); "
                    + "unexpected: \(events.subtracting(expected.events).sorted())")
        }
        return problems
    }

    /// Whether everything that committed has arrived (ignoring order).
    static func isComplete(_ changes: [Change], expected: Expected) -> Bool {
        var finals: [Int: Int] = [:]
        var events = 0
        var seen: Set<Change.ID> = []
        for change in changes where seen.insert(change.id).inserted {
            if change.table == "counters", let key = change.key["k"].flatMap({ Int($0) }),
                let value = change.new?["v"].flatMap({ Int($0) })
            {
                finals[key] = max(finals[key] ?? 0, value)
            } else if change.table == "events" {
                events += 1
            }
        }
        return events >= expected.events.count && expected.finalValues.allSatisfy { finals[$0.key] == $0.value }
    }
}

extension String {
    /// `"short"` → `short`.
    fileprivate var replacingQuotes: String { String(self.dropFirst().dropLast()) }
}
