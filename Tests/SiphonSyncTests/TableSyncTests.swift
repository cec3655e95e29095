// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import Logging
import SiphonCore
import SiphonEngine
import SiphonReplication
import SiphonSync
import SiphonTestSupport
import Testing

/// Table sync between the two test clusters.
@Suite struct TableSyncTests {
    @Test func everyTypeSurvivesTheInitialCopyAndEveryKindOfChange() async throws {
        let mood = TestEnvironment.uniqueName("mood")
        let place = TestEnvironment.uniqueName("place")
        let types = "CREATE TYPE public.\(mood) AS ENUM ('happy', 'sad'); CREATE TYPE public.\(place) AS (x float8, label text)"
        let probe = try await SyncFixture.make(columns: "id int PRIMARY KEY", prefix: "probe")
        try await probe.execute(types, on: probe.source)
        try await probe.execute(types, on: probe.target)
        let fixture = try await SyncFixture.make(
            columns: """
                id int PRIMARY KEY, label text, mood \(mood), place \(place), money_value money, span interval,
                day date, moment timestamp, at timestamptz(3), clock timetz, bits bit varying(12), vector tsvector,
                spot point, big numeric, tiny float4, huge float8, ids int8[], moments timestamptz[], blob bytea,
                nums int4range, net cidr, mac macaddr, doc json, flags boolean[], code char(3), xmlish xml,
                large text
                """, prefix: "synctypes")
        let rows = """
            INSERT INTO \(fixture.table) VALUES
                (1, 'plain', 'happy', ROW(1.5, 'x "quoted"')::\(place), 12.34, '1 year 2 mons 3 days 04:05:06.789',
                 '2024-02-29', '2024-02-29 23:59:59.999999', '2024-02-29 23:59:59.999+05:30', '10:11:12+03',
                 B'101', 'the quick brown fox', '(1.5,-2)', 1e-20, 'NaN', '-Infinity', ARRAY[1, NULL, 3],
                 ARRAY['2024-01-01 00:00:00+00'::timestamptz, NULL], '\\x00ff10', '[1,10)', '10.1.0.0/16',
                 '08:00:2b:01:02:03', '{"b": 1,  "a": [1, 2]}', ARRAY[true, false], 'ab', '<a>x</a>', NULL),
                (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                (3, E'tab\\there \\\\ ''quote'' "dq" ☕ 😀', 'sad', ROW(NULL, NULL)::\(place), -0.01, '-1 day', 'infinity',
                 '-infinity', '1999-12-31 23:59:59.5-08', '00:00:00+00', B'', '', '(0,0)', 123456789.123456789,
                 3.4028235e38, 5e-324, '{}', '{}', '', 'empty', '::1/128', 'ff:ff:ff:ff:ff:ff', '[]', '{}', 'xyz', '',
                 NULL)
            """
        // Rows 1–3 exist before the sync starts (the initial copy brings them); 11–13 arrive as changes.
        try await fixture.execute(rows, on: fixture.source)
        let left = try await fixture.running(fixture.configuration()) { _, _ in
            try await fixture.execute(
                rows.replacingOccurrences(of: "(1, ", with: "(11, ").replacingOccurrences(of: "(2, ", with: "(12, ")
                    .replacingOccurrences(of: "(3, ", with: "(13, "), on: fixture.source)
            try await fixture.execute(
                """
                UPDATE \(fixture.table) SET large = (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 4000) g)
                WHERE id IN (1, 11);
                UPDATE \(fixture.table) SET label = 'changed beside a large value' WHERE id = 11;
                UPDATE \(fixture.table) SET id = 21 WHERE id = 12;
                DELETE FROM \(fixture.table) WHERE id = 13;
                BEGIN; UPDATE \(fixture.table) SET big = big + 1 WHERE id = 3; DELETE FROM \(fixture.table) WHERE id = 2; COMMIT;
                """, on: fixture.source)
            return try await fixture.waitUntilEqual()
        }
        #expect(left == [])
        let target = try await fixture.rows(on: fixture.target)
        #expect(target.keys.sorted() == ["1", "11", "21", "3"])
        // The update that left the large value out kept the target's copy of it.
        #expect(target["11"]?.contains("changed beside a large value") == true)
        #expect((target["11"]?.utf8.count ?? 0) > 128_000)
        try await fixture.drop()
        try await probe.drop()
        try await probe.execute("DROP TYPE public.\(place); DROP TYPE public.\(mood)", on: probe.source)
        try await probe.execute("DROP TYPE public.\(place); DROP TYPE public.\(mood)", on: probe.target)
    }

