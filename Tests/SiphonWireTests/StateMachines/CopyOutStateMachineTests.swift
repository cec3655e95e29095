// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore
import SiphonWire
import Testing

/// The copy-out machine fed with the bytes a server sends, decoded by the framing decoder.
@Suite struct CopyOutStateMachineTests {
    private func actions(_ frames: [ByteBuffer]) throws -> [CopyOutStateMachine.Action] {
        var input = ByteBuffer()
        for frame in frames { input.writeImmutableBuffer(frame) }
        var decoder = BackendMessageDecoder()
        var machine = CopyOutStateMachine(user: "alice")
        var actions: [CopyOutStateMachine.Action] = []
        while let message = try decoder.decode(buffer: &input) { actions.append(machine.messageReceived(message)) }
        return actions
    }

    private var copyOutResponse: ByteBuffer {
        backendFrame("H") {
            $0.writeInteger(UInt8(0))
            $0.writeInteger(Int16(1))
            $0.writeInteger(Int16(0))
        }
    }

    private func data(_ text: String) -> ByteBuffer { backendFrame("d") { $0.writeString(text) } }
    private var ready: ByteBuffer { backendFrame("Z") { $0.writeInteger(UInt8(ascii: "I")) } }

    @Test func chunksAreHandedOutAsTheyArriveThenTheTag() throws {
        let actions = try self.actions([
            self.copyOutResponse, self.data("1\tada\n"), self.data("2\tgrace\n"), backendFrame("c"),
            backendFrame("C") { $0.writeNullTerminatedString("COPY 2") }, self.ready,
        ])
        let chunks = actions.compactMap { action -> String? in
            if case .deliver(let chunk) = action { return String(buffer: chunk) }
            return nil
        }
        #expect(chunks == ["1\tada\n", "2\tgrace\n"])
        guard case .finished(let tag) = actions.last else { Issue.record("expected the end"); return }
        #expect(tag == "COPY 2")
    }

    @Test func anErrorMidCopyIsReportedOnceTheSessionIsIdle() throws {
        let actions = try self.actions([
            self.copyOutResponse, self.data("1\n"),
            backendFrame("E") {
                for (field, value) in [("S", "ERROR"), ("C", "57014"), ("M", "canceling statement due to user request")] {
                    $0.writeInteger(UInt8(ascii: field.unicodeScalars.first!))
                    $0.writeNullTerminatedString(value)
                }
                $0.writeInteger(UInt8(0))
            },
            self.ready,
        ])
        guard case .read = actions[2] else { Issue.record("the error must wait for ReadyForQuery"); return }
        guard case .failed(let error) = actions[3] else { Issue.record("expected the failure"); return }
        #expect(error.serverError?.sqlState == "57014")
    }

    @Test func aCommandThatIsNotACopyIsAProtocolViolation() throws {
        let rows = try self.actions([backendFrame("T") { $0.writeInteger(Int16(0)) }])
        guard case .failed(let error) = rows.first else { Issue.record("expected a failure"); return }
        #expect(error.code == .protocolViolation)
        let empty = try self.actions([backendFrame("I"), self.ready])
        guard case .failed(let emptyError) = empty.last else { Issue.record("expected a failure"); return }
        #expect(emptyError.code == .protocolViolation)
    }
}
