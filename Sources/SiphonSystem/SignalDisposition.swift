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
    /// `trap '' TERM` before `exec` passes an ignored SIGTERM on. Once the graceful-shutdown handler is installed it
    /// catches the signals whatever was inherited; until then an inherited "ignore" would drop a stop signal sent
    /// during startup, and the process would run on. With the default action it ends the process instead.
    public static func restoreDefaults(_ signals: [Int32]) {
        for number in signals { signal(number, SIG_DFL) }
    }
}
