// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore
import SiphonWire

extension ServerConnection {
    /// `$first, $first+1, …`: placeholders for `count` parameters, such as an `IN (…)` list of names; `NULL` when
    /// `count` is 0, so an empty list matches nothing instead of being a syntax error.
    public static func placeholders(from first: Int, count: Int) -> String {
        guard count > 0 else { return "NULL" }
        return (first..<first + count).map { "$\($0)" }.joined(separator: ", ")
    }

    /// One statement with `$1`, `$2`, … bound to `parameters` (text format, `nil` is NULL), through the extended
    /// query protocol (Parse, Bind, Describe, Execute, Sync on the unnamed statement and portal); returns its rows
    /// as text.
    ///
    /// Prefer this to quoting whenever a value comes from the database or a payload: the values travel as
    /// length-prefixed bytes and never become SQL text. Only values can be parameters; identifiers still go through
    /// `SQLQuoting.identifier`, or are quoted by the server (`format('%I', $1)`). Not available on a replication
    /// connection (`replication: true`), whose walsender speaks only the simple query protocol.
    @discardableResult
    public func query(_ sql: String, parameters: [String?]) async throws -> QueryResult {
        return try await self.withQueryDeadline {
            try await self.sendExtendedQuery(sql, parameters: parameters)
            return try await self.queryResult(of: "a parameterized query")
        }
    }

    /// Like `query(_:parameters:)`, but hands each row to `row` as it arrives, as the server's text-format bytes
    /// (`nil` is NULL), and returns only the command tag: a large answer streams through without being held.
    /// If `row` throws, the rest of the answer is read and dropped, and the error is rethrown.
    @discardableResult
    public func query(
        _ sql: String, parameters: [String?], forEachRow row: ([ByteBuffer?]) throws -> Void
    ) async throws -> String {
        try await self.withQueryDeadline {
            try await self.sendExtendedQuery(sql, parameters: parameters)
            var machine = QueryStateMachine(command: "a parameterized query", user: self.settings.user, streamingRows: true)
            var rowError: (any Error)?
            while true {
                switch machine.messageReceived(try await self.nextMessage()) {
                case .read: continue
                case .row(let values):
                    guard rowError == nil else { continue }
                    do { try row(values) } catch { rowError = error }
                case .finished(let result):
                    if let rowError { throw rowError }
                    return result.commandTag
                case .failed(let error): throw error
                }
            }
        }
    }

    private func sendExtendedQuery(_ sql: String, parameters: [String?]) async throws {
        guard !sql.utf8.contains(0) else {
            throw SiphonError(.invalidConfiguration, "a SQL statement cannot contain a NUL character")
        }
        guard parameters.count <= Int(Int16.max) else {
            throw SiphonError(
                .invalidConfiguration,
                "\(parameters.count) parameters given; the protocol allows at most \(Int16.max) per statement")
        }
        var encoder = FrontendEncoder(allocator: self.channel.allocator)
        encoder.parse(sql)
        encoder.bind(parameters: parameters)
        encoder.describePortal()
        encoder.execute()
        encoder.sync()
        try await self.write(encoder.flushBuffer())
    }
}
