// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import Logging
import NIOCore
import SiphonCore
import SiphonPgOutput
import SiphonReplication

/// How a replication session reads snapshots beside its stream.
public struct SnapshotOptions: Sendable, Hashable {
    /// Rows per chunk: the most a chunk holds in memory, and the work repeated after a crash.
    public var chunkSize: Int
    /// Tables read at once, each on its own connection.
    public var parallel: Int
    /// How often an idle session looks for new requests in `siphon.snapshots`.
    public var pollInterval: Duration

    public init(chunkSize: Int = 10_000, parallel: Int = 1, pollInterval: Duration = .seconds(1)) {
        self.chunkSize = chunkSize
        self.parallel = parallel
        self.pollInterval = pollInterval
    }
}

/// Reads the tables `siphon.snapshots` asks for, chunk by chunk in key order, while the session streams: each chunk
/// between a low and a high watermark in the WAL, handed to the session through the `SnapshotExchange`, and its
/// progress recorded only once the pipeline acknowledged its reads — so a crash repeats at most the chunks in flight.
struct SnapshotReader: Sendable {
    let settings: ConnectionSettings
    let slot: String
    let publications: [String]
    let options: SnapshotOptions
    let renderer: ValueRenderer
    let exchange: SnapshotExchange
    let logger: Logger

