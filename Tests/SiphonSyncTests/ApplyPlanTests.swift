// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
@testable import SiphonSync
import Testing

/// How changes become statements, without a database.
@Suite struct ApplyPlanTests {
    let items = SyncTable(
        name: TableName("items"),
        columns: [
            .init(name: "id", type: "integer", collatable: false, notNull: true),
            .init(name: "note", type: "text", collatable: true, notNull: false),
            .init(name: "body", type: "text", collatable: true, notNull: false),
        ],
        keyPositions: [0])

    var tables: [TableName: SyncTable] { [self.items.name: self.items] }

    func change(
        _ operation: Change.Operation, index: Int, new: [(String, String)]? = nil, old: [(String, String)]? = nil,
        key: [(String, String)] = [], unchangedToast: [String] = [], table: String = "items"
    ) -> Change {
        let row = { (pairs: [(String, String)]) in Row(pairs.map { Row.Column(name: $0.0, json: $0.1) }) }
        return Change(
            id: Change.ID(source: "slot", commitLSN: LSN(rawValue: 100), index: index), operation: operation,
            schema: "public", table: table, xid: 1, commitTime: PostgresTimestamp(rawValue: 0), new: new.map(row),
            old: old.map(row), key: row(key), unchangedToast: unchangedToast)
    }

