// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
@testable import SiphonSync
import Testing

/// How two sides' tables compare, without a database.
@Suite struct SyncSchemaTests {
    func table(_ columns: [(String, String)], key: [Int] = [0]) -> SyncTable {
        SyncTable(
            name: TableName("products"),
            columns: columns.map { .init(name: $0.0, type: $0.1, collatable: $0.1 == "text", notNull: false) },
            keyPositions: key)
    }

    @Test func equalTablesAndExtraTargetColumnsPass() {
        let source = self.table([("id", "bigint"), ("name", "text")])
        #expect(SyncSchema.differences(source: source, target: source) == [])
        let wider = self.table([("id", "bigint"), ("added", "integer"), ("name", "text")])
        #expect(SyncSchema.differences(source: source, target: wider) == [])
    }

    @Test func everyDifferenceIsNamedWithItsFix() {
        let source = self.table([("id", "bigint"), ("name", "text"), ("price", "numeric(10,2)")])
        let target = self.table([("id", "integer"), ("price", "numeric(10,2)"), ("name", "text")], key: [2])
        let problems = SyncSchema.differences(source: source, target: target)
        #expect(
            problems == [
                "public.products: column id is bigint on the source but integer on the target; make them the same: "
                    + "ALTER TABLE public.products ALTER COLUMN id TYPE bigint;",
                "public.products: the primary key is (id) on the source but (name) on the target; rows are matched by "
                    + "key, so both need the same one",
            ])
        let narrower = self.table([("id", "bigint")])
        #expect(
            SyncSchema.differences(source: source, target: narrower).first
                == "public.products: column name is missing on the target; add it: ALTER TABLE public.products ADD "
                + "COLUMN name text;")
    }

    @Test func verifyCountsExtraTargetColumnsAndNamesCompareAsBytes() {
        let source = self.table([("id", "bigint"), ("caf\u{E9}", "text")])
        // The same name to Swift's `==`, another column to PostgreSQL.
        let target = self.table([("id", "bigint"), ("cafe\u{301}", "text")])
        let problems = SyncSchema.differences(source: source, target: target, exact: true)
        #expect(problems.count == 2, "\(problems)")
        #expect(problems.first?.contains("is missing on the target") == true)
        #expect(problems.last?.contains("is missing on the source; rows are compared whole") == true)
        #expect(SyncSchema.differences(source: source, target: target).count == 1)
    }

    @Test func theCreatedTableHasTheSourcesColumnsAndKeyWithNamesQuoted() {
        var source = self.table([("Id", "bigint"), ("the name", "text")], key: [0, 1])
        source.columns[0].notNull = true
        source.name = TableName(schema: "Sales", "order items")
        #expect(
            SyncSchema.createTableSQL(like: source)
                == #"CREATE SCHEMA IF NOT EXISTS "Sales"; CREATE TABLE "Sales"."order items" ("Id" bigint NOT NULL, "#
                + #""the name" text, PRIMARY KEY ("Id", "the name"))"#)
    }
}
