// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Appends changes to a file, one JSON object per line (`--sink jsonl:PATH`).
///
/// - `deliver` returns after the lines are written and fsynced: one `write` and one `fsync` per call, however many
///   changes it carries (batching is the pipeline's job).
/// - Opening repairs a crash: a last line without its `\n` is cut off, and the id of the last line of each id source
///   is read, so changes the file already holds (same source, `(commitLSN, index)` not above that source's last) are
///   skipped when the pipeline delivers them again. Repeats never reach the file twice. Ids of different sources are
///   never compared: the partitions of an outbox each order their own ids.
/// - A failed write is cut back off the file, so a retry never leaves half a line behind.
/// - The file is locked (`flock`) while the sink has it open: a second sink on it, in this process or another, is
///   refused.
/// - The file knows its source: `PATH.siphon` (``SourceRecordFile``) records the cluster, timeline, database and
///   slot its changes came from and how far the slot was confirmed for them. Binding to another source, or to a slot
///   that moved past that position without the file, is refused: ids of different sources do not compare, and
///   changes confirmed without reaching the file are lost.
/// - The file is created with mode 0644 (less the umask). Its directory is not created: a missing directory is
///   more often a volume that is not mounted than one to make.
///
/// The system calls block the calling thread for as long as the disk takes; `deliver` is called once per batch.
public final class JSONLinesFileSink: SourceBoundSink {
    public let name: String
    public let path: String
    public let format: ChangeFormat
    public let debezium: DebeziumSource
    /// Bytes of a torn last line cut off when the file was opened; 0 when the file ended cleanly.
    public let repairedBytes: Int
    private let state: Mutex<State>

    private struct State {
        /// `nil` once closed.
        var descriptor: Int32?
        /// The file's length: where the next line starts, and where to cut back to after a failed write.
        var size: Int64
        var lastID: Change.ID?
        /// The last id of each id source in the file.
        var lastIDs: [String: Change.ID]
        /// Set when a failed write could not be cut back; the file must be reopened to repair it.
        var broken: SiphonError?
        var buffer = ""
        /// `PATH.siphon` as last read or written; `nil` while there is none.
        var record: SourceRecordFile?
    }

    /// Opens (or creates) the file at `path`, repairing a torn last line and reading the last change's id.
    public init(path: String, format: ChangeFormat = .siphon, debezium: DebeziumSource = DebeziumSource()) throws {
        guard !path.isEmpty else {
            throw SiphonError(.invalidConfiguration, "the jsonl sink needs a file path, e.g. jsonl:changes.jsonl")
        }
        self.name = "jsonl:\(path)"
        self.path = path
        self.format = format
        self.debezium = debezium

        let descriptor = try Self.openOrCreate(path)
        do {
            try Self.lock(descriptor, path: path)
            let record = try SourceRecordFile.read(SourceRecordFile.path(for: path))
            let recovered = try Self.recover(descriptor, path: path, sources: record?.changeSources ?? [])
            self.repairedBytes = recovered.repairedBytes
            self.state = Mutex(
                State(
                    descriptor: descriptor, size: recovered.size, lastID: recovered.lastID,
                    lastIDs: recovered.lastIDs, record: record))
        } catch {
            try? FileDescriptorIO.closeFile(descriptor)
            throw error
        }
    }

    deinit {
        self.state.withLock { state in
            if let descriptor = state.descriptor { try? FileDescriptorIO.closeFile(descriptor) }
        }
    }

    /// The id of the last change in the file: found on open, or written since.
    public var lastID: Change.ID? { self.state.withLock { $0.lastID } }

