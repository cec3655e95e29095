// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Delivers changes to in-process Swift handlers. A change counts as delivered when every handler returned.
public struct HandlerSink: ChangeSink {
    public let name = "handlers"
    private let handlers: ChangeHandlers

    public init(_ handlers: ChangeHandlers) { self.handlers = handlers }

    public func deliver(_ changes: [Change]) async throws {
        for change in changes { try await self.handlers.handle(change) }
    }
}