    @Test func aRestartResumesWhereTheTargetCommittedAndAppliesNothingTwice() async throws {
        let fixture = try await SyncFixture.make(columns: "id int PRIMARY KEY, n int NOT NULL")
        // Counts what really happens to each target row: an insert replayed after a restart would show as an update.
        try await fixture.execute(
            """
            CREATE TABLE \(fixture.table.schema).\(fixture.table.table)_events (id int, op text);
            CREATE FUNCTION \(fixture.table.table)_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
                INSERT INTO \(fixture.table.schema).\(fixture.table.table)_events
                VALUES (coalesce(NEW.id, OLD.id), TG_OP); RETURN NULL; END $$;
            CREATE TRIGGER count_events AFTER INSERT OR UPDATE OR DELETE ON \(fixture.table)
                FOR EACH ROW EXECUTE FUNCTION \(fixture.table.table)_count();
            ALTER TABLE \(fixture.table) ENABLE ALWAYS TRIGGER count_events;
            """, on: fixture.target)
        let configuration = fixture.configuration(initialCopy: false, batchSize: 7)
        let first = try await fixture.running(configuration) { _, _ in
            try await fixture.execute("INSERT INTO \(fixture.table) SELECT g, 0 FROM generate_series(1, 50) g", on: fixture.source)
            return try await fixture.waitUntilEqual()
        }
        #expect(first == [])
        // Written while the sync is stopped: the slot keeps it.
        try await fixture.execute(
            """
            UPDATE \(fixture.table) SET n = n + 1 WHERE id <= 20;
            DELETE FROM \(fixture.table) WHERE id > 45;
            INSERT INTO \(fixture.table) SELECT g, 1 FROM generate_series(51, 60) g;
            """, on: fixture.source)
        let before = try await fixture.applied(on: fixture.target)
        #expect(before != nil)
        let second = try await fixture.running(configuration) { _, _ in try await fixture.waitUntilEqual() }
        #expect(second == [])
        let events = try await fixture.execute(
            "SELECT op, count(*) FROM \(fixture.table.schema).\(fixture.table.table)_events GROUP BY op ORDER BY op",
            on: fixture.target
        ).rows.map { "\($0[0] ?? "") \($0[1] ?? "")" }
        #expect(events == ["DELETE 5", "INSERT 60", "UPDATE 20"])
        try await fixture.execute(
            "DROP TABLE \(fixture.table.schema).\(fixture.table.table)_events; DROP TRIGGER count_events ON \(fixture.table); "
                + "DROP FUNCTION \(fixture.table.table)_count()", on: fixture.target)
        try await fixture.drop()
    }

    @Test func bothWaysUnderWritesOnBothSidesSendsNothingBack() async throws {
        let fixture = try await SyncFixture.make(columns: "id int PRIMARY KEY, side text, n int NOT NULL")
        try await fixture.execute("INSERT INTO \(fixture.table) SELECT g, 'source', 0 FROM generate_series(1, 100) g", on: fixture.source)
        let left = try await fixture.running(fixture.configuration(bothWays: true)) { _, pipelines in
            #expect(pipelines.count == 2)
            let copied = try await fixture.waitUntilEqual()
            #expect(copied == [])
            // Each side writes its own keys, concurrently.
            async let sourceWrites: Void = self.write(on: fixture.source, table: fixture.table, keys: 1...100, side: "source")
            async let targetWrites: Void = self.write(on: fixture.target, table: fixture.table, keys: 1001...1100, side: "target")
            _ = try await (sourceWrites, targetWrites)
            let differences = try await fixture.waitUntilEqual()
            // Quiet now: a loop would keep applying the same changes back and forth.
            let forward = try await fixture.applied(on: fixture.target)
            let reverse = try await fixture.applied(on: fixture.source, reverse: true)
            try await Task.sleep(for: .seconds(3))
            let forwardLater = try await fixture.applied(on: fixture.target)
            let reverseLater = try await fixture.applied(on: fixture.source, reverse: true)
            #expect(forwardLater == forward)
            #expect(reverseLater == reverse)
            #expect(forward != nil && reverse != nil)
            return differences
        }
        #expect(left == [])
        // 100 rows copied, 20 more written on the target and sent back.
        let report = try await TableVerifier(source: fixture.source, target: fixture.target, logger: fixture.logger)
            .verify(fixture.table, chunkSize: 50)
        #expect(report.isEqual && report.sourceRows == 120 && report.chunks == 3)
        try await fixture.drop()
    }