    public func deliver(_ changes: [Change]) async throws {
        try self.state.withLock { (state) throws(SiphonError) in
            guard let descriptor = state.descriptor else {
                throw SiphonError(.sinkRejected, "the jsonl sink for \(self.path) is closed")
            }
            if let broken = state.broken { throw broken }

            state.buffer.removeAll(keepingCapacity: state.buffer.utf8.count <= Self.retainedBufferBytes)
            var lastIDs = state.lastIDs
            var lastWritten: Change.ID?
            var count = 0
            for change in changes {
                if let last = lastIDs[change.id.source], change.id <= last { continue }
                ChangeEnvelope.append(change, format: self.format, debezium: self.debezium, to: &state.buffer)
                state.buffer.append("\n")
                lastIDs[change.id.source] = change.id
                lastWritten = change.id
                count += 1
            }
            guard count > 0 else { return }
            try self.recordNewSources(lastIDs.keys, in: &state)

            do throws(SystemCallError) {
                try FileDescriptorIO.writeAll(descriptor, &state.buffer)
                try FileDescriptorIO.sync(descriptor)
            } catch {
                let failure = self.deliveryFailure(error, changes: count, bytes: state.buffer.utf8.count)
                // Cut the lines back off, so the retry does not append after half a line.
                do throws(SystemCallError) {
                    try FileDescriptorIO.truncate(descriptor, to: state.size)
                } catch let truncation {
                    state.broken = SiphonError(
                        .sinkRejected,
                        "\(self.path) may end in a partial line after a failed write and could not be cut back "
                            + "(\(truncation.reason)); reopen the sink to repair it",
                        underlying: truncation)
                }
                throw failure
            }
            state.size += Int64(state.buffer.utf8.count)
            state.lastIDs = lastIDs
            state.lastID = lastWritten
        }
    }

    /// Reopening looks for the last id of every source the record names: a new source is recorded before its first
    /// line is written.
    private func recordNewSources(_ sources: Dictionary<String, Change.ID>.Keys, in state: inout State) throws(SiphonError) {
        let known = state.record?.changeSources ?? state.lastID.map { [$0.source] } ?? []
        let new = sources.filter { !known.contains($0) }.sorted()
        guard !new.isEmpty else { return }
        var record = state.record ?? SourceRecordFile(source: SourceIdentity(fields: [], changeSource: ""), confirmed: nil)
        record.changeSources = known + new
        try record.write(to: SourceRecordFile.path(for: self.path))
        state.record = record
    }

    public func bind(to source: SourceIdentity, slotPosition: LSN?) async throws {
        let recordPath = SourceRecordFile.path(for: self.path)
        try self.state.withLock { (state) throws(SiphonError) in
            let record = state.record
            if let recorded = record, !recorded.source.fields.isEmpty {
                let differences = source.differences(from: recorded.source)
                guard differences.isEmpty else {
                    throw SiphonError(
                        .invalidConfiguration,
                        "\(self.path) holds changes of another source (\(differences.joined(separator: "; "))), as "
                            + "\(recordPath) records. Their ids do not compare with this source's, so appending would "
                            + "mix two histories and could drop changes as repeats. Write to a new file, or move "
                            + "\(self.path) and \(recordPath) away first.")
                }
            } else if let lastID = state.lastID, !source.produces(lastID.source) {
                // A file from before source records: adopted only when its last change names this slot or outbox.
                throw SiphonError(
                    .invalidConfiguration,
                    "\(self.path) holds changes of \"\(lastID.source)\" and no record of their source "
                        + "(\(recordPath)); this run reads \(source). Write to a new file, or move \(self.path) away.")
            }
            if let slotPosition, let confirmed = record?.confirmed, slotPosition > confirmed {
                let slot = source.fields.first { $0.name == "slot" }?.value ?? "?"
                throw SiphonError(
                    .changesLost,
                    "replication slot \"\(slot)\" starts at \(slotPosition), but \(self.path) was only confirmed up "
                        + "to \(confirmed): the slot was dropped and created again, or moved on by something else "
                        + "(pg_replication_slot_advance, another siphon run writing to another file), so changes "
                        + "committed in between were lost to this file. Re-snapshot the tables downstream (siphon "
                        + "snapshot --all-tables) and write to a new file, or move \(self.path) and \(recordPath) "
                        + "away.")
            }
            let confirmed = max(record?.confirmed ?? slotPosition ?? .zero, slotPosition ?? .zero)
            var bound = SourceRecordFile(source: source, confirmed: confirmed == .zero ? nil : confirmed)
            bound.changeSources = record?.changeSources ?? state.lastID.map { [$0.source] } ?? []
            if bound.text != record?.text { try bound.write(to: recordPath) }
            state.record = bound
        }
    }

    public func confirming(_ lsn: LSN, seenUpTo: LSN) async throws -> LSN {
        let recordPath = SourceRecordFile.path(for: self.path)
        try self.state.withLock { (state) throws(SiphonError) in
            guard var record = state.record else { return }
            if let confirmed = record.confirmed, lsn <= confirmed { return }
            // Recording the furthest position seen saves a write for every confirmation up to it.
            record.confirmed = max(lsn, seenUpTo)
            try record.write(to: recordPath)
            state.record = record
        }
        return lsn
    }

