// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few POSIX file operations the file and stdout sinks share, retried on `EINTR`.
enum FileDescriptorIO {
    /// Writes all of `text`'s UTF-8 bytes, looping over short writes.
    static func writeAll(_ descriptor: Int32, _ text: inout String) throws(SystemCallError) {
        let failure: Int32? = text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += written
            }
            return nil
        }
        if let failure { throw SystemCallError("write", errno: failure) }
    }

    /// Makes everything written to `descriptor` durable (`fsync`).
    static func sync(_ descriptor: Int32) throws(SystemCallError) {
        while true {
            #if canImport(Darwin)
                // Plain fsync on Darwin leaves data in the drive's cache; F_FULLFSYNC is what makes it durable.
                if fcntl(descriptor, F_FULLFSYNC) == 0 { return }
            #else
                if fsync(descriptor) == 0 { return }
            #endif
            if errno != EINTR { throw SystemCallError("fsync", errno: errno) }
        }
    }

    /// `open(2)`; returns the descriptor or throws.
    static func openFile(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(SystemCallError) -> Int32 {
        while true {
            let descriptor = open(path, flags | O_CLOEXEC, mode)
            if descriptor >= 0 { return descriptor }
            if errno != EINTR { throw SystemCallError("open", errno: errno) }
        }
    }

    /// `close(2)`. Not retried on `EINTR`: on Linux the descriptor is gone either way.
    static func closeFile(_ descriptor: Int32) throws(SystemCallError) {
        if close(descriptor) != 0 { throw SystemCallError("close", errno: errno) }
    }

    /// Takes `flock`'s exclusive lock on the file without waiting; it holds until the descriptor is closed.
    static func lockExclusively(_ descriptor: Int32) throws(SystemCallError) {
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            if errno != EINTR { throw SystemCallError("flock", errno: errno) }
        }
    }

    /// Cuts the file to `size` bytes.
    static func truncate(_ descriptor: Int32, to size: Int64) throws(SystemCallError) {
        while ftruncate(descriptor, off_t(size)) != 0 {
            if errno != EINTR { throw SystemCallError("ftruncate", errno: errno) }
        }
    }

    /// Reads exactly `count` bytes at `offset`.
    static func read(_ descriptor: Int32, count: Int, at offset: Int64) throws(SystemCallError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let failure: Int32? = bytes.withUnsafeMutableBytes { buffer in
            var done = 0
            while done < count {
                let got = pread(descriptor, buffer.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if got < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                if got == 0 { return EIO }
                done += got
            }
            return nil
        }
        if let failure { throw SystemCallError("pread", errno: failure) }
        return bytes
    }

    /// The size and kind of the open file.
    static func status(_ descriptor: Int32) throws(SystemCallError) -> (size: Int64, isRegularFile: Bool) {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw SystemCallError("fstat", errno: errno) }
        return (Int64(info.st_size), (info.st_mode & S_IFMT) == S_IFREG)
    }
}