    @Test func rowsBothSidesChangedWhileApartEndAsTheNewerVersionOnBothWithTheConflictsRecorded() async throws {
        let fixture = try await SyncFixture.make(columns: "id int PRIMARY KEY, v text, at timestamptz NOT NULL")
        try await fixture.execute(
            "INSERT INTO \(fixture.table) SELECT g, 'first', '2026-01-01' FROM generate_series(1, 10) g", on: fixture.source)
        var configuration = fixture.configuration(bothWays: true)
        configuration.conflictRules = [fixture.table: ConflictRule(resolution: .newest, column: "at")]
        let copied = try await fixture.running(configuration) { _, _ in try await fixture.waitUntilEqual() }
        #expect(copied == [])
        // Both sides write while the sync is down; the target's writes come later.
        try await fixture.execute(
            "UPDATE \(fixture.table) SET v = 'source', at = clock_timestamp() WHERE id BETWEEN 1 AND 5", on: fixture.source)
        try await fixture.execute(
            "UPDATE \(fixture.table) SET v = 'target', at = clock_timestamp() WHERE id BETWEEN 3 AND 7", on: fixture.target)
        let left = try await fixture.running(configuration) { _, _ in try await fixture.waitUntilEqual() }
        #expect(left == [])
        let values = try await fixture.execute("SELECT string_agg(v, ',' ORDER BY id) FROM \(fixture.table)", on: fixture.source)
        #expect(values.rows.first?.first == "source,source,target,target,target,target,target,first,first,first")
        let recorded = try await fixture.execute(
            """
            SELECT string_agg((source_row->>'id') || ' ' || (source_row->>'v') || '<' || (target_row->>'v'), ','
                ORDER BY source_row->>'id'), min(rule), min(resolution)
            FROM siphon.sync_conflicts WHERE sync = 'siphon_sync_\(fixture.name)'
            """, on: fixture.target)
        #expect(recorded.rows.first == ["3 source<target,4 source<target,5 source<target", "newest:at", "kept the newer target row"])
        try await fixture.execute("DELETE FROM siphon.sync_conflicts WHERE sync LIKE 'siphon_sync_\(fixture.name)%'", on: fixture.target)
        try await fixture.drop()
    }

