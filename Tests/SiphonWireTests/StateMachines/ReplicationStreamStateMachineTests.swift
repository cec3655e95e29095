// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore
import SiphonWire
import Testing

@Suite struct ReplicationStreamStateMachineTests {
    private func data(_ start: UInt64, _ end: UInt64) -> ReplicationMessage.XLogData {
        .init(walStart: LSN(rawValue: start), walEnd: LSN(rawValue: end), sendTime: 0, payload: ByteBuffer())
    }

    @Test func flushedPositionOnlyAdvancesWhenTheCallerSaysSo() {
        var machine = ReplicationStreamStateMachine(start: LSN(rawValue: 100))
        #expect(machine.copyBothResponseReceived() == .none)
        #expect(machine.xLogDataReceived(self.data(100, 180)) == .forward(self.data(100, 180)))
        #expect(machine.keepaliveReceived(walEnd: LSN(rawValue: 200), replyRequested: true)
            == .sendStandbyStatus(received: LSN(rawValue: 200), flushed: LSN(rawValue: 100), replyRequested: false))
        #expect(machine.statusIntervalElapsed()
            == .sendStandbyStatus(received: LSN(rawValue: 200), flushed: LSN(rawValue: 100), replyRequested: false))
        #expect(machine.flushed(upTo: LSN(rawValue: 150))
            == .sendStandbyStatus(received: LSN(rawValue: 200), flushed: LSN(rawValue: 150), replyRequested: false))
        #expect(machine.flushed(upTo: LSN(rawValue: 120)) == .none)
        #expect(machine.flushed == LSN(rawValue: 150))
    }

    @Test func keepaliveWithoutReplyRequestSendsNothing() {
        var machine = ReplicationStreamStateMachine(start: .zero)
        _ = machine.copyBothResponseReceived()
        #expect(machine.keepaliveReceived(walEnd: LSN(rawValue: 10), replyRequested: false) == .none)
    }

    @Test func stopSendsCopyDoneAndFinishesOnTheServersCopyDone() {
        var machine = ReplicationStreamStateMachine(start: .zero)
        _ = machine.copyBothResponseReceived()
        #expect(machine.stopRequested() == .sendCopyDone)
        #expect(machine.xLogDataReceived(self.data(1, 2)) == .forward(self.data(1, 2)))
        #expect(machine.copyDoneReceived() == .finished)
    }

    @Test func serverEndingTheStreamIsAnsweredWithCopyDone() {
        var machine = ReplicationStreamStateMachine(start: .zero)
        _ = machine.copyBothResponseReceived()
        #expect(machine.copyDoneReceived() == .sendCopyDone)
    }

    @Test func dataBeforeCopyBothIsAProtocolViolation() {
        var machine = ReplicationStreamStateMachine(start: .zero)
        #expect(machine.xLogDataReceived(self.data(1, 2)) == .fail(reason: "XLogData outside the copy-both stream"))
    }
}
