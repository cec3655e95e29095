// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore
import SiphonPgOutput
import Testing

@testable import SiphonEngine

@Suite struct SpillRecordTests {
    static let committed = AssembledEvent.change(
        Change(
            id: Change.ID(source: "slot", commitLSN: LSN(rawValue: 0x16B_37A0), index: 41), operation: .insert,
            schema: "app", table: "users", xid: nil, commitTime: PostgresTimestamp(rawValue: -5), origin: "east",
            new: SpillingChangeStoreTests.row(["id": "1"]), key: SpillingChangeStoreTests.row(["id": "1"])))

    @Test func everyEventReadsBackIdentical() throws {
        var buffer = ByteBuffer()
        let events = SpillingChangeStoreTests.unusual + [Self.committed]
        for (position, event) in events.enumerated() {
            SpillRecord.append(event, subtransactionXID: UInt32(position), to: &buffer)
        }
        var read: [AssembledEvent] = []
        while buffer.readableBytes > 0 {
            #expect(SpillRecord.missingBytes(in: buffer) == 0)
            let record = try SpillRecord.read(from: &buffer)
            #expect(record.subtransactionXID == UInt32(read.count))
            read.append(record.event)
        }
        #expect(read == events)
    }

    @Test func aRecordCutShortIsMissingBytesOrFailsToRead() throws {
        var whole = ByteBuffer()
        SpillRecord.append(SpillingChangeStoreTests.unusual[0], subtransactionXID: 10, to: &whole)
        #expect(SpillRecord.missingBytes(in: whole.getSlice(at: 0, length: 2)!) == 2)
        #expect(SpillRecord.missingBytes(in: whole.getSlice(at: 0, length: 10)!) == whole.readableBytes - 10)

        // A length that claims less than the fields need: the change inside is cut short.
        var damaged = whole
        damaged.setInteger(UInt32(20), at: 0)
        let error = #expect(throws: SpillRecordError.self) { try SpillRecord.read(from: &damaged) }
        #expect(error?.description == "a string is cut short")

        var unknown = whole
        unknown.setInteger(UInt8(ascii: "X"), at: 8)
        #expect(throws: SpillRecordError.self) { try SpillRecord.read(from: &unknown) }
    }
}
