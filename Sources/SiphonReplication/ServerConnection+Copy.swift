// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore
import SiphonWire

extension ServerConnection {
    /// Runs `COPY … TO STDOUT` (simple query protocol) and hands each chunk of its output to `consume` as it
    /// arrives: a large table streams through without being held. Returns the command tag (`COPY <rows>`).
    /// `sql` is a whole statement; build it from quoted identifiers, never from values (COPY takes no parameters).
    /// If `consume` throws, the server is still sending: the error ends the connection's use (let it propagate out
    /// of `withConnection`).
    @discardableResult
    public func copyOut(_ sql: String, into consume: (ByteBuffer) async throws -> Void) async throws -> String {
        guard !sql.utf8.contains(0) else {
            throw SiphonError(.invalidConfiguration, "a SQL statement cannot contain a NUL character")
        }
        var encoder = FrontendEncoder(allocator: self.channel.allocator)
        encoder.query(sql)
        try await self.write(encoder.flushBuffer())
        var machine = CopyOutStateMachine(user: self.settings.user)
        while true {
            switch machine.messageReceived(try await self.nextMessage()) {
            case .read: continue
            case .deliver(let chunk): try await consume(chunk)
            case .finished(let tag): return tag
            case .failed(let error): throw error
            }
        }
    }
}