    @Test func tablesThatAlreadyHoldDifferentRowsMergeIntoTheirUnionWithTheNewerRowOfEachKey() async throws {
        let fixture = try await SyncFixture.make(columns: "id int PRIMARY KEY, v text, at timestamptz NOT NULL")
        try await fixture.execute(
            """
            INSERT INTO \(fixture.table) SELECT g, 'source', '2026-01-01'::timestamptz + g * interval '1 day'
            FROM generate_series(1, 200) g
            """, on: fixture.source)
        // The target holds half of those keys, older on the odd ones and newer on the even ones, and keys of its own.
        try await fixture.execute(
            """
            INSERT INTO \(fixture.table)
            SELECT g, 'target', '2026-01-01'::timestamptz + g * interval '1 day' + CASE WHEN g % 2 = 0 THEN interval '1 hour' ELSE interval '-1 hour' END
            FROM generate_series(101, 300) g
            """, on: fixture.target)
        var configuration = fixture.configuration(bothWays: true)
        configuration.conflictRules = [fixture.table: ConflictRule(resolution: .newest, column: "at")]
        configuration.mergeInitialCopy = true
        let left = try await fixture.running(configuration) { _, _ in try await fixture.waitUntilEqual() }
        #expect(left == [])
        let sides = try await fixture.execute(
            "SELECT v, count(*) FROM \(fixture.table) GROUP BY v ORDER BY v", on: fixture.source)
        // 1–100 only on the source, 101–200 on both (even: the target's newer row), 201–300 only on the target.
        #expect(sides.rows == [["source", "150"], ["target", "150"]])
        try await fixture.execute("DELETE FROM siphon.sync_conflicts WHERE sync LIKE 'siphon_sync_\(fixture.name)%'", on: fixture.source)
        try await fixture.execute("DELETE FROM siphon.sync_conflicts WHERE sync LIKE 'siphon_sync_\(fixture.name)%'", on: fixture.target)
        try await fixture.drop()
        var unruled = fixture.configuration(bothWays: true)
        unruled.mergeInitialCopy = true
        #expect(throws: SiphonError.self) { try TableSync(configuration: unruled, logger: fixture.logger) }
    }

