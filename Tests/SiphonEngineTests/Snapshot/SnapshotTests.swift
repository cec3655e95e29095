// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import Logging
import SiphonCore
@testable import SiphonEngine
import SiphonReplication
import SiphonTestSupport
import Testing

/// Snapshots against a real server: reads reconciled with a stream that keeps changing the table.
@Suite struct SnapshotTests {
    let logger = Logger(label: "test")

    /// What a consumer that applies every delivered change ends up holding, by key.
    struct Replica {
        var rows: [String: Row] = [:]

        mutating func apply(_ change: Change) {
            switch change.operation {
            case .insert, .update, .read:
                // An update that changed the key names the old one in `key`.
                if let old = change.key["id"], old != change.new?["id"] { self.rows[old] = nil }
                guard var new = change.new, let id = new["id"] else { return }
                // Large values an update left out stay as the consumer had them.
                for name in change.unchangedToast {
                    if let kept = self.rows[id]?[name] { new.columns.append(Row.Column(name: name, json: kept)) }
                }
                self.rows[id] = new
            case .delete:
                if let id = change.key["id"] { self.rows[id] = nil }
            case .truncate:
                self.rows.removeAll()
            }
        }

        /// The rows as one JSON object keyed by id, to compare with the table in SQL.
        var json: String {
            var output = "{"
            for (index, (id, row)) in self.rows.enumerated() {
                if index > 0 { output += "," }
                JSONText.appendString(id, to: &output)
                output += ":" + row.jsonObject
            }
            return output + "}"
        }
    }

    func pipeline(_ fixture: StreamFixture, recorder: ChangeRecorder, chunkSize: Int) -> Pipeline {
        var configuration = fixture.configuration(batch: 500)
        configuration.source.snapshots = SnapshotOptions(chunkSize: chunkSize, pollInterval: .milliseconds(100))
        return Pipeline(configuration: configuration, sinks: [recorder], logger: self.logger)
    }

    /// Keys of rows where the replica and the table differ (by `to_jsonb`); empty when they are equal.
    func differences(_ replica: Replica, table: String, settings: ConnectionSettings) async throws -> [String] {
        try await ServerConnection.withConnection(settings: settings, replication: false, logger: self.logger) {
            try await $0.query(
                """
                SELECT coalesce(a.key, b.key) || ': ' || coalesce(a.value::text, 'missing') || ' vs '
                    || coalesce(b.value::text, 'missing')
                FROM jsonb_each($1::jsonb) a
                FULL JOIN jsonb_each((SELECT coalesce(jsonb_object_agg(t.id::text, to_jsonb(t)), '{}') FROM public.\(table) t)) b
                    ON a.key = b.key
                WHERE a.value IS DISTINCT FROM b.value ORDER BY 1 LIMIT 5
                """, parameters: [replica.json]
            ).rows.map { $0[0] ?? "" }
        }
    }

    /// Makes the rows in the table predate the slot, as when Siphon is added to a database that has data: the
    /// stream then carries none of them, and a consumer has them only from the snapshot.
    func recreateSlot(_ fixture: StreamFixture) async throws {
        try await fixture.simpleQuery(
            "SELECT pg_drop_replication_slot('\(fixture.slot)'); SELECT pg_create_logical_replication_slot('\(fixture.slot)', 'pgoutput')")
    }

    func snapshotState(_ fixture: StreamFixture) async throws -> SnapshotProgress? {
        try await SnapshotRequests.progress(slot: fixture.slot, settings: fixture.settings, logger: self.logger)
            .first { $0.table.table == fixture.table }
    }

