// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore
import SiphonWire

extension ReplicationConnection {
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
        var result = QueryResult()
        var failure: SiphonError?
        while true {
            switch try await self.nextMessage() {
            case .parseComplete, .bindComplete, .noData, .emptyQueryResponse, .noticeResponse, .parameterStatus:
                continue
            case .rowDescription(let columns):
                result = QueryResult(columns: columns.map(\.name))
            case .dataRow(let values):
                result.rows.append(values.map { $0.map { String(buffer: $0) } })
            case .commandComplete(let tag):
                result.commandTag = tag
            case .errorResponse(let fields):
                // The server skips the rest up to Sync and then sends ReadyForQuery.
                failure = ServerErrorTranslation.error(for: fields.serverError, user: self.settings.user)
            case .readyForQuery:
                if let failure { throw failure }
                return result
            case .copyBothResponse, .copyOutResponse, .copyInResponse:
                throw SiphonError(.protocolViolation, "a parameterized query cannot run a COPY command")
            case let other:
                throw SiphonError(.protocolViolation, "unexpected message during a parameterized query: \(other)")
            }
        }
    }
}
