// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Synchronization

/// A value behind a lock, shared by a source (a `Sendable` value) and its sessions: statistics, a flag.
public final class SharedValue<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    public init(_ value: Value) { self.value = Mutex(value) }

    public var current: Value { self.value.withLock { $0 } }

    public func update(_ body: (inout Value) -> Void) { self.value.withLock { body(&$0) } }
}
