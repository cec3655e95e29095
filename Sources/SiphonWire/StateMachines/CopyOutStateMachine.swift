// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore

/// Reads the server's answer to `COPY … TO STDOUT` up to `ReadyForQuery`: the copy-out response, the data in
/// chunks as the server sends them, the end of the copy and its command tag ("COPY Operations", PostgreSQL docs
/// 55.2.6).
///
/// A value type: it takes messages, returns what to do, and does no I/O. Chunks are handed out as they arrive, so a
/// reader of a large table never holds more than one socket read. An error ends the copy; it is reported once the
/// session is idle again, so the session stays usable. A command that is not a copy out is a protocol violation.
public struct CopyOutStateMachine {
    public enum Action {
        /// Read the next message.
        case read
        /// One `CopyData` chunk: rows in the format the command asked for (whole rows in text and CSV; the binary
        /// format starts with its header).
        case deliver(ByteBuffer)
        /// The copy is complete and the session idle; the tag is `COPY <rows>`.
        case finished(commandTag: String)
        /// The command failed (reported once the session was idle again), or the server broke the protocol.
        case failed(SiphonError)
    }

    private enum State {
        case waitingForCopyOut
        case copying
        case copied
    }

    private var state = State.waitingForCopyOut
    private var commandTag = ""
    private var failure: SiphonError?
    private let user: String

    /// `user` goes into error translations.
    public init(user: String) { self.user = user }

    public mutating func messageReceived(_ message: BackendMessage) -> Action {
        switch (self.state, message) {
        case (.waitingForCopyOut, .copyOutResponse):
            self.state = .copying
        case (.copying, .copyData(let chunk)):
            return .deliver(chunk)
        case (.copying, .copyDone):
            self.state = .copied
        case (.copied, .commandComplete(let tag)):
            self.commandTag = tag
        case (_, .errorResponse(let fields)):
            self.failure = ServerErrorTranslation.error(for: fields.serverError, user: self.user)
            self.state = .copied
        case (_, .noticeResponse), (_, .parameterStatus), (_, .notificationResponse):
            break
        case (.waitingForCopyOut, .readyForQuery), (.copied, .readyForQuery):
            if let failure = self.failure { return .failed(failure) }
            guard case .copied = self.state else {
                return .failed(SiphonError(.protocolViolation, "the command did not start a COPY TO STDOUT"))
            }
            return .finished(commandTag: self.commandTag)
        default:
            return .failed(SiphonError(.protocolViolation, "unexpected message during COPY TO STDOUT: \(message)"))
        }
        return .read
    }
}
