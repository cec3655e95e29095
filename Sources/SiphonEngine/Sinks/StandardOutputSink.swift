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

/// Writes changes to standard output, one JSON object per line (`--sink stdout`).
///
/// Each `deliver` renders its changes into one buffer and hands it to the kernel with `write(2)` (looping on short
/// writes, and waiting while a non-blocking pipe is full), so nothing waits in a user-space buffer when it returns.
/// When standard output is a regular file (`siphon run > changes.jsonl`) it is also fsynced; a pipe or terminal has
/// nothing to sync. A write that fails part way is resumed, not repeated: the next `deliver` first finishes the line
/// it tore and then skips the changes that were written whole, so a retry neither repeats a change nor leaves half a
/// line. Standard output cannot drop repeats across processes: after a crash the changes since the last
/// acknowledgement are written again.
public final class StandardOutputSink: ChangeSink {
    public let name = "stdout"
    public let format: ChangeFormat
    public let debezium: DebeziumSource
    private let descriptor: Int32
    private let isRegularFile: Bool
    private let writer: @Sendable (Int32, UnsafeRawBufferPointer) -> Int
    private let state = Mutex(State())

    private struct State {
        var buffer = ""
        /// Changes a failed delivery wrote whole; a retry skips them.
        var written: Set<Change.ID> = []
        /// The rest of the line a failed write tore; the next delivery writes it first.
        var tornLineRest: [UInt8] = []
    }

    public convenience init(format: ChangeFormat = .siphon, debezium: DebeziumSource = DebeziumSource()) {
        self.init(format: format, debezium: debezium, descriptor: STDOUT_FILENO)
    }

    /// Writes to `descriptor` instead of standard output, with `writer` in place of `write(2)`; the caller keeps the
    /// descriptor open for the sink's lifetime.
    init(
        format: ChangeFormat, debezium: DebeziumSource, descriptor: Int32,
        writer: @escaping @Sendable (Int32, UnsafeRawBufferPointer) -> Int = { write($0, $1.baseAddress, $1.count) }
    ) {
        self.format = format
        self.debezium = debezium
        self.descriptor = descriptor
        self.writer = writer
        self.isRegularFile = (try? FileDescriptorIO.status(descriptor).isRegularFile) ?? false
    }

    public func deliver(_ changes: [Change]) async throws {
        guard !changes.isEmpty else { return }
        try self.state.withLock { (state) throws(SiphonError) in
            // Text that `print` left in the C library's buffer was written first, so it comes out first.
            fflush(nil)
            do throws(SystemCallError) {
                try self.finishTornLine(&state)
                state.buffer.removeAll(keepingCapacity: state.buffer.utf8.count <= 4 << 20)
                var lineEnds: [(id: Change.ID, end: Int)] = []
                lineEnds.reserveCapacity(changes.count)
                // Only a retry after a failed write has changes to skip; the common case hashes no id.
                let retrying = !state.written.isEmpty
                for change in changes where !retrying || !state.written.contains(change.id) {
                    ChangeEnvelope.append(change, format: self.format, debezium: self.debezium, to: &state.buffer)
                    state.buffer.append("\n")
                    lineEnds.append((change.id, state.buffer.utf8.count))
                }
                var written = 0
                var failure: SystemCallError?
                state.buffer.withUTF8 { bytes in
                    do throws(SystemCallError) {
                        try FileDescriptorIO.writeAll(
                            self.descriptor, UnsafeRawBufferPointer(bytes), written: &written, using: self.writer)
                    } catch {
                        failure = error
                    }
                }
                if let failure {
                    self.remember(written: written, of: lineEnds, in: &state)
                    throw failure
                }
                if self.isRegularFile { try FileDescriptorIO.sync(self.descriptor) }
                state.written.removeAll()
            } catch {
                let what = "\(changes.count) change\(changes.count == 1 ? "" : "s")"
                let message =
                    switch error.errno {
                    case EPIPE: "standard output was closed by the reader; \(what) not delivered"
                    case ENOSPC: "no space left on the device standard output writes to; \(what) not delivered"
                    default: "cannot \(error.call) standard output: \(error.reason); \(what) not delivered"
                    }
                throw SiphonError(.sinkRejected, message, underlying: error)
            }
        }
    }

    /// Writes what a failed write left of its last line, so the next lines start on a line of their own.
    private func finishTornLine(_ state: inout State) throws(SystemCallError) {
        guard !state.tornLineRest.isEmpty else { return }
        var written = 0
        var failure: SystemCallError?
        state.tornLineRest.withUnsafeBytes { bytes in
            do throws(SystemCallError) {
                try FileDescriptorIO.writeAll(self.descriptor, bytes, written: &written, using: self.writer)
            } catch {
                failure = error
            }
        }
        state.tornLineRest.removeFirst(written)
        if let failure { throw failure }
    }

    /// After a write that stopped after `written` bytes: which changes are out whole, and what is left of a torn line.
    private func remember(written: Int, of lineEnds: [(id: Change.ID, end: Int)], in state: inout State) {
        var start = 0
        for (id, end) in lineEnds {
            guard start < written else { break }
            // A torn line is finished before anything else is written, so its change counts as written too.
            state.written.insert(id)
            if written < end { state.tornLineRest = Array(state.buffer.utf8.dropFirst(written).prefix(end - written)) }
            start = end
        }
    }
}