    public func close() async throws {
        let descriptor: Int32? = self.state.withLock { state in
            defer { state.descriptor = nil }
            return state.descriptor
        }
        guard let descriptor else { return }
        do {
            try FileDescriptorIO.closeFile(descriptor)
        } catch {
            throw SiphonError(.sinkRejected, "closing \(self.path) failed: \(error)", underlying: error)
        }
    }

    /// Whether `error` says the file is locked by another sink (which may be closing it right now).
    static func isLockConflict(_ error: any Error) -> Bool {
        ((error as? SiphonError)?.underlying as? SystemCallError)?.errno == EWOULDBLOCK
    }

    /// A batch buffer larger than this is released after use instead of being kept for the next batch.
    private static let retainedBufferBytes = 4 << 20

    private static func openOrCreate(_ path: String) throws(SiphonError) -> Int32 {
        do throws(SystemCallError) {
            while true {
                do {
                    return try FileDescriptorIO.openFile(path, O_RDWR | O_APPEND)
                } catch where error.errno == ENOENT {}
                let created: Int32
                do {
                    created = try FileDescriptorIO.openFile(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL, mode: 0o644)
                } catch where error.errno == EEXIST {
                    continue  // Someone else created it since: open theirs.
                }
                // The new directory entry must survive a crash too, or lines fsynced into the file could vanish.
                do {
                    try FileDescriptorIO.syncDirectory(of: path)
                } catch {
                    try? FileDescriptorIO.closeFile(created)
                    throw error
                }
                return created
            }
        } catch {
            throw Self.openFailure(error, path: path)
        }
    }

    /// Two writers would interleave their lines and defeat each other's repeat checks, so one file has one sink.
    private static func lock(_ descriptor: Int32, path: String) throws(SiphonError) {
        do {
            try FileDescriptorIO.lockExclusively(descriptor)
        } catch where error.errno == EWOULDBLOCK {
            throw SiphonError(
                .sinkRejected,
                "\(path) is already being written by another jsonl sink (another siphon process?); two writers would "
                    + "mix their lines",
                underlying: error)
        } catch {
            throw SiphonError(.sinkRejected, "cannot lock \(path): \(error.reason)", underlying: error)
        }
    }

    private struct Recovered {
        var size: Int64
        var lastID: Change.ID?
        var lastIDs: [String: Change.ID] = [:]
        var repairedBytes: Int
    }

    /// Cuts a torn last line off and reads the id of the last complete line, and of the last line of each of
    /// `sources` (reading back until each was found).
    private static func recover(_ descriptor: Int32, path: String, sources: [String]) throws(SiphonError) -> Recovered {
        func failure(_ error: SystemCallError) -> SiphonError {
            SiphonError(.sinkRejected, "cannot repair \(path): \(error.reason)", underlying: error)
        }
        let status: (size: Int64, isRegularFile: Bool)
        do throws(SystemCallError) {
            status = try FileDescriptorIO.status(descriptor)
        } catch {
            throw failure(error)
        }
        guard status.isRegularFile else {
            throw SiphonError(
                .sinkRejected,
                "\(path) is not a regular file; the jsonl sink appends to files only "
                    + "(use --sink stdout to write to a pipe or terminal)")
        }
        var recovered: Recovered
        do throws(SystemCallError) {
            let size = try Self.cutTornLine(descriptor, size: status.size)
            recovered = Recovered(size: size, repairedBytes: Int(status.size - size))
        } catch {
            throw failure(error)
        }
        var missing = Set(sources)
        var isLastLine = true
        do {
            try Self.forEachLineBackwards(descriptor, size: recovered.size) { line in
                let id = try ChangeEnvelope.changeID(inLine: String(decoding: line, as: UTF8.self))
                if isLastLine {
                    recovered.lastID = id
                    isLastLine = false
                }
                if recovered.lastIDs[id.source] == nil { recovered.lastIDs[id.source] = id }
                missing.remove(id.source)
                return !missing.isEmpty
            }
        } catch let error as SystemCallError {
            throw failure(error)
        } catch {
            throw SiphonError(
                .sinkRejected,
                "\(isLastLine ? "the last line" : "a line") of \(path) is not a change Siphon wrote (\(error)); the "
                    + "jsonl sink only appends to "
                    + "its own files: move this one away or choose another path",
                underlying: error)
        }
        return recovered
    }

