// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import Logging
import SiphonCore
import SiphonReplication
@testable import SiphonSync
import SiphonTestSupport
import Testing

/// A double-quoted identifier, written out here rather than with the quoting under test.
private func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

/// `TableVerifier` against two real clusters: the same table created on both, then changed on one side.
@Suite struct TableVerifierTests {
    let logger = Logger(label: "test")

    /// A schema of its own on both clusters, dropped at the end.
    struct Sides {
        let schema: String
        let source: ConnectionSettings
        let target: ConnectionSettings

        static func make(schema: String = TestEnvironment.uniqueName("verify")) async throws -> Sides {
            let sides = Sides(
                schema: schema, source: try ConnectionSettings(url: try TestEnvironment.url(), environment: [:]),
                target: try ConnectionSettings(url: try TestEnvironment.targetURL(), environment: [:]))
            try await sides.both("CREATE SCHEMA \(quoted(schema))")
            return sides
        }

        func run(_ settings: ConnectionSettings, _ statements: String) async throws {
            try await ServerConnection.withConnection(settings: settings, replication: false, logger: Logger(label: "test")) {
                _ = try await $0.simpleQuery(statements)
            }
        }

        func onSource(_ statements: String) async throws { try await self.run(self.source, statements) }
        func onTarget(_ statements: String) async throws { try await self.run(self.target, statements) }
        func both(_ statements: String) async throws {
            try await self.onSource(statements)
            try await self.onTarget(statements)
        }

        func drop() async throws { try await self.both("DROP SCHEMA \(quoted(self.schema)) CASCADE") }

        func verify(_ table: String, chunkSize: Int = 100, differenceLimit: Int = 20) async throws -> VerifyReport {
            try await TableVerifier(source: self.source, target: self.target, logger: Logger(label: "test"))
                .verify(TableName(schema: self.schema, table), chunkSize: chunkSize, differenceLimit: differenceLimit)
        }
    }

    /// `products (id int primary key, name text, price numeric(10,2))` with ids 1…rows on both sides.
    static func products(_ sides: Sides, rows: Int) async throws {
        try await sides.both(
            """
            CREATE TABLE \(quoted(sides.schema)).products (id int PRIMARY KEY, name text, price numeric(10,2));
            INSERT INTO \(quoted(sides.schema)).products SELECT g, 'product ' || g, g * 1.25 FROM generate_series(1, \(rows)) g;
            """)
    }

    @Test func equalTablesHaveNoDifferences() async throws {
        let sides = try await Sides.make()
        try await Self.products(sides, rows: 250)
        // Column order differs between the sides: rows are compared by column name.
        try await sides.onTarget(
            """
            ALTER TABLE \(quoted(sides.schema)).products DROP COLUMN name;
            ALTER TABLE \(quoted(sides.schema)).products ADD COLUMN name text;
            UPDATE \(quoted(sides.schema)).products SET name = 'product ' || id;
            """)
        let report = try await sides.verify("products", chunkSize: 100)
        #expect(report.isEqual)
        #expect(report.differences.isEmpty)
        #expect(report.sourceRows == 250)
        #expect(report.targetRows == 250)
        #expect(report.chunks == 3)
        #expect(report.keyColumns == ["id"])
        try await sides.drop()
    }

    @Test func aRowOnlyOnTheSource() async throws {
        let sides = try await Sides.make()
        try await Self.products(sides, rows: 50)
        try await sides.onTarget("DELETE FROM \(quoted(sides.schema)).products WHERE id = 17")
        let report = try await sides.verify("products", chunkSize: 10)
        #expect(report.differenceCount == 1)
        #expect(report.onlyOnSource == 1)
        #expect(report.sourceRows == 50)
        #expect(report.targetRows == 49)
        let difference = try #require(report.differences.first)
        #expect(difference.kind == .onlyOnSource)
        #expect(difference.key == ["17"])
        #expect(difference.chunk == 1)
        #expect(difference.sourceRow == #"{"id": 17, "name": "product 17", "price": 21.25}"#)
        #expect(difference.targetRow == nil)
        try await sides.drop()
    }

    @Test func rowsOnlyOnTheTargetBeforeTheFirstAndAfterTheLastSourceKey() async throws {
        let sides = try await Sides.make()
        try await Self.products(sides, rows: 30)
        try await sides.onTarget(
            "INSERT INTO \(quoted(sides.schema)).products VALUES (-5, 'before', 1), (0, 'zero', 2), (31, 'after', 3), (1000, 'far', 4)")
        let report = try await sides.verify("products", chunkSize: 10)
        #expect(report.onlyOnTarget == 4)
        #expect(report.onlyOnSource == 0 && report.changed == 0)
        #expect(report.differences.map(\.key) == [["-5"], ["0"], ["31"], ["1000"]])
        #expect(report.differences.map(\.kind) == Array(repeating: .onlyOnTarget, count: 4))
        #expect(report.differences.map(\.chunk) == [0, 0, 2, 2])
        #expect(report.differences.first?.targetRow == #"{"id": -5, "name": "before", "price": 1.00}"#)
        #expect(report.differences.first?.sourceRow == nil)
        #expect(report.chunks == 3)
        try await sides.drop()
    }

