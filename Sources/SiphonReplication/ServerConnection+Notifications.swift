// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore
import SiphonWire

extension ServerConnection {
    /// Runs `LISTEN` for every channel (names as stored, quoted here) in one command.
    ///
    /// Returns the notifications that arrived before the command finished: the server may send one as soon as the
    /// `LISTEN` committed, and it must not be lost.
    public func listen(_ channels: [String]) async throws -> [PostgresNotification] {
        try await self.withQueryDeadline { try await self.runListen(channels) }
    }

    private func runListen(_ channels: [String]) async throws -> [PostgresNotification] {
        let sql = channels.map { "LISTEN \(TableName.quoteIdentifier($0))" }.joined(separator: "; ")
        var encoder = FrontendEncoder(allocator: self.channel.allocator)
        encoder.query(sql)
        try await self.write(encoder.flushBuffer())
        var machine = QueryStateMachine(command: "LISTEN", user: self.settings.user)
        while true {
            switch machine.messageReceived(try await self.nextMessage()) {
            case .read, .row: continue
            case .finished: return machine.notifications
            case .failed(let error): throw error
            }
        }
    }

    /// Waits for the next notification. Call it only while no command is running: the session must be idle.
    ///
    /// A server that ends the session (shutdown, `pg_terminate_backend`) makes it throw `connectionFailed` or the
    /// server's error; reconnect and `listen` again.
    public func nextNotification() async throws -> PostgresNotification {
        while true {
            switch QueryStateMachine.idleMessageReceived(try await self.nextMessage(), user: self.settings.user) {
            case .success(let notification?): return notification
            case .success(nil): continue
            case .failure(let error): throw error
            }
        }
    }

    /// Closes the connection from any task: a `nextNotification()` waiting on it throws at once. For a listener
    /// that is told to stop while it waits.
    public var closeFromAnyThread: @Sendable () -> Void {
        let channel = self.channel
        return { channel.close(promise: nil) }
    }
}