    @Test func aSnapshotWhileWritersChangeTheTableReplaysToAnExactCopy() async throws {
        let fixture = try await StreamFixture.make(
            columns: """
                id int PRIMARY KEY, note text, amount numeric(12,3), at timestamptz, tags text[], doc jsonb,
                raw bytea, span tstzrange, ip inet, flag boolean, ratio float8, uid uuid
                """, prefix: "snap")
        let rows = 30_000
        try await fixture.simpleQuery(
            """
            INSERT INTO \(fixture.table)
            SELECT i, 'row ' || i || E' \\t "quoted"', i * 1.125, '2024-01-01 00:00:00+00'::timestamptz + i * interval '1 minute',
                ARRAY['a' || i, NULL, 'c'], jsonb_build_object('n', i, 'nested', jsonb_build_array(i, 'x')),
                decode(lpad(to_hex(i), 8, '0'), 'hex'), tstzrange(now() - interval '1 day', NULL), '10.0.0.1'::inet + i,
                i % 2 = 0, i / 7.0, md5(i::text)::uuid
            FROM generate_series(1, \(rows)) i
            """)
        try await self.recreateSlot(fixture)
        let recorder = ChangeRecorder()
        let chunkSize = 2_000
        let pipeline = self.pipeline(fixture, recorder: recorder, chunkSize: chunkSize)
        try await withRunningPipeline(pipeline) {
            let requested = try await SnapshotRequests.request(
                [TableName(fixture.table)], slot: fixture.slot, publications: [fixture.publication],
                settings: fixture.settings, logger: self.logger)
            #expect(requested.map(\.state) == [.pending])
            // Two writers update, delete and re-key rows of the chunk being read until the snapshot is done, so
            // that changes land between its watermarks.
            async let first = self.write(fixture, chunkSize: chunkSize, label: "snapshot writer 1")
            async let second = self.write(fixture, chunkSize: chunkSize, label: "snapshot writer 2")
            let writes = try await first + second
            #expect(writes > 0)
            try await fixture.simpleQuery("INSERT INTO \(fixture.table) (id, note) VALUES (-1, 'the end')")
            _ = try await recorder.next(timeout: .seconds(120)) { $0.new?["id"] == "-1" }
        }
        var replica = Replica()
        for change in recorder.changes { replica.apply(change) }
        let reads = recorder.changes.filter { $0.operation == .read }
        #expect(reads.count > rows / 2)
        #expect(reads.count <= rows + 5_000)
        let differences = try await self.differences(replica, table: fixture.table, settings: fixture.settings)
        #expect(differences == [], "\(differences)")
        #expect(try await self.snapshotState(fixture)?.rowsDone ?? 0 >= Int64(rows / 2))
        // Reads carry ids in the slot's order like every other change.
        #expect(zip(recorder.changes, recorder.changes.dropFirst()).allSatisfy { $0.id < $1.id })
        try await fixture.drop()
    }

