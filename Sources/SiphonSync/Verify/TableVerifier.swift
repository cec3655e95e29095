// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import NIOCore
import SiphonCore
import SiphonReplication

/// Checks that a table holds the same rows in two databases, and finds the rows that differ.
///
/// The key space is cut into chunks of `chunkSize` source rows by a keyset walk over the source's primary key (the
/// first chunk open below, the last open above, so rows only the target has are inside some chunk). Each chunk is
/// compared by row count and a digest on both sides; only a chunk whose digests differ is read row by row: the
/// source's keys and row md5s are merged by key with the target's rows on the target. Memory stays bounded by the chunk size: a chunk where the target has more than
/// `chunkSize` rows is cut again by the target's keys. Each side is read in one `REPEATABLE READ READ ONLY`
/// transaction, so it is compared as one consistent state.
public struct TableVerifier: Sendable {
    public var source: ConnectionSettings
    public var target: ConnectionSettings
    public var logger: Logger

    public init(source: ConnectionSettings, target: ConnectionSettings, logger: Logger) {
        self.source = source
        self.target = target
        self.logger = logger
    }

    /// Compares `table` on the source and the target. The report holds every difference's count and the first
    /// `differenceLimit` differences with both rows.
    ///
    /// Throws `invalidConfiguration` when the rows cannot be compared: the table is missing on a side, has no
    /// primary key, or the two sides' columns or keys differ; the message says which and how to fix it.
    public func verify(_ table: TableName, chunkSize: Int = 10_000, differenceLimit: Int = 20) async throws
        -> VerifyReport
    {
        guard chunkSize > 0 else {
            throw SiphonError(.invalidConfiguration, "the chunk size must be at least 1 row, not \(chunkSize)")
        }
        let started = ContinuousClock.now
        return try await ServerConnection.withConnection(settings: self.source, replication: false, logger: self.logger) {
            source in
            try await ServerConnection.withConnection(settings: self.target, replication: false, logger: self.logger) {
                target in
                try await source.simpleQuery("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                try await target.simpleQuery("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                let sourceTable = try await Self.resolve(table, side: "source", on: source)
                let targetTable = try await Self.resolve(table, side: "target", on: target)
                try Self.checkSameShape(sourceTable, targetTable)
                var walk = VerifyWalk(
                    source: source, target: target, queries: VerifyQueries(table: sourceTable), chunkSize: chunkSize,
                    differenceLimit: differenceLimit, logger: self.logger)
                try await walk.run()
                walk.report.elapsed = ContinuousClock.now - started
                return walk.report
            }
        }
    }

    private static func resolve(_ name: TableName, side: String, on connection: ServerConnection) async throws
        -> SyncTable
    {
        guard let table = try await SyncTable.resolve(name, side: side, on: connection) else {
            throw SiphonError(
                .invalidConfiguration,
                "table \(name) does not exist on the \(side) (names are case-sensitive when quoted)")
        }
        return table
    }

    /// Rows are compared column by column and matched by key: both sides need the same columns (by name and type,
    /// in any order) and the same primary key.
    static func checkSameShape(_ source: SyncTable, _ target: SyncTable) throws {
        let problems = SyncSchema.differences(source: source, target: target, exact: true)
        guard problems.isEmpty else {
            throw SiphonError(
                .invalidConfiguration,
                "the tables cannot be compared row by row:\n  " + problems.joined(separator: "\n  "))
        }
    }
}

/// One table's comparison, on the two open transactions.
private struct VerifyWalk {
    let source: ServerConnection
    let target: ServerConnection
    let queries: VerifyQueries
    let chunkSize: Int
    let differenceLimit: Int
    let logger: Logger
    var report: VerifyReport

    init(
        source: ServerConnection, target: ServerConnection, queries: VerifyQueries, chunkSize: Int,
        differenceLimit: Int, logger: Logger
    ) {
        self.source = source
        self.target = target
        self.queries = queries
        self.chunkSize = chunkSize
        self.differenceLimit = differenceLimit
        self.logger = logger
        self.report = VerifyReport(table: queries.table.name, keyColumns: queries.table.keyColumns.map(\.name))
    }

    private struct Digest: Equatable {
        var rows: Int
        var md5: String?
    }

    mutating func run() async throws {
        var lower: RowKey?
        var chunk = 0
        while true {
            let (end, more) = try await self.boundary(on: self.source, in: KeyRange(lower: lower, upper: nil))
            let range = KeyRange(lower: lower, upper: more ? end : nil)
            let sourceDigest = try await self.digest(on: self.source, of: range)
            let targetDigest = try await self.digest(on: self.target, of: range)
            self.report.sourceRows += sourceDigest.rows
            self.report.targetRows += targetDigest.rows
            if sourceDigest != targetDigest {
                self.logger.debug(
                    "Chunk differs",
                    metadata: [
                        "siphon.table": "\(self.report.table)", "chunk": "\(chunk)",
                        "rows.source": "\(sourceDigest.rows)", "rows.target": "\(targetDigest.rows)",
                    ])
                if targetDigest.rows > self.chunkSize {
                    try await self.splitByTarget(range, chunk: chunk)
                } else {
                    try await self.compareRows(in: range, chunk: chunk)
                }
            }
            chunk += 1
            guard more else { break }
            lower = end
        }
        self.report.chunks = chunk
    }

