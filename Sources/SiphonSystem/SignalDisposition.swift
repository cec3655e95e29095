// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Signal settings a process inherits from whoever started it.
public enum SignalDisposition {
    /// Sets `signals` back to their default action, whatever the parent left them at.
    ///
    /// A non-interactive shell starts a background job (`siphon run &`) with SIGINT and SIGQUIT ignored, and
    /// `trap '' TERM` before `exec` passes an ignored SIGTERM on. Call this before the graceful-shutdown handling
    /// installs itself, which then receives the signals however the process was started. Blocked signals are left
    /// blocked: the Dispatch signal sources that receive them on Linux read them with `signalfd`, which relies on
    /// them being blocked (a thread that unblocked one would take it and lose it).
    public static func restoreDefaults(_ signals: [Int32]) {
        for number in signals { signal(number, SIG_DFL) }
    }
}
