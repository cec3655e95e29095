// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore
import SiphonPgOutput
import Testing

/// Hand-built bytes for what the fixtures do not show.
@Suite struct PgOutputDecoderTests {
    typealias Message = PgOutputMessage

    private func decode(_ hex: String, version: Int = 1) throws -> Message {
        var decoder = PgOutputDecoder(protocolVersion: version)
        var buffer = try ByteBuffer(plainHexEncodedBytes: hex)
        return try decoder.decode(&buffer)
    }

    @Test func decodesBegin() throws {
        #expect(
            try self.decode("42 00000000 1a2b3c4d 0002a8f0 12345678 000002f1")
                == .begin(
                    Message.Begin(
                        finalLSN: LSN("0/1A2B3C4D")!,
                        commitTime: PostgresTimestamp(rawValue: 0x0002_a8f0_1234_5678),
                        xid: 0x2f1
                    )
                )
        )
    }

    @Test func tupleValueKindsStayDistinct() throws {
        // n, u, t with an empty value, t "x", b 0xff
        let message = try self.decode("49 00004000 4e 0005 6e 75 74 00000000 74 00000001 78 62 00000001 ff")
        let expected: [Message.TupleData.Value] = [
            .null, .unchangedToast, .text(ByteBuffer()), .text(.text("x")), .binary(ByteBuffer(bytes: [0xFF])),
        ]
        #expect(message == .insert(Message.Insert(relationOID: 0x4000, new: Message.TupleData(expected))))
        #expect(Message.TupleData.Value.text(ByteBuffer()) != .null)
        #expect(Message.TupleData.Value.unchangedToast != .null)
    }

    @Test func valuesShareTheReceivedBytesInsteadOfCopying() throws {
        var decoder = PgOutputDecoder(protocolVersion: 1)
        var buffer = try ByteBuffer(plainHexEncodedBytes: "49 00004000 4e 0001 74 00000005 6170706c65")
        let received = buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        guard case .insert(let insert) = try decoder.decode(&buffer), case .text(let value) = insert.new.values.first
        else {
            Issue.record("not an insert with a text value")
            return
        }
        // The value starts 13 bytes in: type, relation OID, 'N', column count, 't', length.
        #expect(value.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } == received + 13)
        #expect(String(buffer: value) == "apple")
    }

    @Test func decodesEmptyTuple() throws {
        #expect(
            try self.decode("49 00004000 4e 0000")
                == .insert(Message.Insert(relationOID: 0x4000, new: Message.TupleData([])))
        )
    }

    @Test func relationInPgCatalogHasEmptyNamespace() throws {
        // namespace "", name "t", replica identity 'i', one key column "a" int4 with type modifier 7
        let message = try self.decode("52 00000010 00 7400 69 0001 01 6100 00000017 00000007")
        let relation = Message.Relation(
            oid: 16,
            namespace: "",
            name: "t",
            replicaIdentity: .index,
            columns: [Message.Relation.Column(flags: 1, name: "a", typeOID: 23, typeModifier: 7)]
        )
        #expect(message == .relation(relation))
        #expect(relation.schema == "pg_catalog")
        #expect(relation.columns[0].isKey)
    }

    @Test func decodesReplicaIdentityNothing() throws {
        guard case .relation(let relation) = try self.decode("52 00000010 7300 7400 6e 0000") else {
            Issue.record("not a relation")
            return
        }
        #expect(relation.replicaIdentity == .nothing)
        #expect(relation.schema == "s")
    }

    @Test func decodesUpdateWithOldFullTuple() throws {
        #expect(
            try self.decode("55 00004000 4f 0001 74 00000001 61 4e 0001 74 00000001 62")
                == .update(
                    Message.Update(
                        relationOID: 0x4000,
                        old: .full(Message.TupleData([.text(.text("a"))])),
                        new: Message.TupleData([.text(.text("b"))])
                    )
                )
        )
    }

    @Test func truncateKeepsOptionBitsItDoesNotKnow() throws {
        guard case .truncate(let truncate) = try self.decode("54 00000000 07") else {
            Issue.record("not a truncate")
            return
        }
        #expect(truncate.options.contains(.cascade))
        #expect(truncate.options.contains(.restartIdentity))
        #expect(truncate.options.rawValue == 7)
        #expect(truncate.relationOIDs.isEmpty)
    }

    @Test func messagesCarryAnXIDOnlyInsideStreamBlocks() throws {
        var decoder = PgOutputDecoder(protocolVersion: 2)
        func next(_ hex: String) throws -> Message {
            var buffer = try ByteBuffer(plainHexEncodedBytes: hex)
            return try decoder.decode(&buffer)
        }
        #expect(try next("53 0000002a 01") == .streamStart(Message.StreamStart(xid: 42, isFirstSegment: true)))
        #expect(decoder.isInsideStreamBlock)
        #expect(
            try next("49 0000002b 00004000 4e 0001 6e")
                == .insert(Message.Insert(xid: 43, relationOID: 0x4000, new: Message.TupleData([.null])))
        )
        #expect(
            try next("59 0000002b 00004001 7300 6d6f6f6400")
                == .type(Message.TypeDefinition(xid: 43, oid: 0x4001, namespace: "s", name: "mood"))
        )
        #expect(
            try next("4d 0000002a 01 00000000 00000100 7000 00000001 21")
                == .message(
                    Message.LogicalMessage(
                        xid: 42,
                        isTransactional: true,
                        lsn: LSN(rawValue: 0x100),
                        prefix: "p",
                        content: .text("!")
                    )
                )
        )
        #expect(
            try next("44 0000002a 00004000 4b 0001 6e")
                == .delete(Message.Delete(xid: 42, relationOID: 0x4000, old: .key(Message.TupleData([.null]))))
        )
        #expect(try next("45") == .streamStop)
        #expect(!decoder.isInsideStreamBlock)
        #expect(
            try next("49 00004000 4e 0001 6e")
                == .insert(Message.Insert(relationOID: 0x4000, new: Message.TupleData([.null])))
        )
        #expect(try next("41 0000002a 0000002b") == .streamAbort(Message.StreamAbort(xid: 42, subtransactionXID: 43)))
        #expect(
            try next("63 0000002a 00 00000000 00000200 00000000 00000300 00000000 00000010")
                == .streamCommit(
                    Message.StreamCommit(
                        xid: 42,
                        commitLSN: LSN(rawValue: 0x200),
                        endLSN: LSN(rawValue: 0x300),
                        commitTime: PostgresTimestamp(rawValue: 16)
                    )
                )
        )
    }

    @Test func streamAbortTellsWholeTransactionFromSubtransaction() {
        #expect(Message.StreamAbort(xid: 5, subtransactionXID: 5).abortsWholeTransaction)
        #expect(!Message.StreamAbort(xid: 5, subtransactionXID: 6).abortsWholeTransaction)
    }

    @Test func typeBytesMatchTheWire() throws {
        for hex in ["42 00000000 00000000 00000000 00000000 00000000", "4f 00000000 00000000 6f00", "45"] {
            var decoder = PgOutputDecoder(protocolVersion: 2)
            if hex == "45" { _ = try self.decode("53 00000001 01", decoder: &decoder) }
            let buffer = try ByteBuffer(plainHexEncodedBytes: hex)
            #expect(try self.decode(hex, decoder: &decoder).typeByte == buffer.getInteger(at: 0, as: UInt8.self))
        }
        #expect(Message.name(ofType: UInt8(ascii: "c")) == "Stream Commit ('c')")
        #expect(Message.name(ofType: 0) == "unknown (0x0)")
    }

    private func decode(_ hex: String, decoder: inout PgOutputDecoder) throws -> Message {
        var buffer = try ByteBuffer(plainHexEncodedBytes: hex)
        return try decoder.decode(&buffer)
    }
}