    /// Calls `body` with each line of a file that ends with `\n` (without it), last line first, while it returns
    /// true.
    private static func forEachLineBackwards(
        _ descriptor: Int32, size: Int64, _ body: (ArraySlice<UInt8>) throws -> Bool
    ) throws {
        guard size > 0 else { return }
        let chunkSize: Int64 = 64 << 10
        var chunkEnd = size - 1
        // The end of a line that starts in an earlier chunk.
        var rest: [UInt8] = []
        while chunkEnd > 0 {
            let chunkStart = max(0, chunkEnd - chunkSize)
            let chunk = try FileDescriptorIO.read(descriptor, count: Int(chunkEnd - chunkStart), at: chunkStart)
            var lineEnd = chunk.count
            while let newline = chunk[..<lineEnd].lastIndex(of: UInt8(ascii: "\n")) {
                let line = rest.isEmpty ? chunk[(newline + 1)..<lineEnd] : ArraySlice(chunk[(newline + 1)..<lineEnd] + rest)
                rest = []
                guard try body(line) else { return }
                lineEnd = newline
            }
            rest = Array(chunk[..<lineEnd]) + rest
            chunkEnd = chunkStart
        }
        _ = try body(rest[...])
    }

    /// Cuts the file back to its last `\n` when it does not end with one; returns the size it has then.
    private static func cutTornLine(_ descriptor: Int32, size: Int64) throws(SystemCallError) -> Int64 {
        guard size > 0, try FileDescriptorIO.read(descriptor, count: 1, at: size - 1) != [UInt8(ascii: "\n")] else {
            return size
        }
        let keep = try Self.lastNewline(descriptor, before: size).map { $0 + 1 } ?? 0
        try FileDescriptorIO.truncate(descriptor, to: keep)
        try FileDescriptorIO.sync(descriptor)
        return keep
    }

    /// The offset of the last `\n` before `end`, reading backwards in chunks; `nil` when there is none.
    private static func lastNewline(_ descriptor: Int32, before end: Int64) throws(SystemCallError) -> Int64? {
        let chunkSize: Int64 = 64 << 10
        var chunkEnd = end
        while chunkEnd > 0 {
            let chunkStart = max(0, chunkEnd - chunkSize)
            let chunk = try FileDescriptorIO.read(descriptor, count: Int(chunkEnd - chunkStart), at: chunkStart)
            if let index = chunk.lastIndex(of: UInt8(ascii: "\n")) { return chunkStart + Int64(index) }
            chunkEnd = chunkStart
        }
        return nil
    }

    static func openFailure(_ error: SystemCallError, path: String) -> SiphonError {
        let message: String
        switch error.errno {
        case EISDIR:
            message = "\(path) is a directory; the jsonl sink needs a file path, e.g. jsonl:\(path)/changes.jsonl"
        case EACCES, EPERM:
            message = "permission denied opening \(path) for appending; make the file (or its directory) writable "
                + "for this user"
        case ENOENT:
            message = "directory \(FileDescriptorIO.directory(of: path)) does not exist; create it first (Siphon does not "
                + "create directories, so an unmounted volume is never written to by mistake)"
        case ENOTDIR:
            message = "a part of \(path) that should be a directory is a file"
        case EROFS:
            message = "\(path) is on a read-only file system"
        default:
            message = "cannot open \(path): \(error.reason)"
        }
        return SiphonError(.sinkRejected, message, underlying: error)
    }

    func deliveryFailure(_ error: SystemCallError, changes: Int, bytes: Int) -> SiphonError {
        let what = "\(changes) change\(changes == 1 ? "" : "s") (\(bytes) bytes)"
        let message: String
        switch error.errno {
        case ENOSPC:
            message = "no space left on the device holding \(self.path); \(what) not written"
        case EDQUOT:
            message = "disk quota exceeded for \(self.path); \(what) not written"
        case EFBIG:
            message = "\(self.path) reached the largest file size allowed; \(what) not written"
        default:
            let step = error.call == "fsync" ? "fsync" : "write to"
            message = "cannot \(step) \(self.path): \(error.reason); \(what) not delivered"
        }
        return SiphonError(.sinkRejected, message, underlying: error)
    }
}
