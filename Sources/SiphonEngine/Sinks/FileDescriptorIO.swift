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
        var written = 0
        var failure: SystemCallError?
        text.withUTF8 { bytes in
            do throws(SystemCallError) {
                try Self.writeAll(descriptor, UnsafeRawBufferPointer(bytes), written: &written)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    /// Writes `bytes[written...]`, looping over short writes, and on a non-blocking descriptor (a pipe whose reader
    /// is slow) waiting until it takes more. `written` counts what reached the kernel, also when this throws.
    static func writeAll(
        _ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, written: inout Int,
        using writer: (Int32, UnsafeRawBufferPointer) -> Int = { write($0, $1.baseAddress, $1.count) }
    ) throws(SystemCallError) {
        while written < bytes.count {
            let count = writer(descriptor, UnsafeRawBufferPointer(rebasing: bytes[written...]))
            if count >= 0 {
                written += count
                continue
            }
            switch errno {
            case EINTR:
                continue
            case EAGAIN, EWOULDBLOCK:
                var ready = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                while poll(&ready, 1, -1) < 0 && errno == EINTR {}
            case let failure:
                throw SystemCallError("write", errno: failure)
            }
        }
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

    /// Makes a new or renamed directory entry under `path`'s directory durable, or lines fsynced into the file could
    /// vanish with it in a crash.
    static func syncDirectory(of path: String) throws(SystemCallError) {
        do {
            let directory = try Self.openFile(Self.directory(of: path), O_RDONLY | O_DIRECTORY)
            defer { try? Self.closeFile(directory) }
            try Self.sync(directory)
        } catch where error.errno == EINVAL || error.errno == EACCES {
            // Some file systems cannot sync a directory, and a directory may be writable but not readable.
        }
    }

    /// The directory part of `path` (`.` when it has none).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
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