    @Test func readsRenderEveryTypeLikeToJSONBAndReachTypedHandlers() async throws {
        struct Item: Decodable, Sendable, Equatable {
            var id: Int
            var label: String?
        }
        let mood = TestEnvironment.uniqueName("mood")
        let place = TestEnvironment.uniqueName("place")
        try await TestEnvironment.execute(
            "CREATE TYPE public.\(mood) AS ENUM ('happy', 'sad')", "CREATE TYPE public.\(place) AS (x float8, label text)")
        let fixture = try await StreamFixture.make(
            columns: """
                id int PRIMARY KEY, label text, mood \(mood), place \(place), money_value money, span interval,
                day date, moment timestamp, at timestamptz(3), clock timetz, bits bit varying(12), vector tsvector,
                spot point, big numeric, tiny float4, huge float8, ids int8[], moments timestamptz[], blob bytea,
                nums int4range, net cidr, mac macaddr, doc json, flags boolean[], code char(3), xmlish xml
                """, prefix: "snaptypes")
        try await fixture.simpleQuery(
            """
            INSERT INTO \(fixture.table) VALUES
                (1, 'plain', 'happy', ROW(1.5, 'x "quoted"')::\(place), 12.34, '1 year 2 mons 3 days 04:05:06.789',
                 '2024-02-29', '2024-02-29 23:59:59.999999', '2024-02-29 23:59:59.999+05:30', '10:11:12+03',
                 B'101', 'the quick brown fox', '(1.5,-2)', 1e-20, 'NaN', '-Infinity', ARRAY[1, NULL, 3],
                 ARRAY['2024-01-01 00:00:00+00'::timestamptz, NULL], '\\x00ff10', '[1,10)', '10.1.0.0/16',
                 '08:00:2b:01:02:03', '{"b": 1,  "a": [1, 2]}', ARRAY[true, false], 'ab', '<a>x</a>'),
                (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                (3, E'tab\there \\\\ ''quote'' "dq" ☕ 😀', 'sad', ROW(NULL, NULL)::\(place), -0.01, '-1 day', 'infinity',
                 '-infinity', '1999-12-31 23:59:59.5-08', '00:00:00+00', B'', '', '(0,0)', 123456789.123456789, 3.4028235e38,
                 5e-324, '{}', '{}', '', 'empty', '::1/128', 'ff:ff:ff:ff:ff:ff', '[]', '{}', 'xyz', '')
            """)
        let recorder = ChangeRecorder()
        var handlers = ChangeHandlers()
        let typed = SharedValue<[TableChange<Item>]>([])
        try handlers.on(fixture.table, as: Item.self) { event in typed.withLock { $0.append(event) } }
        var configuration = fixture.configuration()
        configuration.source.snapshots = SnapshotOptions(chunkSize: 2, pollInterval: .milliseconds(100))
        let pipeline = Pipeline(configuration: configuration, sinks: [recorder, HandlerSink(handlers)], logger: self.logger)
        try await withRunningPipeline(pipeline) {
            let requested = try await pipeline.snapshot(tables: [fixture.table])
            #expect(requested.map(\.table) == [TableName(fixture.table)])
            _ = try await recorder.next(timeout: .seconds(90)) { $0.operation == .read && $0.new?["id"] == "3" }
        }
        let reads = recorder.changes.filter { $0.operation == .read }
        #expect(reads.map { $0.new?["id"] } == ["1", "2", "3"])
        #expect(reads.allSatisfy { $0.key.names == ["id"] && $0.xid == nil && $0.old == nil })
        for read in reads {
            let row = try #require(read.new)
            let differing = try await ServerConnection.withConnection(
                settings: fixture.settings, replication: false, logger: self.logger
            ) {
                try await $0.query(
                    """
                    SELECT a.key || ': ' || a.value::text || ' vs ' || coalesce(b.value::text, 'missing')
                    FROM jsonb_each($1::jsonb) a
                    LEFT JOIN jsonb_each((SELECT to_jsonb(t) FROM public.\(fixture.table) t WHERE id = $2::int)) b
                        ON a.key = b.key
                    WHERE a.value::text IS DISTINCT FROM b.value::text
                    """, parameters: [row.jsonObject, row["id"]]
                ).rows.map { $0[0] ?? "" }
            }
            #expect(differing == [], "row \(row["id"] ?? "?")")
            #expect(row.names.count == 26)
        }
        let items = typed.current.compactMap { event -> Item? in
            if case .read(let item) = event { return item }
            return nil
        }
        #expect(items == [Item(id: 1, label: "plain"), Item(id: 2, label: nil), Item(id: 3, label: "tab\there \\ 'quote' \"dq\" ☕ 😀")])
        try await fixture.drop()
        try await TestEnvironment.execute("DROP TYPE public.\(place)", "DROP TYPE public.\(mood)")
    }