    /// Runs until cancelled; a failure ends the session through the exchange.
    func run() async {
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<self.options.parallel {
                    group.addTask { try await self.readRequests() }
                }
                try await group.waitForAll()
            }
        } catch {
            if !(error is CancellationError) && !Task.isCancelled { self.exchange.fail(error) }
        }
    }

    private func readRequests() async throws {
        try await ServerConnection.withConnection(settings: self.settings, replication: false, logger: self.logger) {
            connection in
            while !Task.isCancelled {
                guard let request = try await self.claimNext(on: connection) else {
                    try await Task.sleep(for: self.options.pollInterval)
                    continue
                }
                defer { self.exchange.release(request.id) }
                try await self.read(request, on: connection)
            }
        }
    }

    private struct Request {
        var id: Int64
        var table: TableName
        var doneKey: [String]?
        var rowsDone: Int64
        var condition: String?
        /// The planner's estimate recorded with the request (of what the condition keeps, when there is one).
        var rowsEstimated: Int64?
    }

    /// Why one request cannot be read: it is marked failed, and the session streams on.
    private struct RequestFailure: Error {
        var message: String
    }

    /// The oldest pending request no other reader of this session has. A request whose recorded progress is ahead of
    /// the slot (the server lost acknowledged positions in a crash) starts over: its reads may come again.
    private func claimNext(on connection: ServerConnection) async throws -> Request? {
        guard try await SnapshotRequests.tableExists(on: connection) else { return nil }
        let rows = try await connection.query(
            """
            SELECT id, schema_name, table_name, rows_done, condition, rows_estimated,
                done_lsn > (SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1)
            FROM siphon.snapshots WHERE slot = $1 AND state = 'pending' ORDER BY id
            """, parameters: [self.slot]
        ).rows
        for row in rows {
            guard let id = row[0].flatMap({ Int64($0) }), let schema = row[1], let table = row[2] else { continue }
            guard self.exchange.claim(id) else { continue }
            if row[6] == "t" {
                self.logger.warning(
                    """
                    The slot is behind the snapshot's recorded progress (the server lost acknowledged positions); \
                    reading the table again from the start
                    """,
                    metadata: ["siphon.table": "\(TableName(schema: schema, table))"])
                try await connection.query(
                    "UPDATE siphon.snapshots SET done_key = NULL, done_lsn = NULL, rows_done = 0 WHERE id = $1",
                    parameters: [String(id)])
                return Request(
                    id: id, table: TableName(schema: schema, table), doneKey: nil, rowsDone: 0, condition: row[4],
                    rowsEstimated: row[5].flatMap { Int64($0) })
            }
            let key = try await connection.query(
                """
                SELECT e.value FROM siphon.snapshots s, jsonb_array_elements_text(s.done_key) WITH ORDINALITY e(value, n)
                WHERE s.id = $1 ORDER BY e.n
                """, parameters: [String(id)]
            ).rows.map { $0[0] ?? "" }
            return Request(
                id: id, table: TableName(schema: schema, table), doneKey: key.isEmpty ? nil : key,
                rowsDone: row[3].flatMap { Int64($0) } ?? 0, condition: row[4], rowsEstimated: row[5].flatMap { Int64($0) })
        }
        return nil
    }

    /// Reads one request to the end, or marks it failed when the table cannot be read (gone, no key any more, a
    /// condition the server refuses): one bad request never stops the stream.
    private func read(_ request: Request, on connection: ServerConnection) async throws {
        do {
            try await self.readTable(request, on: connection)
        } catch let failure as RequestFailure {
            self.logger.error(
                "Cannot snapshot a table", metadata: ["siphon.table": "\(request.table)", "error": "\(failure.message)"])
            try await connection.query(
                "UPDATE siphon.snapshots SET state = 'failed', error = $2, finished_at = now() WHERE id = $1",
                parameters: [String(request.id), failure.message])
        }
    }

    private func readTable(_ request: Request, on connection: ServerConnection) async throws {
        let table: SnapshotTable
        do {
            table = try await SnapshotTable.resolve(request.table, publications: self.publications, on: connection)
            if request.condition != nil { try await SnapshotRequests.checkOnlySiphonWrites(on: connection) }
        } catch let error as SiphonError where error.code == .invalidConfiguration {
            throw RequestFailure(message: error.message)
        }
        var renderer = self.renderer
        try await Self.lookUpTypes(of: table, into: &renderer, on: connection)
        try await connection.query(
            """
            UPDATE siphon.snapshots SET started_at = coalesce(started_at, now()),
                rows_estimated = coalesce(rows_estimated, $2)
            WHERE id = $1
            """, parameters: [String(request.id), table.estimatedRows.map(String.init)])
        self.logger.info(
            "\(request.doneKey == nil ? "Snapshot started" : "Snapshot resumed")",
            metadata: ["siphon.table": "\(table.name)", "rows.done": "\(request.rowsDone)"])

        // Chunks are read ahead of their delivery: while the session delivers one, the next is read and rendered.
        // Progress is recorded in chunk order, each only once its reads were acknowledged.
        var after = request.doneKey
        var inFlight: [ChunkRead] = []
        var readToTheEnd = false
        var progress = SnapshotRate(rowsDone: request.rowsDone, estimated: request.rowsEstimated ?? table.estimatedRows)
        while true {
            if !readToTheEnd && inFlight.count < Self.chunksInFlight {
                let chunk: ChunkRead
                do {
                    chunk = try await self.readChunk(
                        of: table, after: after, condition: request.condition, renderer: renderer, on: connection)
                } catch let failure as RequestFailure {
                    for earlier in inFlight { _ = try await self.exchange.resolution(of: earlier.id) }
                    throw failure
                }
                inFlight.append(chunk)
                if chunk.count < self.options.chunkSize { readToTheEnd = true } else { after = chunk.lastKey }
                continue
            }
            guard !inFlight.isEmpty else { return }
            let oldest = inFlight.removeFirst()
            guard case .acknowledged(let position) = try await self.exchange.resolution(of: oldest.id) else {
                // Read it again, and everything after it: the later chunks are delivered anyway, but progress must
                // not pass this one.
                self.logger.debug("Reading a chunk again", metadata: ["siphon.table": "\(table.name)"])
                for later in inFlight { _ = try await self.exchange.resolution(of: later.id) }
                inFlight.removeAll()
                after = oldest.after
                readToTheEnd = false
                continue
            }
            let finished = readToTheEnd && inFlight.isEmpty
            progress.add(oldest.count)
            try await connection.query(
                """
                UPDATE siphon.snapshots SET done_key = $2::jsonb, done_lsn = $3::pg_lsn, rows_done = rows_done + $4,
                    state = CASE WHEN $5 THEN 'done' ELSE state END,
                    finished_at = CASE WHEN $5 THEN now() END
                WHERE id = $1
                """,
                parameters: [
                    String(request.id), (oldest.lastKey ?? oldest.after).map(Self.jsonArray), position.description,
                    String(oldest.count), finished ? "true" : "false",
                ])
            if finished {
                self.logger.info("Snapshot done", metadata: progress.metadata(table: table.name))
                return
            }
            if progress.dueForLog() { self.logger.info("Snapshot progress", metadata: progress.metadata(table: table.name)) }
        }
    }

    /// Chunks read but not yet acknowledged, at most: two keep reading and delivering busy at once.
    private static let chunksInFlight = 2

    /// A chunk handed to the session: the key it was read after, its last key, how many rows it had.
    private struct ChunkRead {
        var id: UInt64
        var after: [String]?
        var lastKey: [String]?
        var count: Int
    }

    /// Reads the next chunk between its watermarks and hands its rows to the session. A condition runs in a
    /// read-only transaction. When the server refuses the query, the chunk's window is closed empty and the request
    /// fails (`RequestFailure`); connection trouble ends the session as usual.
    private func readChunk(
        of table: SnapshotTable, after: [String]?, condition: String?, renderer: ValueRenderer,
        on connection: ServerConnection
    ) async throws -> ChunkRead {
        let low = self.exchange.begin(table: table.name, key: table.key)
        try await self.emit(low, on: connection)
        var rows: [Change] = []
        rows.reserveCapacity(self.options.chunkSize)
        var lastRow: [ByteBuffer?]?
        let readAt = PostgresTimestamp(unixMicroseconds: Int64(Date().timeIntervalSince1970 * 1_000_000))
        let isKey = table.columns.indices.map(table.keyPositions.contains)
        var high = low
        high.kind = .high
        do {
            if condition != nil { try await connection.simpleQuery("BEGIN TRANSACTION READ ONLY") }
            try await connection.query(
                table.chunkSQL(afterKey: after != nil, limit: self.options.chunkSize, condition: condition),
                parameters: after ?? []
            ) { values in
                rows.append(self.change(from: values, of: table, isKey: isKey, renderer: renderer, readAt: readAt))
                lastRow = values
            }
            if condition != nil { try await connection.simpleQuery("COMMIT") }
        } catch let error as SiphonError where SourceRecovery.forConnectionFailure(error) == .fail {
            if condition != nil { try await connection.simpleQuery("ROLLBACK") }
            self.exchange.read([], chunk: low.chunk)
            try await self.emit(high, on: connection)
            _ = try await self.exchange.resolution(of: low.chunk)
            throw RequestFailure(message: "reading \(table.name) failed: \(error.message)")
        }
        let count = rows.count
        self.exchange.read(rows, chunk: low.chunk)
        try await self.emit(high, on: connection)
        // Key columns are never NULL: the chunk's last row gives the key the next chunk starts after.
        let lastKey = lastRow.map { row in table.keyPositions.map { row[$0].map { String(buffer: $0) } ?? "" } }
        return ChunkRead(id: low.chunk, after: after, lastKey: lastKey, count: count)
    }

    /// Writes a watermark. A non-transactional message is not flushed by itself, and the server sends the stream
    /// only up to the flushed position: the high watermark would wait for the WAL writer (up to `wal_writer_delay`)
    /// on every chunk. `txid_current()` gives the statement's transaction an id, so its commit flushes the WAL up to
    /// and past the message; pgoutput sends no empty transaction for it (PostgreSQL 15+).
    private func emit(_ watermark: SnapshotWatermark, on connection: ServerConnection) async throws {
        let flush = watermark.kind == .high ? ", txid_current()" : ""
        try await connection.query(
            "SELECT pg_logical_emit_message(false, $1, $2)\(flush)",
            parameters: [SnapshotWatermark.prefix, watermark.content])
    }

    /// A row as a read, rendered as the stream renders it (the text format, the stream's renderer).
    private func change(
        from values: [ByteBuffer?], of table: SnapshotTable, isKey: [Bool], renderer: ValueRenderer,
        readAt: PostgresTimestamp
    ) -> Change {
        var row = Row()
        row.columns.reserveCapacity(table.columns.count)
        for (column, value) in zip(table.columns, values) {
            var json = ""
            if let value {
                do throws(ValueDecodingError) {
                    try renderer.appendJSON(of: value, format: .text, typeOID: column.typeOID, to: &json)
                } catch {
                    // As in the stream: one odd value goes out as the server sent it, and never stops the snapshot.
                    json = ""
                    PostgresValue.other(String(buffer: value)).appendJSON(to: &json)
                    self.logger.warning(
                        "Cannot decode a value",
                        metadata: ["reason": "column \(column.name) of \(table.name): \(error); rendered as the server sent it"])
                }
            } else {
                json = "null"
            }
            row.columns.append(Row.Column(name: column.name, json: json))
        }
        var key = Row()
        for index in row.columns.indices where isKey[index] { key.columns.append(row.columns[index]) }
        return Change(
            id: Change.ID(source: self.slot, commitLSN: .zero, index: 0), operation: .read, schema: table.name.schema,
            table: table.name.table, xid: nil, commitTime: readAt, new: row, key: key)
    }

    private static func lookUpTypes(
        of table: SnapshotTable, into renderer: inout ValueRenderer, on connection: ServerConnection
    ) async throws {
        let missing = Set(table.columns.map(\.typeOID)).filter(renderer.catalog.needsLookup).sorted()
        guard !missing.isEmpty else { return }
        let rows = try await connection.simpleQuery(TypeCatalog.lookupSQL(for: missing)).rows
        do {
            renderer.catalog.add(try TypeCatalog.entries(fromLookupRows: rows))
        } catch {
            throw SiphonError(.decodingFailed, "cannot read the server's type catalog: \(error)", underlying: error)
        }
    }

    private static func jsonArray(_ values: [String]) -> String {
        var json = "["
        for (index, value) in values.enumerated() {
            if index > 0 { json += "," }
            JSONText.appendString(value, to: &json)
        }
        return json + "]"
    }
}

