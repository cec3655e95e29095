// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonCore
import SiphonTestSupport
import Testing

/// `siphon sync` as a process: killed with SIGKILL at seeded moments while the source keeps writing.
@Suite struct SyncCommandTests {
    /// `to_jsonb` of every row, by id, to compare the two sides row by row.
    static func rows(_ url: String, _ table: String) async throws -> [String: String] {
        let result = try await sql(url, "SELECT id::text, to_jsonb(t)::text FROM \(table) t")
        return Dictionary(uniqueKeysWithValues: result.rows.map { ($0[0] ?? "", $0[1] ?? "") })
    }

    /// What happened to each row of `table`, in order, as its counting trigger recorded: `1: INSERT UPDATE`.
    static func events(_ url: String, _ table: String) async throws -> [String] {
        try await sql(
            url, "SELECT id || ': ' || string_agg(op, ' ' ORDER BY seq) FROM \(table)_events GROUP BY id ORDER BY id"
        ).rows.map { $0[0] ?? "" }
    }

    @Test func sigkillAtSeededMomentsEndsEqualWithNothingAppliedTwice() async throws {
        let source = try TestEnvironment.url()
        let target = try TestEnvironment.targetURL()
        let name = TestEnvironment.uniqueName("k")
        // Qualified: the role's search path starts with "$user", and the schema siphon exists.
        let accounts = "public." + TestEnvironment.uniqueName("accounts")
        let ledger = "public." + TestEnvironment.uniqueName("ledger")
        for url in [source, target] {
            _ = try await sql(
                url,
                """
                CREATE TABLE \(accounts) (id int PRIMARY KEY, balance int NOT NULL, filler text);
                CREATE TABLE \(ledger) (id int PRIMARY KEY, account int NOT NULL, amount int NOT NULL, note text);
                CREATE TABLE \(ledger)_events (seq bigserial, id int, op text);
                CREATE FUNCTION \(ledger)_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
                    INSERT INTO \(ledger)_events (id, op) VALUES (coalesce(NEW.id, OLD.id), TG_OP); RETURN NULL; END $$;
                CREATE TRIGGER count_events AFTER INSERT OR UPDATE OR DELETE ON \(ledger)
                    FOR EACH ROW EXECUTE FUNCTION \(ledger)_count();
                """)
        }
        // On the target the trigger fires for the sync's writes too, which replica mode would otherwise skip: an
        // insert applied twice would show as an update, an update twice as two.
        _ = try await sql(target, "ALTER TABLE \(ledger) ENABLE ALWAYS TRIGGER count_events")
        let existing = 20_000
        _ = try await sql(source, "INSERT INTO \(accounts) SELECT g, 0, repeat('x', 80) FROM generate_series(1, \(existing)) g")
        let directory = try makeScratchDirectory()
        let arguments = [
            "sync", "--from", source, "--to", target, "--table", accounts, "--table", ledger, "--name", name,
            "--batch-size", "50", "--snapshot-chunk-size", "500",
        ]
        var random = SeededGenerator.forFaultInjection("sigkillAtSeededMomentsEndsEqual")
        // Writes start once the slot exists: rows written before it reach the target only through the initial copy,
        // as their last version, and the event comparison below would count their earlier versions as missing.
        var process = try SiphonProcess(arguments, directory: directory)
        // Created: a slot is listed while it is being made, before its consistent point, and rows written before that
        // point reach it only through the copy.
        try await eventually(timeout: .seconds(60), "the sync to create its slot") {
            try await sql(
                source,
                "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'siphon_sync_\(name)' "
                    + "AND confirmed_flush_lsn IS NOT NULL"
            ).rows.first?.first == "1"
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var random = SeededGenerator.forFaultInjection("sigkillAtSeededMomentsEndsEqual writes")
                for step in 1...400 {
                    let account = Int.random(in: 1...existing, using: &random)
                    var statements = """
                        BEGIN;
                        UPDATE \(accounts) SET balance = balance + \(step) WHERE id = \(account);
                        INSERT INTO \(ledger) VALUES (\(step), \(account), \(step), 'entry \(step)');
                        """
                    if step % 3 == 0 { statements += "UPDATE \(ledger) SET note = 'seen' WHERE id = \(step / 3);" }
                    if step % 7 == 0 { statements += "DELETE FROM \(ledger) WHERE id = \(step - 5);" }
                    _ = try await sql(source, statements + "COMMIT;")
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            for kill in 0..<5 {
                if kill > 0 { process = try SiphonProcess(arguments, directory: directory) }
                try await Task.sleep(for: .milliseconds(Int.random(in: 700...2_500, using: &random)))
                process.signal(SIGKILL)
                _ = try await process.wait(timeout: .seconds(10))
                #expect(!process.errors.contains("error:"), "\(process.errors)")
            }
            try await group.waitForAll()
        }
        let final = try SiphonProcess(arguments, directory: directory)
        try await eventually(timeout: .seconds(120), "the target to catch up") {
            let (a, b) = (try await Self.rows(source, ledger), try await Self.rows(target, ledger))
            let (c, d) = (try await Self.rows(source, accounts), try await Self.rows(target, accounts))
            return a == b && c == d
        }
        final.signal(SIGTERM)
        #expect(try await final.wait(timeout: .seconds(30)) == 0, "\(final.errors)")
        let verify = try await SiphonProcess.run(
            ["verify", "--from", source, "--to", target, "--table", accounts, "--table", ledger, "--chunk-size", "1000"],
            directory: directory)
        #expect(verify.0 == 0, "\(verify.1)\(verify.2)")
        #expect(verify.1.contains("equal, \(existing) rows compared in 20 chunks"), "\(verify.1)")
        #expect(try await Self.rows(target, accounts).count == existing)
        let sourceEvents = try await Self.events(source, ledger)
        let targetEvents = try await Self.events(target, ledger)
        #expect(sourceEvents.count == 400)
        let differing = zip(sourceEvents, targetEvents).filter { $0 != $1 }
        #expect(targetEvents.count == sourceEvents.count && differing.isEmpty, "\(differing.prefix(10))")
        let teardown = try await SiphonProcess.run(
            ["sync", "--from", source, "--to", target, "--table", accounts, "--table", ledger, "--name", name, "--teardown"],
            directory: directory)
        #expect(teardown.0 == 0, "\(teardown.2)")
        let left = try await sql(source, "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'siphon_sync_\(name)%'")
        #expect(left.rows.first?.first == "0")
        for url in [source, target] {
            _ = try await sql(
                url,
                "DROP TABLE \(accounts), \(ledger), \(ledger)_events; DROP FUNCTION \(ledger)_count()")
        }
        try? FileManager.default.removeItem(at: directory)
    }
}
