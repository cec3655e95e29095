// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation

/// A fresh directory for one test, removed afterwards whatever happens.
func withSinkTestDirectory<Result>(_ body: (String) async throws -> Result) async throws -> Result {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("siphon-sink-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// The file's bytes as text.
func sinkTestFileText(_ path: String) throws -> String {
    String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
}