    @Test func consecutiveChangesOfOneKindBecomeOneStatementWithTheRowsAsOneParameter() throws {
        let plan = try ApplyPlan(
            [
                self.change(.insert, index: 0, new: [("id", "1"), ("note", "\"a\""), ("body", "null")]),
                self.change(.update, index: 1, new: [("id", "2"), ("note", "\"b\""), ("body", "null")], key: [("id", "2")]),
                self.change(.insert, index: 2, new: [("id", "3"), ("note", "\"c\""), ("body", "null")]),
                self.change(.delete, index: 3, old: [("id", "4")], key: [("id", "4")]),
                self.change(.delete, index: 4, old: [("id", "5")], key: [("id", "5")]),
            ], tables: self.tables)
        #expect(plan.statements.map(\.kind) == [.upsert, .delete])
        #expect(plan.statements.map(\.rows) == [3, 2])
        #expect(
            plan.statements[0].parameter
                == #"[{"id":1,"note":"a","body":null},{"id":2,"note":"b","body":null},{"id":3,"note":"c","body":null}]"#)
        #expect(
            plan.statements[0].sql
                == "INSERT INTO public.items AS t (id, note, body) OVERRIDING SYSTEM VALUE SELECT id, note, body FROM "
                + "jsonb_populate_recordset(NULL::public.items, $1::jsonb) ON CONFLICT (id) DO UPDATE SET "
                + "note = EXCLUDED.note, body = EXCLUDED.body")
        #expect(plan.statements[1].parameter == #"[{"id":4},{"id":5}]"#)
        #expect(
            plan.statements[1].sql
                == "DELETE FROM public.items AS t USING jsonb_populate_recordset(NULL::public.items, $1::jsonb) AS x "
                + "WHERE t.id = x.id")
    }

    @Test func readsOverwriteOnlyRowsThatDiffer() throws {
        let plan = try ApplyPlan(
            [
                self.change(.read, index: 0, new: [("id", "1"), ("note", "\"a\""), ("body", "null")]),
                self.change(.insert, index: 1, new: [("id", "2"), ("note", "\"b\""), ("body", "null")]),
            ], tables: self.tables)
        #expect(plan.statements.map(\.kind) == [.refresh, .upsert])
        #expect(
            plan.statements[0].sql.hasSuffix(
                "DO UPDATE SET note = EXCLUDED.note, body = EXCLUDED.body "
                    + "WHERE ROW(t.note, t.body)::text IS DISTINCT FROM ROW(EXCLUDED.note, EXCLUDED.body)::text"))
        #expect(!plan.statements[1].sql.contains("DISTINCT"))
    }

    @Test func underAConflictRuleNewerTargetRowsAreFoundFirstAndLeftAlone() throws {
        let stamped = SyncTable(
            name: TableName("items"),
            columns: [
                .init(name: "id", type: "integer", collatable: false, notNull: true),
                .init(name: "note", type: "text", collatable: true, notNull: false),
                .init(name: "at", type: "timestamp with time zone", collatable: false, notNull: true),
            ], keyPositions: [0])
        let plan = try ApplyPlan(
            [
                self.change(.insert, index: 0, new: [("id", "1"), ("note", "null"), ("at", "\"2026-01-01T00:00:00+00:00\"")]),
                self.change(
                    .update, index: 1, new: [("id", "2"), ("at", "\"2026-01-01T00:00:00+00:00\"")], key: [("id", "2")],
                    unchangedToast: ["note"]),
                self.change(.delete, index: 2, old: [("id", "3")], key: [("id", "3")]),
            ], tables: [stamped.name: stamped], rules: [stamped.name: ConflictRule(resolution: .newest, column: "at")])
        #expect(plan.statements.map(\.kind) == [.upsert, .update, .delete])
        #expect(plan.statements.map { $0.rule?.description } == ["newest:at", "newest:at", nil])
        #expect(
            plan.statements[0].sql.hasSuffix(
                "DO UPDATE SET note = EXCLUDED.note, at = EXCLUDED.at WHERE (t.at > EXCLUDED.at) IS NOT TRUE"))
        #expect(
            plan.statements[0].conflictSQL
                == "SELECT to_jsonb(x)::text, to_jsonb(t)::text FROM jsonb_populate_recordset(NULL::public.items, "
                + "$1::jsonb) AS x JOIN public.items AS t ON t.id = (x).id WHERE t.at > (x).at")
        #expect(plan.statements[1].sql.hasSuffix("WHERE t.id = (x.k).id AND (t.at > (x.n).at) IS NOT TRUE"))
        #expect(plan.statements[1].conflictSQL?.hasSuffix("ON t.id = (x.k).id WHERE t.at > (x.n).at") == true)
        #expect(plan.statements[2].conflictSQL == nil)
        #expect(throws: SiphonError.self) { try ConflictRule(parsing: "oldest:at") }
        #expect(try ConflictRule(parsing: "stop:version") == ConflictRule(resolution: .stop, column: "version"))
    }

    @Test func aKeySeenTwiceStartsANewStatementSoOrderWithinTheBatchHolds() throws {
        let plan = try ApplyPlan(
            [
                self.change(.insert, index: 0, new: [("id", "1"), ("note", "\"a\""), ("body", "null")]),
                self.change(.update, index: 1, new: [("id", "1"), ("note", "\"b\""), ("body", "null")], key: [("id", "1")]),
                self.change(.insert, index: 2, new: [("id", "2"), ("note", "\"c\""), ("body", "null")]),
            ], tables: self.tables)
        #expect(plan.statements.map(\.rows) == [1, 2])
        #expect(plan.statements[1].parameter?.hasPrefix(#"[{"id":1,"note":"b""#) == true)
    }

    @Test func anUpdateWithUnchangedLargeValuesSetsOnlyTheColumnsItCarries() throws {
        let plan = try ApplyPlan(
            [self.change(.update, index: 0, new: [("id", "7"), ("note", "\"n\"")], key: [("id", "7")], unchangedToast: ["body"])],
            tables: self.tables)
        let statement = try #require(plan.statements.first)
        #expect(statement.kind == .update)
        #expect(statement.parameter == #"[{"k":{"id":7},"n":{"id":7,"note":"n"}}]"#)
        #expect(
            statement.sql
                == "UPDATE public.items AS t SET note = (x.n).note FROM (SELECT jsonb_populate_record(NULL::public.items, "
                + "e->'n') AS n, jsonb_populate_record(NULL::public.items, e->'k') AS k FROM "
                + "jsonb_array_elements($1::jsonb) AS e) AS x WHERE t.id = (x.k).id")
        // Only the key and unchanged values: nothing to write.
        let nothing = try ApplyPlan(
            [self.change(.update, index: 0, new: [("id", "7")], key: [("id", "7")], unchangedToast: ["note", "body"])],
            tables: self.tables)
        #expect(nothing.statements.isEmpty)
    }

    @Test func aMovedKeyDeletesTheOldRowAndWritesTheNewOne() throws {
        let whole = try ApplyPlan(
            [
                self.change(
                    .update, index: 0, new: [("id", "8"), ("note", "null"), ("body", "null")], old: [("id", "1")],
                    key: [("id", "1")])
            ], tables: self.tables)
        #expect(whole.statements.map(\.kind) == [.delete, .upsert])
        #expect(whole.statements.map(\.parameter) == [#"[{"id":1}]"#, #"[{"id":8,"note":null,"body":null}]"#])
        // Without the large value, the row is moved in place, key included.
        let partial = try ApplyPlan(
            [
                self.change(
                    .update, index: 0, new: [("id", "8"), ("note", "null")], old: [("id", "1")], key: [("id", "1")],
                    unchangedToast: ["body"])
            ], tables: self.tables)
        #expect(partial.statements.map(\.kind) == [.update])
        #expect(partial.statements[0].sql.contains("SET id = (x.n).id, note = (x.n).note"))
    }

    @Test func truncateKeepsItsOptionsAndSplitsTheRuns() throws {
        var truncate = self.change(.truncate, index: 1)
        truncate.truncateOptions = Change.TruncateOptions(cascade: true, restartIdentity: true)
        let plan = try ApplyPlan(
            [
                self.change(.insert, index: 0, new: [("id", "1"), ("note", "null"), ("body", "null")]), truncate,
                self.change(.insert, index: 2, new: [("id", "1"), ("note", "null"), ("body", "null")]),
            ], tables: self.tables)
        #expect(plan.statements.map(\.kind) == [.upsert, .truncate, .upsert])
        #expect(plan.statements[1].sql == "TRUNCATE public.items RESTART IDENTITY CASCADE")
        #expect(plan.statements[1].parameter == nil)
    }

    @Test func hostileNamesAreQuotedAndValuesNeverReachTheSQL() throws {
        let name = TableName(schema: "we\"ird", "drop table x; --")
        let table = SyncTable(
            name: name,
            columns: [
                .init(name: "id\"; DELETE", type: "integer", collatable: false, notNull: true),
                .init(name: "v", type: "text", collatable: true, notNull: false),
            ], keyPositions: [0])
        var change = self.change(.insert, index: 0, new: [("id\"; DELETE", "1"), ("v", #"" '); DROP TABLE t; --""#)])
        change.schema = name.schema
        change.table = name.table
        let plan = try ApplyPlan([change], tables: [name: table])
        let sql = try #require(plan.statements.first?.sql)
        #expect(sql.hasPrefix(#"INSERT INTO "we""ird"."drop table x; --" AS t ("id""; DELETE", v)"#))
        #expect(!sql.contains("DROP TABLE"))
    }

    @Test func aChangeOfATableTheTargetDoesNotHaveOrWithoutItsKeyIsRefused() throws {
        #expect(throws: SiphonError.self) {
            try ApplyPlan([self.change(.insert, index: 0, new: [("id", "1")], table: "other")], tables: self.tables)
        }
        let error = #expect(throws: SiphonError.self) {
            try ApplyPlan([self.change(.insert, index: 0, new: [("note", "null")])], tables: self.tables)
        }
        #expect(error?.message.contains("does not carry key column id") == true)
        let unknown = #expect(throws: ApplyPlan.UnknownColumns.self) {
            try ApplyPlan(
                [
                    self.change(.insert, index: 0, new: [("id", "1"), ("extra", "5")]),
                    self.change(.insert, index: 1, new: [("id", "2"), ("extra", "6")]),
                ], tables: self.tables)
        }
        #expect(unknown?.columns == [ApplyPlan.UnknownColumns.Column(table: TableName("items"), name: "extra")])
    }
}
