// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonEngine
import SiphonTestSupport
import SiphonTrigger
import Synchronization
import Testing

/// The outbox's central promise under stress: concurrent writers with long and short transactions and rollbacks,
/// readers killed at random moments and restarted, and still every committed change arrives, in commit order per
/// key, and nothing rolled back does.
@Suite struct OutboxCrashTests {
    /// Decides, batch by batch, whether the current reader "crashes": before the sink made a batch durable, or
    /// right after (before the reader could record it).
    final class Chaos: Sendable {
        private let state = Mutex<(armed: Bool, kill: AsyncStream<Void>.Continuation?, kills: Int, random: SeededGenerator)>(
            (true, nil, 0, SeededGenerator.forFaultInjection("OutboxCrashTests")))

        func setKiller(_ kill: AsyncStream<Void>.Continuation) { self.state.withLock { $0.kill = kill } }
        func disarm() { self.state.withLock { $0.armed = false } }
        var kills: Int { self.state.withLock { $0.kills } }

        func countKill() { self.state.withLock { $0.kills += 1 } }

        /// How long the next reader incarnation lives, at most.
        func lifetime() -> Duration { .milliseconds(self.state.withLock { Int.random(in: 20...400, using: &$0.random) }) }

        func beforeDelivery() throws {
            let crash = self.state.withLock { $0.armed && Int.random(in: 0..<8, using: &$0.random) == 0 }
            if crash {
                self.countKill()
                throw CancellationError()
            }
        }

        func afterDelivery() {
            let kill = self.state.withLock { state -> AsyncStream<Void>.Continuation? in
                guard state.armed, Int.random(in: 0..<6, using: &state.random) == 0 else { return nil }
                return state.kill
            }
            kill?.yield()
        }
    }

    struct Killed: Error {}

    @Test func nothingLostOrReorderedWhileReadersAreKilledAtRandom() async throws {
        try await TriggerFixture.with { db in
            let workload = Workload(db: db)
            try await db.execute(workload.tables)
            _ = try await TriggerCapture.apply(
                db.outbox([try db.capture("\(db.schema).*")]), settings: try db.settings(), logger: db.logger)
            let chaos = Chaos()
            let sink = CollectingSink(
                beforeDelivery: { _ in try chaos.beforeDelivery() }, afterDelivery: { _ in chaos.afterDelivery() })
            let configuration = try db.readerConfiguration(maxBatchSize: 7)
            let writersDone = SharedValue(false)

            let expected = try await withThrowingTaskGroup(of: Workload.Expected?.self) { group in
                group.addTask { () -> Workload.Expected? in
                    let expected = try await workload.run()
                    writersDone.withLock { $0 = true }
                    return expected
                }
                group.addTask { () -> Workload.Expected? in
                    // Reader incarnations, each killed after a random time or by the sink, until the writers finish.
                    while !writersDone.withLock({ $0 }) {
                        let (kills, kill) = AsyncStream.makeStream(of: Void.self)
                        chaos.setKiller(kill)
                        let reader = OutboxPipeline(configuration: configuration, sinks: [sink], logger: db.logger)
                        await withThrowingTaskGroup(of: Void.self) { incarnation in
                            incarnation.addTask { try await reader.run() }
                            incarnation.addTask {
                                await withTaskGroup(of: Void.self) { killer in
                                    killer.addTask { for await _ in kills { return } }
                                    let lifetime = chaos.lifetime()
                                    killer.addTask { try? await Task.sleep(for: lifetime) }
                                    await killer.next()
                                    killer.cancelAll()
                                }
                                throw Killed()
                            }
                            _ = try? await incarnation.next()
                            incarnation.cancelAll()
                        }
                        chaos.countKill()
                    }
                    return nil
                }
                var expected: Workload.Expected?
                for try await result in group { expected = expected ?? result }
                return expected!
            }

            chaos.disarm()
            try await db.withReader(configuration, sinks: [sink]) { _ in
                try await sink.wait { Workload.isComplete($0, expected: expected) }
            }
            #expect(chaos.kills >= 10)
            #expect(Workload.problems(delivered: sink.changes, expected: expected) == [])
            // Everything was delivered: catching up finds nothing new, and deletes everything from the outbox.
            let before = sink.changes.count
            try await OutboxPipeline(configuration: configuration, sinks: [sink], logger: db.logger).catchUp()
            #expect(Workload.problems(delivered: sink.changes, expected: expected) == [])
            #expect(sink.changes.count - before <= configuration.batchSize)
            #expect(try await db.query("SELECT count(*) FROM \(db.siphonSchema).outbox") == [["0"]])
        }
    }
}