    @Test func aConditionLimitsTheRowsRunsReadOnlyAndABadOneFailsOnlyItsRequest() async throws {
        let fixture = try await StreamFixture.make(prefix: "snapwhere")
        try await fixture.simpleQuery("INSERT INTO \(fixture.table) SELECT g, 'n' || g FROM generate_series(1, 50) g")
        let recorder = ChangeRecorder()
        let pipeline = self.pipeline(fixture, recorder: recorder, chunkSize: 7)
        let table = [TableName(fixture.table)]
        let request = { (condition: String) in
            try await SnapshotRequests.request(
                table, slot: fixture.slot, publications: [fixture.publication], settings: fixture.settings,
                condition: condition, logger: self.logger)
        }
        // Mistakes are refused before anything is recorded; a second statement never runs.
        let syntax = await #expect(throws: SiphonError.self) { try await request("id >") }
        #expect(syntax?.message.contains("the --where condition does not work on public.\(fixture.table)") == true)
        await #expect(throws: SiphonError.self) { try await request("true); DROP TABLE \(fixture.table); SELECT (1") }
        #expect(try await self.snapshotState(fixture) == nil)
        // Conditions wait in siphon.snapshots: while another role may write there, none is taken.
        try await TestEnvironment.execute(SnapshotRequests.createTableSQL)
        let intruder = TestEnvironment.uniqueName("intruder")
        try await TestEnvironment.execute(
            "CREATE ROLE \(intruder)", "GRANT USAGE ON SCHEMA siphon TO \(intruder)",
            "GRANT UPDATE ON siphon.snapshots TO \(intruder)")
        let untrusted = await #expect(throws: SiphonError.self) { try await request("id > 0") }
        #expect(untrusted?.message.contains("REVOKE INSERT, UPDATE ON siphon.snapshots FROM \(intruder);") == true)
        try await TestEnvironment.execute("DROP OWNED BY \(intruder)", "DROP ROLE \(intruder)")
        try await withRunningPipeline(pipeline) {
            let requested = try await request("id % 2 = 0")
            #expect(requested.first?.rowsEstimated ?? 0 > 0)
            _ = try await recorder.next(timeout: .seconds(90)) { $0.operation == .read && $0.new?["id"] == "50" }
            // A condition that writes is stopped by the read-only transaction: that request fails, the stream goes on.
            try await fixture.simpleQuery("CREATE SEQUENCE \(fixture.table)_seq")
            try await request("nextval('\(fixture.table)_seq') > 0")
            try await eventually { try await self.snapshotState(fixture)?.state == .failed }
            try await fixture.simpleQuery("INSERT INTO \(fixture.table) VALUES (1000, 'after')")
            _ = try await recorder.next(timeout: .seconds(90)) { $0.new?["id"] == "1000" }
        }
        let reads = recorder.changes.filter { $0.operation == .read }.compactMap { $0.new?["id"] }
        #expect(reads == (1...25).map { String($0 * 2) })
        let failed = try await self.snapshotState(fixture)
        #expect(failed?.error?.contains("read-only transaction") == true, "\(failed?.error ?? "")")
        // Dropping the slot forgets its snapshots (siphon teardown does this), so a new slot of the name starts over.
        #expect(try await SnapshotRequests.forget(slot: fixture.slot, settings: fixture.settings, logger: self.logger) == 1)
        #expect(try await self.snapshotState(fixture) == nil)
        try await fixture.simpleQuery("DROP SEQUENCE \(fixture.table)_seq")
        try await fixture.drop()
    }