    /// The end of the chunk starting after `range.lower`, and whether rows follow it within `range`. With no more
    /// than `chunkSize` rows left, the chunk reaches to `range.upper`.
    private func boundary(on connection: ServerConnection, in range: KeyRange) async throws -> (RowKey?, Bool) {
        let query = self.queries.boundary(in: range, chunkSize: self.chunkSize)
        let rows = try await connection.query(query.sql, parameters: query.parameters).rows
        let end = rows.first.map { RowKey(values: $0.map { $0 ?? "" }) }
        return (end, rows.count == 2)
    }

    private func digest(on connection: ServerConnection, of range: KeyRange) async throws -> Digest {
        let query = self.queries.digest(of: range)
        let row = try await connection.query(query.sql, parameters: query.parameters).rows.first
        return Digest(rows: row?[0].flatMap { Int($0) } ?? 0, md5: row?[1] ?? nil)
    }

    /// A chunk where the target has more rows than fit in memory at once, cut by the target's keys: each piece
    /// holds at most `chunkSize` rows on either side (the source has no more than that in the whole chunk).
    private mutating func splitByTarget(_ range: KeyRange, chunk: Int) async throws {
        var lower = range.lower
        while true {
            let (end, more) = try await self.boundary(on: self.target, in: KeyRange(lower: lower, upper: range.upper))
            let piece = KeyRange(lower: lower, upper: more ? end : range.upper)
            let sourceDigest = try await self.digest(on: self.source, of: piece)
            let targetDigest = try await self.digest(on: self.target, of: piece)
            if sourceDigest != targetDigest {
                try await self.compareRows(in: piece, chunk: chunk)
            }
            guard more else { return }
            lower = end
        }
    }

    /// Each source row's key and md5 in `range`, in key order.
    private func sourceRowDigests(in range: KeyRange) async throws -> [(key: RowKey, md5: String)] {
        let query = self.queries.rowDigests(in: range)
        let width = self.queries.table.keyPositions.count
        var rows: [(key: RowKey, md5: String)] = []
        try await self.source.query(query.sql, parameters: query.parameters) { values in
            rows.append((Self.key(values, width: width), values[width].map { String(buffer: $0) } ?? ""))
        }
        return rows
    }

    /// Reads `range` row by row: the source's keys and md5s go to the target, which merges them with its own rows
    /// and answers the keys that differ in key order (its order, so both sides' keys are ordered alike). Records
    /// every one.
    private mutating func compareRows(in range: KeyRange, chunk: Int) async throws {
        let query = self.queries.differences(in: range, other: try await self.sourceRowDigests(in: range))
        let width = self.queries.table.keyPositions.count
        var found: [(RowDifference.Kind, RowKey)] = []
        try await self.target.query(query.sql, parameters: query.parameters) { values in
            let kind: RowDifference.Kind =
                if values[width].map({ String(buffer: $0) }) == "t" {
                    .onlyOnTarget
                } else if values[width + 1].map({ String(buffer: $0) }) == "t" {
                    .onlyOnSource
                } else {
                    .changed
                }
            found.append((kind, Self.key(values, width: width)))
        }
        for (kind, key) in found { try await self.record(kind, key: key, chunk: chunk) }
    }

    /// The key in the first `width` columns of a row (key columns are never NULL).
    private static func key(_ values: [ByteBuffer?], width: Int) -> RowKey {
        RowKey(values: values.prefix(width).map { $0.map { String(buffer: $0) } ?? "" })
    }

    private mutating func record(_ kind: RowDifference.Kind, key: RowKey, chunk: Int) async throws {
        switch kind {
        case .onlyOnSource: self.report.onlyOnSource += 1
        case .onlyOnTarget: self.report.onlyOnTarget += 1
        case .changed: self.report.changed += 1
        }
        guard self.report.differences.count < self.differenceLimit else { return }
        let sourceRow = try await kind == .onlyOnTarget ? nil : self.row(key, on: self.source)
        let targetRow = try await kind == .onlyOnSource ? nil : self.row(key, on: self.target)
        self.report.differences.append(
            RowDifference(kind: kind, key: key.values, chunk: chunk, sourceRow: sourceRow, targetRow: targetRow))
    }

    private func row(_ key: RowKey, on connection: ServerConnection) async throws -> String? {
        try await connection.query(self.queries.row, parameters: key.values).rows.first?[0] ?? nil
    }
}