/// Rows done, rate and time left of one table's snapshot, for log lines.
private struct SnapshotRate {
    var rowsDone: Int64
    let estimated: Int64?
    private let started = ContinuousClock.now
    private var rowsThisRun: Int64 = 0
    private var lastLog = ContinuousClock.now

    init(rowsDone: Int64, estimated: Int64?) {
        self.rowsDone = rowsDone
        self.estimated = estimated
    }

    mutating func add(_ rows: Int) {
        self.rowsDone += Int64(rows)
        self.rowsThisRun += Int64(rows)
    }

    mutating func dueForLog() -> Bool {
        guard ContinuousClock.now - self.lastLog >= .seconds(10) else { return false }
        self.lastLog = .now
        return true
    }

    func metadata(table: TableName) -> Logger.Metadata {
        let elapsed = ContinuousClock.now - self.started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = seconds > 0 ? Double(self.rowsThisRun) / seconds : 0
        var metadata: Logger.Metadata = [
            "siphon.table": "\(table)", "rows.done": "\(self.rowsDone)", "rows.per_second": "\(Int(rate))",
        ]
        if let estimated = self.estimated {
            metadata["rows.estimated"] = "\(estimated)"
            if rate > 0 && estimated > self.rowsDone {
                metadata["eta.seconds"] = "\(Int(Double(estimated - self.rowsDone) / rate))"
            }
        }
        return metadata
    }
}
