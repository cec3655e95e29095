// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonCore
import Testing

@testable import SiphonTrigger

@Suite struct TriggerSQLTests {
    static func table(
        _ name: TableName = TableName(schema: "public", "orders"), key: [String] = ["id"],
        _ configure: (inout TableCapture) -> Void = { _ in }
    ) -> CapturedTable {
        var capture = TableCapture(TablePattern(name))
        configure(&capture)
        return CapturedTable(
            name: name, columns: ["id", "canceled", "note"], key: key, keySource: key.isEmpty ? .allColumns : .primaryKey,
            replicaIdentityFull: false, capture: capture)
    }

    @Test func triggersCarryTheChosenOperationsColumnsAndCondition() {
        let table = Self.table {
            $0.operations = [.update, .delete]
            $0.columns = ["canceled"]
            $0.condition = "  NEW.note IS NOT NULL "
        }
        let names = OutboxNames(schema: "siphon", name: "outbox")
        let statements = TriggerSQL.createTriggers(
            for: table, function: names.function, triggerName: names.trigger, leadingArguments: [],
            captureOwnWrites: false)
        let comment = #"'siphon {"columns":["id","canceled","note"],"key":["id"]}'"#
        #expect(
            statements == [
                "DROP TRIGGER IF EXISTS siphon_outbox_insert ON public.orders",
                "DROP TRIGGER IF EXISTS siphon_outbox_update ON public.orders",
                """
                CREATE TRIGGER siphon_outbox_update AFTER UPDATE ON public.orders
                    FOR EACH ROW
                    WHEN ((OLD.canceled IS DISTINCT FROM NEW.canceled) AND (OLD.id IS NOT DISTINCT FROM NEW.id) AND (NEW.note IS NOT NULL))
                    EXECUTE FUNCTION siphon.outbox_capture('key', 'skip', 'id')
                """,
                "COMMENT ON TRIGGER siphon_outbox_update ON public.orders IS \(comment)",
                "DROP TRIGGER IF EXISTS siphon_outbox_rekey ON public.orders",
                """
                CREATE TRIGGER siphon_outbox_rekey AFTER UPDATE ON public.orders
                    FOR EACH ROW
                    WHEN ((OLD.canceled IS DISTINCT FROM NEW.canceled) AND NOT (OLD.id IS NOT DISTINCT FROM NEW.id) AND (NEW.note IS NOT NULL))
                    EXECUTE FUNCTION siphon.outbox_capture('rekey', 'skip', 'id')
                """,
                "COMMENT ON TRIGGER siphon_outbox_rekey ON public.orders IS \(comment)",
                "DROP TRIGGER IF EXISTS siphon_outbox_delete ON public.orders",
                """
                CREATE TRIGGER siphon_outbox_delete AFTER DELETE ON public.orders
                    FOR EACH ROW
                    WHEN ((NEW.note IS NOT NULL))
                    EXECUTE FUNCTION siphon.outbox_capture('key', 'skip', 'id')
                """,
                "COMMENT ON TRIGGER siphon_outbox_delete ON public.orders IS \(comment)",
                "DROP TRIGGER IF EXISTS siphon_outbox_truncate ON public.orders",
            ])
    }

    @Test func identifiersAndLiteralsAreQuoted() {
        let odd = TableName(schema: "Sales Team", #"Order's "Items""#)
        var table = Self.table(odd, key: [#"back\slash"#, "select"]) { $0.operations = [.truncate] }
        table.columns = [#"back\slash"#, "select"]
        let names = NotifyNames(schema: "siphon", channel: "orders")
        let statements = TriggerSQL.createTriggers(
            for: table, function: names.function, triggerName: names.trigger, leadingArguments: ["orders"],
            captureOwnWrites: true)
        let quoted = "\"Sales Team\".\"Order's \"\"Items\"\"\""
        #expect(
            statements[5]
                == "CREATE TRIGGER siphon_notify_orders_truncate AFTER TRUNCATE ON \(quoted)\n"
                + "    FOR EACH STATEMENT\n"
                + #"    EXECUTE FUNCTION siphon.notify_change('orders', 'key', 'keep', E'back\\slash', 'select')"#)
        #expect(
            statements[6]
                == "COMMENT ON TRIGGER siphon_notify_orders_truncate ON \(quoted) IS "
                + #"E'siphon {"columns":["back\\\\slash","select"],"key":["back\\\\slash","select"]}'"#)
    }

    @Test func tablesWithoutAKeyUseTheWholeRowAndOneUpdateTrigger() {
        let table = Self.table(key: [])
        #expect(TriggerSQL.arguments(for: table, event: .update, captureOwnWrites: false) == ["full", "skip"])
        #expect(TriggerSQL.events(for: table) == [.insert, .update, .delete, .truncate])
        var full = Self.table()
        full.replicaIdentityFull = true
        #expect(TriggerSQL.arguments(for: full, event: .delete, captureOwnWrites: false) == ["full", "skip", "id"])
        #expect(TriggerSQL.events(for: full) == [.insert, .update, .delete, .truncate])
        full.capture.oldRow = .key
        #expect(TriggerSQL.arguments(for: full, event: .delete, captureOwnWrites: false) == ["key", "skip", "id"])
        #expect(TriggerSQL.arguments(for: full, event: .rekey, captureOwnWrites: true) == ["rekey", "keep", "id"])
        #expect(TriggerSQL.events(for: full) == [.insert, .update, .rekey, .delete, .truncate])
    }

    @Test func triggerCommentsRoundTrip() {
        var table = Self.table(key: ["a\"b"])
        table.columns = ["a\"b", "é", #"x\y"#]
        let parsed = TriggerSQL.parseTriggerComment(TriggerSQL.triggerComment(for: table))
        #expect(parsed?.columns == table.columns)
        #expect(parsed?.key == ["a\"b"])
        #expect(TriggerSQL.parseTriggerComment("someone else's trigger") == nil)
    }

    @Test func functionsRenderWithPinnedSettingsAndUseUnambiguousDollarQuotes() {
        let names = OutboxNames(schema: "$siphon$", name: "outbox")
        let function = TriggerSQL.outboxFunction(names, wakeUpReaders: true)
        #expect(
            function.hasPrefix(
                "CREATE OR REPLACE FUNCTION \"$siphon$\".outbox_capture() RETURNS trigger\nLANGUAGE plpgsql SECURITY "
                    + "DEFINER\nSET search_path = pg_catalog, pg_temp\nAS $siphon1$"))
        #expect(function.contains("v_new := CASE WHEN v_pinned THEN to_jsonb(NEW) ELSE \"$siphon$\".outbox_json(NEW) END;"))
        #expect(function.contains("PERFORM pg_notify('$siphon$.outbox', '');"))
        #expect(function.hasSuffix("$siphon1$"))
        #expect(
            TriggerSQL.renderingFunction(names.renderingFunction)
                == "CREATE OR REPLACE FUNCTION \"$siphon$\".outbox_json(anyelement) RETURNS jsonb\nLANGUAGE sql STABLE\n"
                + "SET search_path = pg_catalog, pg_temp\nSET timezone = 'UTC'\nSET datestyle = 'ISO'\n"
                + "SET intervalstyle = 'postgres'\nSET extra_float_digits = 1\nSET bytea_output = 'hex'\n"
                + "AS 'SELECT pg_catalog.to_jsonb($1)'")
        let quiet = TriggerSQL.outboxFunction(OutboxNames(schema: "siphon", name: "outbox"), wakeUpReaders: false)
        #expect(!quiet.contains("pg_notify"))
    }

    @Test func migrationsAreWrittenAsTimestampedUpAndDownFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("siphon-sql-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let migration = TriggerMigration(up: "up;\n", down: "down;\n", tables: [], notes: [], name: "siphon_outbox_outbox")
        let date = Date(timeIntervalSince1970: 1_795_309_445)
        let paths = try migration.write(to: directory, date: date)
        #expect(paths.up == directory + "/20261122010405_siphon_outbox_outbox.up.sql")
        #expect(paths.down == directory + "/20261122010405_siphon_outbox_outbox.down.sql")
        #expect(try String(contentsOfFile: paths.up, encoding: .utf8) == "up;\n")
        #expect(try String(contentsOfFile: paths.down, encoding: .utf8) == "down;\n")
        #expect(throws: SiphonError.self) { try migration.write(to: directory, date: date) }
    }

    @Test func outboxQueriesReadByWindowNeverByLargestID() {
        let queries = OutboxQueries(schema: "siphon", outbox: "outbox", group: ConsumerGroup(name: "g", partitions: 3))
        let cursor = OutboxCursor(
            partition: 2, delivered: "100:105:101,103", window: "104:110:107", windowLSN: LSN(rawValue: 0x16B_37A0),
            lastID: 41)
        let read = queries.readBatch(cursor, window: cursor.window!, limit: 500, commitTime: "o.changed_at")
        #expect(read.sql.contains("WHERE o.id > 41 AND o.xid >= 100 AND o.xid < 110"))
        #expect(read.sql.contains("AND txid_visible_in_snapshot(o.xid, $1)"))
        #expect(read.sql.contains("AND NOT txid_visible_in_snapshot(o.xid, $2)"))
        #expect(read.parameters == ["104:110:107", "100:105:101,103"])
        #expect(read.sql.contains("AND (hashtext(o.key::text) & 2147483647) % 3 = 2"))
        #expect(read.sql.hasSuffix("ORDER BY o.id\nLIMIT 500"))
        let open = queries.openWindow(cursor)
        #expect(open.sql.contains("greatest(w.lsn, '0/16B37A1'::pg_lsn)"))
        #expect(open.parameters == ["g", "100:105:101,103"])
    }

    @Test func partitionsAreSharedByBackendOrder() {
        #expect(PartitionAssignment.partitions(for: 7, members: [7], partitions: 3) == [0, 1, 2])
        #expect(PartitionAssignment.partitions(for: 7, members: [9, 7], partitions: 3) == [0, 2])
        #expect(PartitionAssignment.partitions(for: 9, members: [9, 7], partitions: 3) == [1])
        #expect(PartitionAssignment.partitions(for: 5, members: [1, 2, 3], partitions: 3) == [])
        #expect(OutboxQueries.stableHash("siphon") == OutboxQueries.stableHash("siphon"))
        #expect(OutboxQueries.stableHash("siphon") >= 0)
    }
}