    @Test func aChangedValue() async throws {
        let sides = try await Sides.make()
        try await Self.products(sides, rows: 20)
        try await sides.onTarget("UPDATE \(quoted(sides.schema)).products SET price = 99.99 WHERE id = 20")
        let report = try await sides.verify("products", chunkSize: 7)
        #expect(report.differenceCount == 1)
        #expect(
            report.differences == [
                RowDifference(
                    kind: .changed, key: ["20"], chunk: 2,
                    sourceRow: #"{"id": 20, "name": "product 20", "price": 25.00}"#,
                    targetRow: #"{"id": 20, "name": "product 20", "price": 99.99}"#)
            ])
        try await sides.drop()
    }

    @Test func aNullAgainstAValueIsADifference() async throws {
        let sides = try await Sides.make()
        try await Self.products(sides, rows: 5)
        try await sides.onSource("UPDATE \(quoted(sides.schema)).products SET name = NULL WHERE id = 3")
        let report = try await sides.verify("products")
        #expect(report.changed == 1)
        #expect(report.differences.first?.sourceRow == #"{"id": 3, "name": null, "price": 3.75}"#)
        try await sides.drop()
    }

    @Test func aDifferentColumnTypeOrMissingColumnIsAnErrorNamingThem() async throws {
        let sides = try await Sides.make()
        try await Self.products(sides, rows: 5)
        try await sides.onTarget(
            """
            ALTER TABLE \(quoted(sides.schema)).products ALTER COLUMN price TYPE numeric(12,2);
            ALTER TABLE \(quoted(sides.schema)).products DROP COLUMN name;
            ALTER TABLE \(quoted(sides.schema)).products ADD COLUMN extra int;
            """)
        let error = await #expect(throws: SiphonError.self) { try await sides.verify("products") }
        #expect(error?.code == .invalidConfiguration)
        let message = error?.message ?? ""
        #expect(message.contains("column name is missing on the target"), "\(message)")
        #expect(message.contains("column price is numeric(10,2) on the source but numeric(12,2) on the target"), "\(message)")
        #expect(message.contains("column extra is missing on the source"), "\(message)")
        #expect(message.contains("ALTER TABLE"), "\(message)")
        try await sides.drop()
    }

    @Test func aDifferentPrimaryKeyIsAnError() async throws {
        let sides = try await Sides.make()
        try await sides.both("CREATE TABLE \(quoted(sides.schema)).pairs (a int, b int, PRIMARY KEY (a, b))")
        try await sides.onTarget(
            """
            ALTER TABLE \(quoted(sides.schema)).pairs DROP CONSTRAINT pairs_pkey;
            ALTER TABLE \(quoted(sides.schema)).pairs ADD PRIMARY KEY (b, a);
            """)
        let error = await #expect(throws: SiphonError.self) { try await sides.verify("pairs") }
        #expect(error?.message.contains("is (a, b) on the source but (b, a) on the target") == true, "\(String(describing: error))")
        try await sides.drop()
    }

    @Test func aMissingTableOrPrimaryKeyIsAnErrorNamingTheSide() async throws {
        let sides = try await Sides.make()
        try await sides.onSource("CREATE TABLE \(quoted(sides.schema)).only_here (id int PRIMARY KEY)")
        let missing = await #expect(throws: SiphonError.self) { try await sides.verify("only_here") }
        #expect(missing?.code == .invalidConfiguration)
        #expect(missing?.message.contains("does not exist on the target") == true, "\(String(describing: missing))")

        try await sides.both("CREATE TABLE \(quoted(sides.schema)).no_key (id int, name text)")
        let noKey = await #expect(throws: SiphonError.self) { try await sides.verify("no_key") }
        #expect(noKey?.code == .invalidConfiguration)
        #expect(noKey?.message.contains("on the source has no primary key") == true, "\(String(describing: noKey))")
        #expect(noKey?.message.contains("ADD PRIMARY KEY") == true, "\(String(describing: noKey))")
        try await sides.drop()
    }

