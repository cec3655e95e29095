// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore
import Synchronization

/// When the connection last sent and received bytes (raw socket bytes, TLS records included), so a deadline can
/// tell a server that owes an answer from a client that has not asked yet.
final class ConnectionActivity: Sendable {
    private let lastRead = Atomic<UInt64>(0)
    private let lastWrite = Atomic<UInt64>(0)

    func read() { self.lastRead.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed) }
    func wrote() { self.lastWrite.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed) }

    /// Since when the server owes an answer: the last write, if nothing was read after it.
    var awaitingAnswerSince: NIODeadline? {
        let written = self.lastWrite.load(ordering: .relaxed)
        guard written > 0, written >= self.lastRead.load(ordering: .relaxed) else { return nil }
        return .uptimeNanoseconds(written)
    }
}

/// Records socket activity for `ConnectionActivity`; the first handler after the socket.
final class ActivityRecorder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer

    private let activity: ConnectionActivity

    init(_ activity: ConnectionActivity) { self.activity = activity }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.activity.read()
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        self.activity.wrote()
        context.write(data, promise: promise)
    }
}

@available(*, unavailable)
extension ActivityRecorder: Sendable {}

/// Closes a channel when the server has owed an answer for `timeout` (or, with `limit`, when that much time passed
/// in all), and turns the resulting "connection closed" error into one that says so. A silent server otherwise
/// blocks a read forever: TCP sees nothing wrong with a peer that acknowledges packets and never replies.
///
/// Only the server's silence counts: a client whose task waits for a thread (a busy machine) while the server has
/// answered is not timed out, which a plain wall-clock deadline would do.
final class ResponseDeadline: Sendable {
    private struct State {
        var task: Scheduled<Void>?
        var finished = false
        var expired = false
    }

    private let state = Mutex(State())
    private let expiredError: @Sendable () -> SiphonError

    init(
        channel: any Channel, activity: ConnectionActivity, timeout: Duration, limit: Duration? = nil,
        expiredError: @escaping @Sendable () -> SiphonError
    ) {
        self.expiredError = expiredError
        let start = NIODeadline.now()
        let timeout = TimeAmount(timeout)
        self.schedule(
            at: start + timeout, channel: channel, activity: activity, timeout: timeout,
            end: limit.map { start + TimeAmount($0) })
    }

    private func schedule(
        at deadline: NIODeadline, channel: any Channel, activity: ConnectionActivity, timeout: TimeAmount,
        end: NIODeadline?
    ) {
        let task = channel.eventLoop.scheduleTask(deadline: end.map { min($0, deadline) } ?? deadline) {
            let now = NIODeadline.now()
            let owedSince = activity.awaitingAnswerSince
            let silentTooLong = owedSince.map { now - $0 >= timeout } ?? false
            if silentTooLong || end.map({ now >= $0 }) == true {
                self.expire(channel)
            } else {
                self.schedule(
                    at: (owedSince ?? now) + timeout, channel: channel, activity: activity, timeout: timeout, end: end)
            }
        }
        self.state.withLock { state in
            if state.finished { task.cancel() } else { state.task = task }
        }
    }

    private func expire(_ channel: any Channel) {
        let expired = self.state.withLock { state in
            guard !state.finished else { return false }
            state.expired = true
            return true
        }
        if expired { channel.close(promise: nil) }
    }

    func cancel() {
        let task = self.state.withLock { state in
            state.finished = true
            return state.task
        }
        task?.cancel()
    }

    /// The timeout error if the deadline passed (the channel was closed because of it), else `error`.
    func error(replacing error: any Error) -> any Error {
        self.state.withLock { $0.expired } ? self.expiredError() : error
    }
}
