// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonReplication

/// Writes a tiny non-transactional logical message into the WAL on a timer. It comes back through the slot as a
/// position with nothing pending before it, which the pipeline confirms — so a slot whose tables see no writes
/// (or whose changes are all filtered out) still advances, and the server does not keep WAL nobody needs.
struct Heartbeat: Sendable {
    static let prefix = "siphon.heartbeat"

    let settings: ConnectionSettings
    let logger: Logger

    /// Runs until cancelled. A failure is logged and retried at the next tick: heartbeats are an optimisation,
    /// never a reason to stop streaming.
    func run(every interval: Duration) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            do {
                try await ServerConnection.withConnection(
                    settings: self.settings, replication: false, queryTimeout: ServerConnection.sideQueryTimeout,
                    logger: self.logger
                ) { connection in
                    _ = try await connection.simpleQuery("SELECT pg_logical_emit_message(false, '\(Self.prefix)', '')")
                }
            } catch {
                self.logger.warning("Heartbeat failed; the slot advances only on keepalives until it works",
                    metadata: ["error": "\(error)"])
            }
        }
    }
}
