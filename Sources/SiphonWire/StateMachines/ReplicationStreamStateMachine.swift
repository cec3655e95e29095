// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// The copy-both phase of `START_REPLICATION`: what to forward and what to report back to the server.
///
/// The one rule it exists to keep: the flushed position it reports is only ever what the caller said was made
/// durable through `flushed(upTo:)` — never the received position, never a keepalive's position.
public struct ReplicationStreamStateMachine {
    public enum Action: Sendable, Equatable {
        case none
        /// Hand this XLogData to the consumer.
        case forward(ReplicationMessage.XLogData)
        /// Send a standby status update with these positions.
        case sendStandbyStatus(received: LSN, flushed: LSN, replyRequested: Bool)
        /// Send `CopyDone` to end the stream.
        case sendCopyDone
        /// The server acknowledged the end of the stream.
        case finished
        case fail(reason: String)
    }

    private enum State {
        case waitingForCopyBoth(start: LSN)
        case streaming(received: LSN, flushed: LSN)
        case stopping(received: LSN, flushed: LSN)
        case finished
    }

    private var state: State

    /// `start` is where replication starts: the slot's confirmed position or later.
    public init(start: LSN) { self.state = .waitingForCopyBoth(start: start) }

    /// The position reported as durable so far.
    public var flushed: LSN {
        switch self.state {
        case .waitingForCopyBoth(let start): start
        case .streaming(_, let flushed), .stopping(_, let flushed): flushed
        case .finished: .zero
        }
    }

    /// The highest WAL position received so far.
    public var received: LSN {
        switch self.state {
        case .waitingForCopyBoth(let start): start
        case .streaming(let received, _), .stopping(let received, _): received
        case .finished: .zero
        }
    }

    public mutating func copyBothResponseReceived() -> Action {
        switch self.state {
        case .waitingForCopyBoth(let start):
            self.state = .streaming(received: start, flushed: start)
            return .none
        case .streaming, .stopping, .finished:
            return .fail(reason: "unexpected CopyBothResponse while \(self.state)")
        }
    }

    public mutating func xLogDataReceived(_ data: ReplicationMessage.XLogData) -> Action {
        switch self.state {
        case .streaming(let received, let flushed):
            self.state = .streaming(received: max(received, data.walEnd, data.walStart), flushed: flushed)
            return .forward(data)
        case .stopping(let received, let flushed):
            // Data already in flight when we sent CopyDone still arrives; the caller may use it.
            self.state = .stopping(received: max(received, data.walEnd, data.walStart), flushed: flushed)
            return .forward(data)
        case .waitingForCopyBoth, .finished:
            return .fail(reason: "XLogData outside the copy-both stream")
        }
    }

    /// A primary keepalive. Its `walEnd` is the server's send position, which says nothing about what we made
    /// durable, so it only moves `received`.
    public mutating func keepaliveReceived(walEnd: LSN, replyRequested: Bool) -> Action {
        switch self.state {
        case .streaming(let received, let flushed):
            let newReceived = max(received, walEnd)
            self.state = .streaming(received: newReceived, flushed: flushed)
            return replyRequested ? .sendStandbyStatus(received: newReceived, flushed: flushed, replyRequested: false) : .none
        case .stopping(let received, let flushed):
            self.state = .stopping(received: max(received, walEnd), flushed: flushed)
            return .none
        case .waitingForCopyBoth, .finished:
            return .fail(reason: "keepalive outside the copy-both stream")
        }
    }

    /// Everything up to `lsn` was made durable by every sink; only now may the slot advance.
    public mutating func flushed(upTo lsn: LSN) -> Action {
        switch self.state {
        case .streaming(let received, let flushed) where lsn > flushed:
            self.state = .streaming(received: max(received, lsn), flushed: lsn)
            return .sendStandbyStatus(received: max(received, lsn), flushed: lsn, replyRequested: false)
        case .stopping(let received, let flushed) where lsn > flushed:
            self.state = .stopping(received: max(received, lsn), flushed: lsn)
            return .sendStandbyStatus(received: max(received, lsn), flushed: lsn, replyRequested: false)
        case .waitingForCopyBoth(let start) where lsn > start:
            self.state = .waitingForCopyBoth(start: lsn)
            return .none
        case .streaming, .stopping, .waitingForCopyBoth, .finished:
            return .none
        }
    }

    /// The status interval elapsed: tell the server we are alive, repeating the positions we have.
    public mutating func statusIntervalElapsed() -> Action {
        switch self.state {
        case .streaming(let received, let flushed), .stopping(let received, let flushed):
            return .sendStandbyStatus(received: received, flushed: flushed, replyRequested: false)
        case .waitingForCopyBoth, .finished:
            return .none
        }
    }

    /// The caller wants to stop: report the final positions, then end the copy stream.
    public mutating func stopRequested() -> Action {
        switch self.state {
        case .streaming(let received, let flushed):
            self.state = .stopping(received: received, flushed: flushed)
            return .sendCopyDone
        case .waitingForCopyBoth, .stopping, .finished:
            return .none
        }
    }

    /// The server sent `CopyDone` (it ends the stream too, or answers ours).
    public mutating func copyDoneReceived() -> Action {
        switch self.state {
        case .streaming(let received, let flushed):
            // The server ended the stream on its own (e.g. shutting down); we answer with CopyDone.
            self.state = .stopping(received: received, flushed: flushed)
            return .sendCopyDone
        case .stopping:
            self.state = .finished
            return .finished
        case .waitingForCopyBoth, .finished:
            return .fail(reason: "unexpected CopyDone")
        }
    }
}