    /// Polls `condition` every 50 ms for up to 60 s.
    func eventually(_ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw SiphonError(.cancelled, "the condition never held") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Writes to rows just ahead of the snapshot's progress until it is done; returns how many writes it made.
    func write(_ fixture: StreamFixture, chunkSize: Int, label: String) async throws -> Int {
        var random = SeededGenerator.forFaultInjection(label)
        var writes = 0
        var done: Int64 = 0
        while true {
            if writes % 20 == 0 {
                guard let state = try await self.snapshotState(fixture), state.state != .done else { return writes }
                done = state.rowsDone
            }
            let id = Int(done) + Int.random(in: 1...chunkSize, using: &random)
            let table = fixture.table
            switch writes % 4 {
            case 0: try await fixture.simpleQuery("UPDATE \(table) SET note = 'changed \(writes)', amount = amount + 1 WHERE id = \(id)")
            case 1: try await fixture.simpleQuery("DELETE FROM \(table) WHERE id = \(id)")
            case 2: try await fixture.simpleQuery("INSERT INTO \(table) (id, note) VALUES (\(id), 'new') ON CONFLICT (id) DO UPDATE SET note = 'upserted'")
            default: try await fixture.simpleQuery("UPDATE \(table) SET id = id + 100000 WHERE id = \(id)")
            }
            writes += 1
            guard writes < 200_000 else { throw SiphonError(.cancelled, "the snapshot never finished") }
        }
    }

    @Test func updatesThatLeaveLargeValuesOutNeverHideThemFromAConsumerThatLacksTheRow() async throws {
        let fixture = try await StreamFixture.make(columns: "id int PRIMARY KEY, n int NOT NULL, big text", prefix: "snaptoast")
        let rows = 3_000
        // Random hex well over the TOAST threshold even compressed: stored out of line, so updates that do not touch
        // it leave it out of the stream.
        try await fixture.simpleQuery(
            """
            INSERT INTO \(fixture.table)
            SELECT g, 0, (SELECT string_agg(md5(random()::text || g || s), '') FROM generate_series(1, 300) s)
            FROM generate_series(1, \(rows)) g
            """)
        try await self.recreateSlot(fixture)
        let recorder = ChangeRecorder()
        let chunkSize = 500
        let pipeline = self.pipeline(fixture, recorder: recorder, chunkSize: chunkSize)
        try await withRunningPipeline(pipeline) {
            try await SnapshotRequests.request(
                [TableName(fixture.table)], slot: fixture.slot, publications: [fixture.publication],
                settings: fixture.settings, logger: self.logger)
            // Two writers, each on one connection, update rows of the chunk being read (and the next) as fast as
            // they can, so that updates land between its watermarks.
            async let first = self.updateAhead(fixture, chunkSize: chunkSize, label: "toast writer 1")
            async let second = self.updateAhead(fixture, chunkSize: chunkSize, label: "toast writer 2")
            _ = try await (first, second)
            try await fixture.simpleQuery("INSERT INTO \(fixture.table) VALUES (-1, 0, 'the end')")
            _ = try await recorder.next(timeout: .seconds(120)) { $0.new?["id"] == "-1" }
        }
        #expect(recorder.changes.contains { !$0.unchangedToast.isEmpty }, "no update left a large value out")
        var replica = Replica()
        for change in recorder.changes { replica.apply(change) }
        let differences = try await self.differences(replica, table: fixture.table, settings: fixture.settings)
        #expect(differences.isEmpty, "\(differences.map { String($0.prefix(120)) })")
        try await fixture.drop()
    }

    /// Bumps `n` of rows just ahead of the snapshot's progress, on one connection, until the snapshot is done.
    func updateAhead(_ fixture: StreamFixture, chunkSize: Int, label: String) async throws {
        var random = SeededGenerator.forFaultInjection(label)
        try await ServerConnection.withConnection(settings: fixture.settings, replication: false, logger: self.logger) {
            connection in
            var done: Int64 = 0
            for writes in 0..<200_000 {
                if writes % 50 == 0 {
                    guard let state = try await self.snapshotState(fixture), state.state != .done else { return }
                    done = state.rowsDone
                }
                let id = Int(done) + Int.random(in: 1...(2 * chunkSize), using: &random)
                try await connection.query(
                    "UPDATE public.\(fixture.table) SET n = n + 1 WHERE id = $1", parameters: [String(id)])
            }
            throw SiphonError(.cancelled, "the snapshot never finished")
        }
    }

    @Test func snapshotOptionsThatCouldNeverFinishAreRefused() async throws {
        let fixture = try await StreamFixture.make(prefix: "snapopts")
        var configuration = fixture.configuration()
        configuration.source.snapshots = SnapshotOptions(chunkSize: 0)
        let pipeline = Pipeline(configuration: configuration, sinks: [ChangeRecorder()], logger: self.logger)
        let error = await #expect(throws: SiphonError.self) { try await pipeline.run() }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("at least one row") == true)
        try await fixture.drop()
    }

    @Test func tablesThatCannotBeSnapshottedAreRefusedWithTheFix() async throws {
        let fixture = try await StreamFixture.make(columns: "id int, note text", prefix: "snapnokey")
        let error = await #expect(throws: SiphonError.self) {
            try await SnapshotRequests.request(
                [TableName(fixture.table), TableName("no_such_table_at_all")], slot: fixture.slot,
                publications: [fixture.publication], settings: fixture.settings, logger: self.logger)
        }
        #expect(error?.message.contains("has no primary key") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("ADD PRIMARY KEY") == true)
        #expect(error?.message.contains("no_such_table_at_all does not exist") == true)
        let unpublished = TestEnvironment.uniqueName("snapunpub")
        try await fixture.simpleQuery("CREATE TABLE public.\(unpublished) (id int PRIMARY KEY)")
        let notPublished = await #expect(throws: SiphonError.self) {
            try await SnapshotRequests.request(
                [TableName(unpublished)], slot: fixture.slot, publications: [fixture.publication],
                settings: fixture.settings, logger: self.logger)
        }
        #expect(notPublished?.message.contains("ALTER PUBLICATION") == true, "\(notPublished?.message ?? "")")
        try await fixture.simpleQuery("DROP TABLE public.\(unpublished)")
        try await fixture.drop()
    }
}
