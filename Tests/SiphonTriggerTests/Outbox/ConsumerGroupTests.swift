// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonEngine
import SiphonTestSupport
import SiphonTrigger
import Testing

@Suite struct ConsumerGroupTests {
    /// The values each key went through, in delivery order; `nil` when a change arrived twice.
    static func valuesPerKey(_ changes: [Change]) -> [String: [Int]]? {
        guard Set(changes.map(\.id)).count == changes.count else { return nil }
        var values: [String: [Int]] = [:]
        for change in changes {
            values[change.key["k"]!, default: []].append(Int(change.new!["v"]!)!)
        }
        return values
    }

    @Test func eachGroupGetsEveryChangeOnceInKeyOrderWhileReadersShareIt() async throws {
        try await TriggerFixture.with { db in
            try await db.execute("CREATE TABLE \(db.s).counters (k int PRIMARY KEY, v int NOT NULL)")
            let audit = ConsumerGroup(name: "audit", partitions: 1)
            let billing = ConsumerGroup(name: "billing", partitions: 3)
            _ = try await TriggerCapture.apply(
                db.outbox([try db.capture("\(db.schema).counters") { $0.operations = [.insert, .update] }],
                    groups: [audit, billing]),
                settings: try db.settings(), logger: db.logger)
            let audited = CollectingSink()
            let billed = CollectingSink()
            let first = CollectingSink()
            let second = CollectingSink()
            let keys = 12
            try await db.execute("INSERT INTO \(db.s).counters SELECT k, 0 FROM generate_series(1, \(keys)) AS k")
            var rounds = 0
            try await db.withReader(try db.readerConfiguration(group: audit), sinks: [audited]) { _ in
                try await db.withReader(try db.readerConfiguration(group: billing), sinks: [first, billed]) { firstReader in
                    try await db.withReader(try db.readerConfiguration(group: billing), sinks: [second, billed]) {
                        secondReader in
                        // Keep writing until the second reader took over some partitions and delivered from them.
                        repeat {
                            rounds += 1
                            try await db.execute(
                                "UPDATE \(db.s).counters SET v = v + 1 WHERE k = \(Int.random(in: 1...keys))",
                                "UPDATE \(db.s).counters SET v = v + 1")
                            let expected = keys + rounds * (keys + 1)
                            try await billed.wait { $0.count >= expected }
                            try await audited.wait { $0.count >= expected }
                        } while (second.changes.isEmpty || first.changes.isEmpty) && rounds < 200
                        #expect(
                            Set(firstReader.source.statistics.partitions).isDisjoint(with: secondReader.source.statistics.partitions))
                        #expect(
                            Set(firstReader.source.statistics.partitions + secondReader.source.statistics.partitions) == [0, 1, 2])
                    }
                }
            }
            #expect(!first.changes.isEmpty && !second.changes.isEmpty)
            let finals = try await db.query("SELECT k, v FROM \(db.s).counters ORDER BY k")
            for sink in [audited, billed] {
                let values = try #require(Self.valuesPerKey(sink.changes))
                for row in finals {
                    #expect(values[row[0]!] == Array(0...Int(row[1]!)!))
                }
            }
            // Both groups delivered everything, so the last reader to stop cleanly emptied the outbox.
            #expect(try await db.query("SELECT count(*) FROM \(db.siphonSchema).outbox") == [["0"]])
        }
    }

    @Test func aReaderWithAnotherPartitionCountIsRefused() async throws {
        try await TriggerFixture.with { db in
            try await db.execute("CREATE TABLE \(db.s).t (id int PRIMARY KEY)")
            _ = try await TriggerCapture.apply(
                db.outbox([try db.capture("\(db.schema).t")], groups: [ConsumerGroup(name: "g", partitions: 4)]),
                settings: try db.settings(), logger: db.logger)
            let reader = OutboxPipeline(
                configuration: try db.readerConfiguration(group: ConsumerGroup(name: "g", partitions: 2)), sinks: [],
                logger: db.logger)
            let error = await #expect(throws: SiphonError.self) { try await reader.run() }
            #expect(
                error?.message == "consumer group 'g' of \(db.siphonSchema).outbox is registered with 4 partitions, "
                    + "not 2; use that count, or another group name")
        }
    }

    @Test func aReaderCanTakeThePartitionCountTheGroupWasRegisteredWith() async throws {
        try await TriggerFixture.with { db in
            try await db.execute("CREATE TABLE \(db.s).t (id int PRIMARY KEY)")
            _ = try await TriggerCapture.apply(
                db.outbox([try db.capture("\(db.schema).t")], groups: [ConsumerGroup(name: "g", partitions: 4)]),
                settings: try db.settings(), logger: db.logger)
            try await db.execute("INSERT INTO \(db.s).t SELECT generate_series(1, 20)")
            var configuration = try db.readerConfiguration(group: ConsumerGroup(name: "g"))
            configuration.partitionsFromRegistration = true
            let sink = CollectingSink()
            try await db.withReader(configuration, sinks: [sink]) { reader in
                try await sink.wait { $0.count == 20 }
                #expect(reader.source.statistics.partitions == [0, 1, 2, 3])
            }
            #expect(sink.changes.compactMap { Int($0.key["id"] ?? "") }.sorted() == Array(1...20))
        }
    }
}
