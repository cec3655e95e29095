// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Accepts every change and keeps none (`--sink null`). The pipeline still decodes, renders nothing further, and
/// acknowledges, so it measures the capture path alone.
public struct DiscardingSink: ChangeSink {
    public let name = "null"

    public init() {}

    public func deliver(_ changes: [Change]) async throws {}
}