    /// Text keys are cut and compared in byte order whatever the collations: `é` (NFC) and `e` + U+0301 (NFD) look
    /// alike and are two keys.
    @Test func compositeTextKeyWithNonASCIIValues() async throws {
        let sides = try await Sides.make()
        let table = "\(quoted(sides.schema)).words"
        try await sides.both(
            """
            CREATE TABLE \(table) (lang text, word text, n int, PRIMARY KEY (lang, word));
            INSERT INTO \(table) SELECT l, w || g, g FROM unnest(ARRAY['de', 'fr', 'ja']) l,
                unnest(ARRAY['Äpfel', 'apfel', 'Zebra', 'zèbre', 'ñu', '日本', 'Ω', 'b']) w, generate_series(1, 3) g;
            INSERT INTO \(table) VALUES ('fr', U&'caf\\00e9', 1);
            """)
        try await sides.onTarget(
            """
            DELETE FROM \(table) WHERE lang = 'fr' AND word = U&'caf\\00e9';
            INSERT INTO \(table) VALUES ('fr', U&'cafe\\0301', 1);
            UPDATE \(table) SET n = 7 WHERE lang = 'ja' AND word = '日本2';
            """)
        let report = try await sides.verify("words", chunkSize: 5)
        #expect(report.sourceRows == 73)
        #expect(report.targetRows == 73)
        #expect(report.onlyOnSource == 1)
        #expect(report.onlyOnTarget == 1)
        #expect(report.changed == 1)
        // Compared as bytes: Swift's `==` would call the two spellings of "café" equal. Byte order puts
        // "cafe\u{301}" (63 61 66 65 …) before "café" (63 61 66 c3 …).
        let found = report.differences.map { "\($0.kind) " + $0.key.map { Array($0.utf8).description }.joined(separator: " ") }
        let expected = [
            (RowDifference.Kind.onlyOnTarget, ["fr", "cafe\u{301}"]), (.onlyOnSource, ["fr", "caf\u{e9}"]),
            (.changed, ["ja", "日本2"]),
        ].map { "\($0) " + $1.map { Array($0.utf8).description }.joined(separator: " ") }
        #expect(found == expected)
        #expect(report.differences.last?.targetRow == #"{"n": 7, "lang": "ja", "word": "日本2"}"#)
        try await sides.drop()
    }

    /// Names with quotes, spaces and a column called `r` (the alias verify reads rows through) reach SQL quoted.
    @Test func hostileTableAndColumnNames() async throws {
        let sides = try await Sides.make(schema: TestEnvironment.uniqueName("verify") + "\" sch; --")
        let tableName = "pro\"ducts; DROP TABLE x; -- ta ble"
        let table = "\(quoted(sides.schema)).\(quoted(tableName))"
        try await sides.both(
            """
            CREATE TABLE \(table) ("ke""y" text PRIMARY KEY, r int, "co""l umn" text);
            INSERT INTO \(table) SELECT 'k' || g, g, 'v' || g FROM generate_series(1, 40) g;
            """)
        try await sides.onTarget("UPDATE \(table) SET r = -1 WHERE \"ke\"\"y\" = 'k7'")
        let report = try await sides.verify(tableName, chunkSize: 6)
        #expect(report.table == TableName(schema: sides.schema, tableName))
        #expect(report.keyColumns == ["ke\"y"])
        #expect(report.sourceRows == 40)
        #expect(
            report.differences == [
                RowDifference(
                    kind: .changed, key: ["k7"], chunk: 6, sourceRow: #"{"r": 7, "ke\"y": "k7", "co\"l umn": "v7"}"#,
                    targetRow: #"{"r": -1, "ke\"y": "k7", "co\"l umn": "v7"}"#)
            ])
        try await sides.drop()
    }

    /// 2,500 rows in chunks of 100: the one changed row is found in its chunk, and nothing else is reported.
    @Test func manyChunksFindTheOneDifferingRow() async throws {
        let sides = try await Sides.make()
        try await Self.products(sides, rows: 2_500)
        try await sides.onTarget("UPDATE \(quoted(sides.schema)).products SET name = 'changed' WHERE id = 1234")
        let report = try await sides.verify("products", chunkSize: 100)
        #expect(report.chunks == 25)
        #expect(report.sourceRows == 2_500 && report.targetRows == 2_500)
        #expect(report.differenceCount == 1)
        #expect(report.differences.map(\.key) == [["1234"]])
        // Chunk 12 holds ids 1201…1300.
        #expect(report.differences.map(\.chunk) == [12])
        try await sides.drop()
    }

    /// Far more rows past the source's last key than a chunk holds: all are counted, the first ones shown.
    @Test func manyRowsOnlyOnTheTargetAreCountedAndCapped() async throws {
        let sides = try await Sides.make()
        try await Self.products(sides, rows: 250)
        try await sides.onTarget(
            "INSERT INTO \(quoted(sides.schema)).products SELECT g, 'extra', 0 FROM generate_series(251, 1000) g")
        let report = try await sides.verify("products", chunkSize: 100, differenceLimit: 5)
        #expect(report.onlyOnTarget == 750)
        #expect(report.differenceCount == 750)
        #expect(report.targetRows == 1_000)
        #expect(report.differences.map(\.key) == [["251"], ["252"], ["253"], ["254"], ["255"]])
        #expect(report.differences.allSatisfy { $0.kind == .onlyOnTarget && $0.chunk == 2 })
        try await sides.drop()
    }

    @Test func emptyTablesAreEqual() async throws {
        let sides = try await Sides.make()
        try await Self.products(sides, rows: 0)
        let report = try await sides.verify("products", chunkSize: 10)
        #expect(report.isEqual)
        #expect(report.chunks == 1)
        #expect(report.sourceRows == 0)
        try await sides.drop()
    }
}
