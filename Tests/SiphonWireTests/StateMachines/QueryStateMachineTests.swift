// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore
import SiphonWire
import Testing

/// The query machine fed with the bytes a server sends, decoded by the framing decoder.
@Suite struct QueryStateMachineTests {
    private func messages(_ frames: [ByteBuffer]) throws -> [BackendMessage] {
        var input = ByteBuffer()
        for frame in frames { input.writeImmutableBuffer(frame) }
        var decoder = BackendMessageDecoder()
        var messages: [BackendMessage] = []
        while let message = try decoder.decode(buffer: &input) { messages.append(message) }
        return messages
    }

    /// Feeds every message; returns the actions, one per message.
    private func run(_ frames: [ByteBuffer]) throws -> (actions: [QueryStateMachine.Action], machine: QueryStateMachine) {
        var machine = QueryStateMachine(command: "a test", user: "alice")
        let actions = try self.messages(frames).map { machine.messageReceived($0) }
        return (actions, machine)
    }

    private var rowDescription: ByteBuffer {
        backendFrame("T") {
            $0.writeInteger(Int16(2))
            for name in ["id", "note"] {
                $0.writeNullTerminatedString(name)
                $0.writeInteger(Int32(0))
                $0.writeInteger(Int16(0))
                $0.writeInteger(Int32(25))
                $0.writeInteger(Int16(-1))
                $0.writeInteger(Int32(-1))
                $0.writeInteger(Int16(0))
            }
        }
    }

    private func dataRow(_ values: [String?]) -> ByteBuffer {
        backendFrame("D") {
            $0.writeInteger(Int16(values.count))
            for value in values {
                if let value {
                    $0.writeInteger(Int32(value.utf8.count))
                    $0.writeString(value)
                } else {
                    $0.writeInteger(Int32(-1))
                }
            }
        }
    }

    private var ready: ByteBuffer { backendFrame("Z") { $0.writeInteger(UInt8(ascii: "I")) } }

    private func commandComplete(_ tag: String) -> ByteBuffer { backendFrame("C") { $0.writeNullTerminatedString(tag) } }

    private func error(_ message: String, code: String) -> ByteBuffer {
        backendFrame("E") {
            for (field, value) in [("S", "ERROR"), ("C", code), ("M", message)] {
                $0.writeInteger(UInt8(ascii: field.unicodeScalars.first!))
                $0.writeNullTerminatedString(value)
            }
            $0.writeInteger(UInt8(0))
        }
    }

    private func notification(_ channel: String, _ payload: String) -> ByteBuffer {
        backendFrame("A") {
            $0.writeInteger(Int32(4711))
            $0.writeNullTerminatedString(channel)
            $0.writeNullTerminatedString(payload)
        }
    }

    @Test func rowsAndTagArriveOnlyWhenTheSessionIsIdle() throws {
        let (actions, _) = try self.run([
            self.rowDescription, self.dataRow(["1", "one"]), self.dataRow(["2", nil]), self.commandComplete("SELECT 2"),
            self.ready,
        ])
        #expect(actions.dropLast().allSatisfy { if case .read = $0 { true } else { false } })
        guard case .finished(let result) = actions.last else { Issue.record("expected a result"); return }
        #expect(result.columns == ["id", "note"])
        #expect(result.rows == [["1", "one"], ["2", nil]])
        #expect(result.commandTag == "SELECT 2")
    }

    @Test func theExtendedProtocolsAcknowledgementsCarryNothing() throws {
        let (actions, _) = try self.run([
            backendFrame("1"), backendFrame("2"), backendFrame("n"), self.commandComplete("UPDATE 1"), self.ready,
        ])
        guard case .finished(let result) = actions.last else { Issue.record("expected a result"); return }
        #expect(result.rows.isEmpty && result.commandTag == "UPDATE 1")
    }

    @Test func anErrorIsReportedOnceTheSessionIsReadyAgain() throws {
        let (actions, _) = try self.run([
            self.error("relation \"nope\" does not exist", code: "42P01"), self.ready,
        ])
        guard case .read = actions[0] else { Issue.record("the error must wait for ReadyForQuery"); return }
        guard case .failed(let error) = actions[1] else { Issue.record("expected the failure"); return }
        #expect(error.serverError?.sqlState == "42P01")
        #expect(error.message.contains("relation \"nope\" does not exist"))
    }

    @Test func notificationsDuringACommandAreKept() throws {
        let (actions, machine) = try self.run([
            self.notification("orders", "{\"id\": 1}"), self.commandComplete("LISTEN"), self.ready,
        ])
        guard case .finished = actions.last else { Issue.record("expected the end of LISTEN"); return }
        #expect(machine.notifications == [PostgresNotification(processID: 4711, channel: "orders", payload: "{\"id\": 1}")])
    }

    @Test func aCopyAnswerIsAProtocolViolation() throws {
        let (actions, _) = try self.run([
            backendFrame("W") {
                $0.writeInteger(UInt8(0))
                $0.writeInteger(Int16(0))
            }
        ])
        guard case .failed(let error) = actions[0] else { Issue.record("expected a failure"); return }
        #expect(error.code == .protocolViolation)
    }

    @Test func anIdleSessionHandsOutNotificationsAndEndsOnAnError() throws {
        let messages = try self.messages([
            self.notification("orders", "x"),
            backendFrame("N") {
                $0.writeInteger(UInt8(ascii: "M"))
                $0.writeNullTerminatedString("just so you know")
                $0.writeInteger(UInt8(0))
            },
            self.error("terminating connection due to administrator command", code: "57P01"),
        ])
        #expect(
            try QueryStateMachine.idleMessageReceived(messages[0], user: "alice").get()
                == PostgresNotification(processID: 4711, channel: "orders", payload: "x"))
        #expect(try QueryStateMachine.idleMessageReceived(messages[1], user: "alice").get() == nil)
        guard case .failure(let error) = QueryStateMachine.idleMessageReceived(messages[2], user: "alice") else {
            Issue.record("expected the end of the session"); return
        }
        #expect(error.serverError?.sqlState == "57P01")
    }

    @Test func aStreamingMachineHandsOutEachRowAndCollectsNone() throws {
        var machine = QueryStateMachine(command: "a test", user: "alice", streamingRows: true)
        let messages = try self.messages([
            self.rowDescription, self.dataRow(["1", "a\tb"]), self.dataRow(["2", nil]), self.commandComplete("SELECT 2"),
            self.ready,
        ])
        var rows: [[String?]] = []
        var result: QueryResult?
        for message in messages {
            switch machine.messageReceived(message) {
            case .read: break
            case .row(let values): rows.append(values.map { $0.map { String(buffer: $0) } })
            case .finished(let finished): result = finished
            case .failed(let error): Issue.record("unexpected failure: \(error)")
            }
        }
        #expect(rows == [["1", "a\tb"], ["2", nil]])
        #expect(result?.rows == [])
        #expect(result?.commandTag == "SELECT 2")
    }
}
