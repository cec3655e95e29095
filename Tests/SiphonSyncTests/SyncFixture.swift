// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import Logging
import SiphonCore
import SiphonEngine
import SiphonReplication
import SiphonSync
import SiphonTestSupport

/// One table on the two test clusters (`SIPHON_TEST_URL` as the source, `SIPHON_TEST_TARGET_URL` as the target) and
/// a sync of it under a name of its own, removed again by `drop`.
struct SyncFixture {
    let name: String
    let table: TableName
    let source: ConnectionSettings
    let target: ConnectionSettings
    let logger = Logger(label: "test")

    /// Creates the table on the source, and on the target too unless `onTarget` is false.
    static func make(columns: String, prefix: String = "sync", onTarget: Bool = true) async throws -> SyncFixture {
        let fixture = SyncFixture(
            name: TestEnvironment.uniqueName("t"), table: TableName(TestEnvironment.uniqueName(prefix)),
            source: try ConnectionSettings(url: try TestEnvironment.url(), environment: [:]),
            target: try ConnectionSettings(url: try TestEnvironment.targetURL(), environment: [:]))
        try await fixture.execute("CREATE TABLE \(fixture.table) (\(columns))", on: fixture.source)
        if onTarget { try await fixture.execute("CREATE TABLE \(fixture.table) (\(columns))", on: fixture.target) }
        return fixture
    }

    func configuration(bothWays: Bool = false, initialCopy: Bool = true, batchSize: Int = 500) -> SyncConfiguration {
        SyncConfiguration(
            name: self.name, source: self.source, target: self.target, tables: [self.table], bothWays: bothWays,
            initialCopy: initialCopy, batchSize: batchSize,
            snapshots: SnapshotOptions(chunkSize: 100, pollInterval: .milliseconds(100)))
    }

    /// Prepares `configuration`, runs its pipelines while `body` runs, then stops them.
    func running<Result: Sendable>(
        _ configuration: SyncConfiguration, _ body: (TableSync, [Pipeline]) async throws -> Result
    ) async throws -> Result {
        let sync = try TableSync(configuration: configuration, logger: self.logger)
        try await sync.prepare()
        let pipelines = sync.makePipelines()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for pipeline in pipelines { group.addTask { try await pipeline.run() } }
            do {
                let result = try await body(sync, pipelines)
                for pipeline in pipelines { pipeline.stop() }
                try await group.waitForAll()
                return result
            } catch {
                for pipeline in pipelines { pipeline.stop() }
                try? await group.waitForAll()
                throw error
            }
        }
    }

    @discardableResult
    func execute(_ sql: String, on settings: ConnectionSettings) async throws -> QueryResult {
        try await ServerConnection.withConnection(settings: settings, replication: false, logger: self.logger) {
            try await $0.simpleQuery(sql)
        }
    }

    /// Every row of the table as `to_jsonb` text, by key text.
    func rows(on settings: ConnectionSettings, key: String = "id") async throws -> [String: String] {
        let result = try await self.execute(
            "SELECT (to_jsonb(t)->>'\(key)'), to_jsonb(t)::text FROM \(self.table) t", on: settings)
        return Dictionary(uniqueKeysWithValues: result.rows.map { ($0[0] ?? "null", $0[1] ?? "null") })
    }

    /// Keys whose rows differ between the sides (missing on one side counts), with both versions.
    func differences(key: String = "id") async throws -> [String] {
        let source = try await self.rows(on: self.source, key: key)
        let target = try await self.rows(on: self.target, key: key)
        return Set(source.keys).union(target.keys).sorted().compactMap { id in
            source[id] == target[id] ? nil : "\(id): \(source[id] ?? "missing") vs \(target[id] ?? "missing")"
        }
    }

    /// Waits until both sides hold the same rows; returns the differences left when `timeout` passed.
    func waitUntilEqual(timeout: Duration = .seconds(120), key: String = "id") async throws -> [String] {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            let differences = try await self.differences(key: key)
            if differences.isEmpty || clock.now > deadline { return differences }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// The position the target recorded as applied for one direction of the sync.
    func applied(on settings: ConnectionSettings, reverse: Bool = false) async throws -> String? {
        let key = "siphon_sync_\(self.name)" + (reverse ? "_reverse" : "")
        return try await self.execute(
            "SELECT applied_lsn::text || '/' || applied_index FROM siphon.sync_progress WHERE name = '\(key)'",
            on: settings
        ).rows.first?.first ?? nil
    }

    /// Removes the sync `configuration` set up (by default a two-way sync over slots) and the table on both sides.
    func drop(_ configuration: SyncConfiguration? = nil) async throws {
        try await TableSync(configuration: configuration ?? self.configuration(bothWays: true), logger: self.logger)
            .teardown(force: true)
        try await self.execute("DROP TABLE IF EXISTS \(self.table)", on: self.source)
        try await self.execute("DROP TABLE IF EXISTS \(self.table)", on: self.target)
    }
}
