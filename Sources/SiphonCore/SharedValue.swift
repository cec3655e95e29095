// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Synchronization

/// A value behind a lock, shared by a `Sendable` value and the tasks it starts: statistics, a flag, a counter.
public final class SharedValue<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    public init(_ value: Value) { self.value = Mutex(value) }

    public var current: Value { self.value.withLock { $0 } }

    /// Runs `body` on the value under the lock and returns what it returns.
    @discardableResult
    public func withLock<Result>(_ body: (inout Value) -> Result) -> Result { self.value.withLock { body(&$0) } }
}
