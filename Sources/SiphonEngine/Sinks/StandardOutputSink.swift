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
/// Each `deliver` renders its changes into one buffer and hands it to the kernel with `write(2)` (looping only
/// on short writes), so nothing waits in a user-space buffer when it returns. When standard output is a regular
/// file (`siphon run > changes.jsonl`) it is also fsynced; a pipe or terminal has nothing to sync. Standard output
/// cannot drop repeats: after a crash the changes since the last acknowledgement are written again.
public final class StandardOutputSink: ChangeSink {
    public let name = "stdout"
    public let format: ChangeFormat
    public let debezium: DebeziumSource
    private let descriptor: Int32
    private let isRegularFile: Bool
    private let buffer = Mutex("")

    public convenience init(format: ChangeFormat = .siphon, debezium: DebeziumSource = DebeziumSource()) {
        self.init(format: format, debezium: debezium, descriptor: STDOUT_FILENO)
    }

    /// Writes to `descriptor` instead of standard output; the caller keeps it open for the sink's lifetime.
    init(format: ChangeFormat, debezium: DebeziumSource, descriptor: Int32) {
        self.format = format
        self.debezium = debezium
        self.descriptor = descriptor
        self.isRegularFile = (try? FileDescriptorIO.status(descriptor).isRegularFile) ?? false
    }

    public func deliver(_ changes: [Change]) async throws {
        guard !changes.isEmpty else { return }
        try self.buffer.withLock { (buffer) throws(SiphonError) in
            buffer.removeAll(keepingCapacity: buffer.utf8.count <= 4 << 20)
            for change in changes {
                ChangeEnvelope.append(change, format: self.format, debezium: self.debezium, to: &buffer)
                buffer.append("\n")
            }
            // Text that `print` left in the C library's buffer was written first, so it comes out first.
            fflush(nil)
            do throws(SystemCallError) {
                try FileDescriptorIO.writeAll(self.descriptor, &buffer)
                if self.isRegularFile { try FileDescriptorIO.sync(self.descriptor) }
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
}