    @Test func theStopRuleStopsTheSyncAtAConflictAndRecordsItOnce() async throws {
        let fixture = try await SyncFixture.make(columns: "id int PRIMARY KEY, v text, at timestamptz NOT NULL")
        try await fixture.execute("INSERT INTO \(fixture.table) VALUES (1, 'old', '2026-01-01')", on: fixture.source)
        var configuration = fixture.configuration()
        configuration.conflictRules = [fixture.table: ConflictRule(resolution: .stop, column: "at")]
        let copied = try await fixture.running(configuration) { _, _ in try await fixture.waitUntilEqual() }
        #expect(copied == [])
        try await fixture.execute("UPDATE \(fixture.table) SET v = 'target', at = '2027-01-01'", on: fixture.target)
        try await fixture.execute("UPDATE \(fixture.table) SET v = 'source', at = '2026-06-01'", on: fixture.source)
        let sync = try TableSync(configuration: configuration, logger: fixture.logger)
        let error = await #expect(throws: SiphonError.self) {
            try await sync.makePipelines()[0].run()
        }
        #expect(error?.message.contains("conflict in \(fixture.table) under the rule stop:at") == true, "\(String(describing: error))")
        let target = try await fixture.rows(on: fixture.target)
        #expect(target["1"]?.contains("\"target\"") == true)
        let recorded = try await fixture.execute(
            "SELECT count(*), min(resolution) FROM siphon.sync_conflicts WHERE sync = 'siphon_sync_\(fixture.name)'",
            on: fixture.target)
        #expect(recorded.rows.first == ["1", "stopped"])
        try await fixture.execute("DELETE FROM siphon.sync_conflicts WHERE sync = 'siphon_sync_\(fixture.name)'", on: fixture.target)
        try await fixture.drop()
    }

    @Test func theSequencePlanKeepsIdsFromBothSidesApart() async throws {
        let fixture = try await SyncFixture.make(columns: "id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, side text")
        try await fixture.execute("INSERT INTO \(fixture.table) (side) SELECT 'source' FROM generate_series(1, 50)", on: fixture.source)
        try await fixture.execute("INSERT INTO \(fixture.table) (side) VALUES ('target')", on: fixture.target)
        let configuration = fixture.configuration(bothWays: true)
        let sync = try TableSync(configuration: configuration, logger: fixture.logger)
        let plan = try await sync.sequencePlan()
        #expect(plan.findings.count == 1, "\(plan.description)")
        try await sync.apply(plan)
        #expect(try await sync.sequencePlan().findings == [])
        // The target's own row 1 collides with the source's row 1 before the plan can help: keep it out of the copy.
        try await fixture.execute("DELETE FROM \(fixture.table)", on: fixture.target)
        let left = try await fixture.running(configuration) { _, _ in
            async let sourceRows = fixture.execute(
                "INSERT INTO \(fixture.table) (side) SELECT 'source' FROM generate_series(1, 30)", on: fixture.source)
            async let targetRows = fixture.execute(
                "INSERT INTO \(fixture.table) (side) SELECT 'target' FROM generate_series(1, 30)", on: fixture.target)
            _ = try await (sourceRows, targetRows)
            return try await fixture.waitUntilEqual()
        }
        #expect(left == [])
        let sides = try await fixture.execute(
            "SELECT side, count(*), bool_and(id % 2 = CASE side WHEN 'source' THEN 1 ELSE 0 END OR id <= 50) "
                + "FROM \(fixture.table) GROUP BY side ORDER BY side", on: fixture.target)
        #expect(sides.rows == [["source", "80", "t"], ["target", "30", "t"]])
        try await fixture.drop()
    }

    @Test func aSideWithoutLogicalReplicationIsReadThroughATriggerOutboxBothWays() async throws {
        let fixture = try await SyncFixture.make(columns: "id int PRIMARY KEY, side text, n int NOT NULL")
        try await fixture.execute(
            "INSERT INTO \(fixture.table) SELECT g, 'existing', 0 FROM generate_series(1, 300) g", on: fixture.source)
        var configuration = fixture.configuration(bothWays: true)
        configuration.sourceCapture = .trigger
        configuration.targetCapture = .trigger
        let left = try await fixture.running(configuration) { _, _ in
            let copied = try await fixture.waitUntilEqual()
            #expect(copied == [])
            try await self.write(on: fixture.source, table: fixture.table, keys: 1...100, side: "source")
            try await self.write(on: fixture.target, table: fixture.table, keys: 1001...1100, side: "target")
            try await fixture.execute("DELETE FROM \(fixture.table) WHERE id BETWEEN 290 AND 300", on: fixture.target)
            let differences = try await fixture.waitUntilEqual()
            // Quiet now: nothing the sync applied was captured by the other side's outbox and sent back.
            let forward = try await fixture.applied(on: fixture.target)
            let reverse = try await fixture.applied(on: fixture.source, reverse: true)
            try await Task.sleep(for: .seconds(2))
            let forwardLater = try await fixture.applied(on: fixture.target)
            let reverseLater = try await fixture.applied(on: fixture.source, reverse: true)
            #expect(forwardLater == forward && reverseLater == reverse)
            return differences
        }
        #expect(left == [])
        // 300 copied, 20 written on the target, 11 deleted there.
        #expect(try await fixture.rows(on: fixture.target).count == 309)
        try await fixture.drop(configuration)
        for side in [fixture.source, fixture.target] {
            let outboxes = try await fixture.execute(
                "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'sync\\_\(fixture.name)%'", on: side)
            #expect(outboxes.rows.first?.first == "0")
        }
    }

    /// Twenty transactions of inserts and updates of `keys`, each tagged with `side`.
    func write(on settings: ConnectionSettings, table: TableName, keys: ClosedRange<Int>, side: String) async throws {
        try await ServerConnection.withConnection(settings: settings, replication: false, logger: Logger(label: "test")) {
            connection in
            for round in 0..<20 {
                let key = keys.lowerBound + round
                try await connection.simpleQuery(
                    """
                    BEGIN;
                    INSERT INTO \(table) VALUES (\(key), '\(side)', \(round)) ON CONFLICT (id) DO UPDATE SET n = \(round);
                    UPDATE \(table) SET n = n + 1 WHERE id BETWEEN \(keys.lowerBound) AND \(keys.lowerBound + 10);
                    COMMIT;
                    """)
            }
        }
    }

    @Test func aTargetThatGoesAwayIsCaughtUpWhenItComesBack() async throws {
        let fixture = try await SyncFixture.make(columns: "id int PRIMARY KEY, n int NOT NULL")
        guard case .tcp(let host, let port) = fixture.target.endpoint else {
            Issue.record("the target cluster is not reached over TCP")
            return
        }
        let relay = try await TCPRelay(to: host, port: port)
        var configuration = fixture.configuration(initialCopy: false)
        configuration.target.endpoint = .tcp(host: "127.0.0.1", port: relay.port)
        let (whileDown, afterwards) = try await fixture.running(configuration) { _, _ in
            try await fixture.execute("INSERT INTO \(fixture.table) SELECT g, 0 FROM generate_series(1, 100) g", on: fixture.source)
            let first = try await fixture.waitUntilEqual()
            #expect(first == [])
            await relay.cut()
            // The application's own writes do not wait for the other side.
            for round in 1...10 {
                try await fixture.execute(
                    "UPDATE \(fixture.table) SET n = \(round) WHERE id <= \(round * 10); "
                        + "INSERT INTO \(fixture.table) VALUES (\(100 + round), \(round))", on: fixture.source)
                try await Task.sleep(for: .milliseconds(300))
            }
            let whileDown = try await fixture.differences().count
            relay.restore()
            return (whileDown, try await fixture.waitUntilEqual())
        }
        await relay.close()
        #expect(whileDown > 0, "the target received changes while it was cut off")
        #expect(afterwards == [])
        try await fixture.drop()
    }

    @Test func aTargetRoleWithoutTheNeededPrivilegesIsToldEveryGrantAndThenSyncs() async throws {
        let role = TestEnvironment.uniqueName("writer")
        let database = TestEnvironment.uniqueName("db")
        let admin = try ConnectionSettings(url: try TestEnvironment.targetURL(), environment: [:])
        var adminOfDatabase = admin
        adminOfDatabase.database = database
        let fixture = try await SyncFixture.make(columns: "id int PRIMARY KEY, v text", onTarget: false)
        try await fixture.execute("CREATE ROLE \(role) LOGIN", on: admin)
        try await fixture.execute("CREATE DATABASE \(database)", on: admin)
        try await fixture.execute("CREATE TABLE \(fixture.table) (id int PRIMARY KEY, v text)", on: adminOfDatabase)
        var configuration = fixture.configuration(initialCopy: false)
        configuration.target.user = role
        configuration.target.password = nil
        configuration.target.database = database
        let error = await #expect(throws: SiphonError.self) {
            try await TableSync(configuration: configuration, logger: fixture.logger).prepare()
        }
        let message = error?.message ?? ""
        #expect(message.contains("GRANT SET ON PARAMETER session_replication_role TO \(role);"), "\(message)")
        #expect(message.contains("GRANT CREATE ON DATABASE \(database) TO \(role);"))
        #expect(message.contains("GRANT EXECUTE ON FUNCTION pg_replication_origin_create(text), "))
        #expect(message.contains("lacks SELECT, INSERT, UPDATE, DELETE, TRUNCATE on \(fixture.table)"))
        // Nothing was created on the source.
        let slots = try await fixture.execute(
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'siphon_sync_\(fixture.name)'", on: fixture.source)
        #expect(slots.rows.first?.first == "0")
        try await fixture.execute(
            """
            GRANT SET ON PARAMETER session_replication_role TO \(role);
            GRANT CREATE ON DATABASE \(database) TO \(role);
            GRANT EXECUTE ON FUNCTION pg_replication_origin_create(text), pg_replication_origin_session_setup(text),
                pg_replication_origin_xact_setup(pg_lsn, timestamp with time zone) TO \(role);
            GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON \(fixture.table) TO \(role);
            """, on: adminOfDatabase)
        let target = try ConnectionSettings(url: try TestEnvironment.targetURL(), environment: [:])
        let left = try await fixture.running(configuration) { _, _ in
            try await fixture.execute("INSERT INTO \(fixture.table) VALUES (1, 'granted')", on: fixture.source)
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(120)
            while clock.now < deadline {
                let rows = try await fixture.execute("SELECT v FROM \(fixture.table)", on: adminOfDatabase).rows
                if rows == [["granted"]] { return rows }
                try await Task.sleep(for: .milliseconds(100))
            }
            return try await fixture.execute("SELECT v FROM \(fixture.table)", on: adminOfDatabase).rows
        }
        #expect(left == [["granted"]])
        var cleanup = configuration
        cleanup.target = adminOfDatabase
        try await fixture.drop(cleanup)
        try await fixture.execute("DROP DATABASE \(database) WITH (FORCE)", on: target)
        try await fixture.execute("REVOKE SET ON PARAMETER session_replication_role FROM \(role)", on: target)
        try await fixture.execute("DROP ROLE \(role)", on: target)
    }

    @Test func aColumnAddedOnBothSidesFlowsOnAndOneMissingOnTheTargetStopsTheSyncWithTheFix() async throws {
        let fixture = try await SyncFixture.make(columns: "id int PRIMARY KEY, v text")
        let configuration = fixture.configuration(initialCopy: false)
        let left = try await fixture.running(configuration) { _, _ in
            try await fixture.execute("INSERT INTO \(fixture.table) VALUES (1, 'before')", on: fixture.source)
            let first = try await fixture.waitUntilEqual()
            #expect(first == [])
            // The documented order: the target first, then the source.
            try await fixture.execute("ALTER TABLE \(fixture.table) ADD COLUMN extra int", on: fixture.target)
            try await fixture.execute("ALTER TABLE \(fixture.table) ADD COLUMN extra int", on: fixture.source)
            try await fixture.execute("INSERT INTO \(fixture.table) VALUES (2, 'after', 5)", on: fixture.source)
            try await fixture.execute("UPDATE \(fixture.table) SET extra = 7 WHERE id = 1", on: fixture.source)
            return try await fixture.waitUntilEqual()
        }
        #expect(left == [])
        try await fixture.execute("ALTER TABLE \(fixture.table) ADD COLUMN only_here text", on: fixture.source)
        try await fixture.execute("INSERT INTO \(fixture.table) VALUES (3, 'orphan', 1, 'x')", on: fixture.source)
        let sync = try TableSync(configuration: configuration, logger: fixture.logger)
        let error = await #expect(throws: SiphonError.self) { try await sync.makePipelines()[0].run() }
        #expect(
            error?.message.contains(
                "column only_here of \(fixture.table) arrived from the source, but the target's table has no such column")
                == true, "\(String(describing: error))")
        try await fixture.drop()
    }

    @Test func tablesThatDifferAreRefusedWithEveryDifferenceAndItsFix() async throws {
        let fixture = try await SyncFixture.make(columns: "id int PRIMARY KEY, name text, price numeric", onTarget: false)
        try await fixture.execute("CREATE TABLE \(fixture.table) (id bigint PRIMARY KEY, price numeric)", on: fixture.target)
        let error = await #expect(throws: SiphonError.self) {
            try await TableSync(configuration: fixture.configuration(), logger: fixture.logger).prepare()
        }
        let message = error?.message ?? ""
        #expect(message.contains("column id is integer on the source but bigint on the target"))
        #expect(message.contains("column name is missing on the target; add it: ALTER TABLE \(fixture.table) ADD COLUMN name text;"))
        // Nothing was created on either side.
        let slots = try await fixture.execute(
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'siphon_sync_\(fixture.name)'", on: fixture.source)
        #expect(slots.rows.first?.first == "0")
        try await fixture.drop()

        let missing = try await SyncFixture.make(columns: "id int PRIMARY KEY", onTarget: false)
        let notThere = await #expect(throws: SiphonError.self) {
            try await TableSync(configuration: missing.configuration(), logger: missing.logger).prepare()
        }
        #expect(notThere?.message.contains("does not exist on the target; create it, or pass --create-tables") == true)
        var creating = missing.configuration()
        creating.createMissingTables = true
        try await missing.execute("INSERT INTO \(missing.table) VALUES (1), (2)", on: missing.source)
        let left = try await missing.running(creating) { _, _ in try await missing.waitUntilEqual() }
        #expect(left == [])
        try await missing.drop()

        let keyless = try await SyncFixture.make(columns: "id int, note text")
        let noKey = await #expect(throws: SiphonError.self) {
            try await TableSync(configuration: keyless.configuration(), logger: keyless.logger).prepare()
        }
        #expect(noKey?.message.contains("has no primary key") == true)
        #expect(noKey?.message.contains("ALTER TABLE \(keyless.table) ADD PRIMARY KEY") == true)
        try await keyless.drop()
    }
}
