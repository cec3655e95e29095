// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A failed POSIX call: which one, and its `errno`. Sinks keep it as `SiphonError.underlying`.
public struct SystemCallError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The call that failed, e.g. `open`, `write`, `fsync`.
    public var call: String
    public var errno: Int32

    public init(_ call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    /// The C library's text for `errno`, e.g. `No space left on device`.
    public var reason: String { String(cString: strerror(self.errno)) }

    public var description: String { "\(self.call): \(self.reason) (errno \(self.errno))" }
}
