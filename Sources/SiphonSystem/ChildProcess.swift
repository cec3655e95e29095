// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process started with `posix_spawn` and reaped with `waitpid`.
///
/// Foundation's `Process` was seen here to leave a `runuser` child unreaped (a zombie) and hang in
/// `waitUntilExit`, so the demo cluster and the tests start programs through this instead: nothing depends on a
/// run loop or a signal handler.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: `pid` never changes; `status` is written only by `wait`, which one task calls at a time.
    public let pid: pid_t
    private var status: Int32?

    /// Starts `arguments[0]` (an absolute path) with stdin from /dev/null and stdout/stderr appended to the given
    /// files (or /dev/null). `environment` replaces the process environment when given. `blockedSignals` start
    /// blocked, as a parent that blocks them would pass on.
    public init(
        _ arguments: [String], standardOutput: String = "/dev/null", standardError: String? = nil,
        environment: [String: String]? = nil, blockedSignals: [Int32] = []
    ) throws(ChildProcessError) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, standardOutput, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if let standardError {
            posix_spawn_file_actions_addopen(&actions, 2, standardError, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        var cArguments = arguments.map { strdup($0) } + [nil]
        var cEnvironment = (environment ?? Self.currentEnvironment()).map { strdup("\($0)=\($1)") } + [nil]
        defer {
            cArguments.forEach { free($0) }
            cEnvironment.forEach { free($0) }
        }
        // The child starts with default handlers and only `blockedSignals` blocked: a parent thread that blocks
        // SIGTERM (as the test runner's threads do) must not pass that on unasked.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var blocked = sigset_t()
        sigemptyset(&blocked)
        for signal in blockedSignals { sigaddset(&blocked, signal) }
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &blocked)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, &cArguments, &cEnvironment)
        guard result == 0 else { throw ChildProcessError(program: arguments[0], reason: String(cString: strerror(result))) }
        self.pid = pid
    }

    /// Runs a program to completion; returns its exit status (128 + signal number when a signal ended it).
    public static func run(
        _ arguments: [String], standardOutput: String = "/dev/null", environment: [String: String]? = nil
    ) throws(ChildProcessError) -> Int32 {
        let child = try ChildProcess(arguments, standardOutput: standardOutput, environment: environment)
        return child.waitBlocking()
    }

    public func signal(_ signal: Int32) { kill(self.pid, signal) }

    /// The exit status if the process has ended, `nil` while it runs. Never blocks.
    public func poll() -> Int32? {
        if let status { return status }
        var raw: Int32 = 0
        guard waitpid(self.pid, &raw, WNOHANG) == self.pid else { return nil }
        self.status = Self.exitStatus(raw)
        return self.status
    }

    /// Waits for the process to end without holding a thread, checking every 50 ms: a test or task that waits for
    /// a long child must not take one of the cooperative pool's few threads for all that time.
    public func exited() async throws -> Int32 {
        while true {
            if let status = self.poll() { return status }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Blocks the calling thread until the process ends.
    public func waitBlocking() -> Int32 {
        if let status { return status }
        var raw: Int32 = 0
        while waitpid(self.pid, &raw, 0) == -1 && errno == EINTR {}
        self.status = Self.exitStatus(raw)
        return self.status!
    }

    private static func exitStatus(_ raw: Int32) -> Int32 {
        raw & 0x7F == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
    }

    private static func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}

/// A program could not be started.
public struct ChildProcessError: Error, Sendable, CustomStringConvertible {
    public var program: String
    public var reason: String

    public var description: String { "cannot run \(self.program): \(self.reason)" }
}
