// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A temporary file without a name that holds the spilled events of one streamed transaction.
///
/// It is created in a directory and unlinked at once: nothing is left behind when the process dies, however it
/// dies, and its disk space is freed when the last reference goes (at the transaction's commit or abort).
final class SpillFile: Sendable {
    let descriptor: Int32

    /// Creates the file in `directory`.
    init(directory: String) throws(SystemCallError) {
        var template = ((directory.hasSuffix("/") ? directory : directory + "/") + "siphon-spill-XXXXXX").utf8CString
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw SystemCallError("mkstemp", errno: errno) }
        // Child processes (siphon spawns some) must not keep the file alive.
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        let unlinked = template.withUnsafeBufferPointer { unlink($0.baseAddress!) }
        guard unlinked == 0 else {
            let failure = errno
            close(descriptor)
            throw SystemCallError("unlink", errno: failure)
        }
        self.descriptor = descriptor
    }

    deinit {
        close(self.descriptor)
    }

    /// Writes all of `bytes`' readable bytes at `offset`.
    func write(_ bytes: ByteBuffer, at offset: Int64) throws(SystemCallError) {
        let failure: Int32? = bytes.withUnsafeReadableBytes { bytes in
            var done = 0
            while done < bytes.count {
                let position = off_t(offset) + off_t(done)
                let written = pwrite(self.descriptor, bytes.baseAddress! + done, bytes.count - done, position)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                done += written
            }
            return nil
        }
        if let failure { throw SystemCallError("pwrite", errno: failure) }
    }

    /// Appends up to `count` bytes read at `offset` to `buffer`; returns how many it read (0 at the end).
    func read(_ count: Int, at offset: Int64, into buffer: inout ByteBuffer) throws(SystemCallError) -> Int {
        var failure: Int32?
        let got = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { target in
            while true {
                let got = pread(self.descriptor, target.baseAddress!, count, off_t(offset))
                if got >= 0 { return got }
                if errno != EINTR {
                    failure = errno
                    return 0
                }
            }
        }
        if let failure { throw SystemCallError("pread", errno: failure) }
        return got
    }
}
