// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore
import Synchronization
import Testing

@testable import SiphonPgOutput

/// Records written before an `ALTER TYPE … ADD/DROP ATTRIBUTE` keep their old shape, and logical decoding sends them
/// so; the catalog only knows today's. They render truthfully, never as an error that would stop the stream.
@Suite struct CompositeShapeTests {
    /// `grown`: (a int, b text), then `ADD ATTRIBUTE n int`. `reshaped`: (a int, b text, c int), then
    /// `DROP ATTRIBUTE b`, then `ADD ATTRIBUTE d text`.
    private let renderer = ValueRenderer(
        catalog: TypeCatalog([
            .init(
                oid: 30_001,
                name: "public.grown",
                kind: .composite(fields: [
                    .init(name: "a", typeOID: 23, attributeNumber: 1),
                    .init(name: "b", typeOID: 25, attributeNumber: 2),
                    .init(name: "n", typeOID: 23, attributeNumber: 3),
                ])
            ),
            .init(
                oid: 30_002,
                name: "public.reshaped",
                kind: .composite(fields: [
                    .init(name: "a", typeOID: 23, attributeNumber: 1),
                    .init(name: "c", typeOID: 23, attributeNumber: 3),
                    .init(name: "d", typeOID: 25, attributeNumber: 4),
                ])
            ),
        ])
    )

    /// `record_send` bytes: the field count, then per field its type OID and length-prefixed value.
    private func binaryRecord(_ fields: [(oid: UInt32, value: [UInt8]?)]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32(fields.count))
        for field in fields {
            buffer.writeInteger(field.oid)
            if let value = field.value {
                buffer.writeInteger(Int32(value.count))
                buffer.writeBytes(value)
            } else {
                buffer.writeInteger(Int32(-1))
            }
        }
        return buffer
    }

    private func int4(_ value: Int32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }

    private func text(_ record: String, _ oid: UInt32) throws -> String {
        try self.renderer.json(of: ByteBuffer(string: record), format: .text, typeOID: oid)
    }

    private func binary(_ fields: [(oid: UInt32, value: [UInt8]?)], _ oid: UInt32) throws -> String {
        try self.renderer.json(of: self.binaryRecord(fields), format: .binary, typeOID: oid)
    }

    @Test func aRecordFromBeforeAddAttributeKeepsTheFieldsItHad() throws {
        // to_jsonb() of the value when it was written.
        #expect(try self.text("(1,one)", 30_001) == #"{"a": 1, "b": "one"}"#)
        #expect(try self.binary([(23, self.int4(1)), (25, Array("one".utf8))], 30_001) == #"{"a": 1, "b": "one"}"#)
        #expect(try self.text("(2,two,20)", 30_001) == #"{"a": 2, "b": "two", "n": 20}"#)
        #expect(try self.text("(,)", 30_001) == #"{"a": null, "b": null}"#)
    }

    @Test func aRecordWhoseFieldsTodaysCatalogCannotNameIsItsText() throws {
        // From before DROP ATTRIBUTE b: three fields, but today's three are a, c, d and "one" is no int.
        #expect(try self.text("(1,one,10)", 30_002) == #""(1,one,10)""#)
        #expect(
            try self.binary([(23, self.int4(1)), (25, Array("o n\"e".utf8)), (23, self.int4(10))], 30_002)
                == #""(1,\"o n\"\"e\",10)""#
        )
        // Between the DROP and the ADD: two fields, which cannot be told from attributes 1 and 2.
        #expect(try self.text("(2,20)", 30_002) == #""(2,20)""#)
        #expect(try self.binary([(23, self.int4(2)), (23, nil)], 30_002) == #""(2,)""#)
        // More fields than the catalog ever had.
        #expect(try self.text("(1,x,2,3)", 30_001) == #""(1,x,2,3)""#)
    }

    @Test func aCurrentRecordStillRendersAsAnObject() throws {
        #expect(try self.text("(3,30,three)", 30_002) == #"{"a": 3, "c": 30, "d": "three"}"#)
        #expect(
            try self.binary([(23, self.int4(3)), (23, self.int4(30)), (25, Array("three".utf8))], 30_002)
                == #"{"a": 3, "c": 30, "d": "three"}"#
        )
    }

    @Test func aBinaryRecordWhoseFieldTypesDifferFromTheCatalogIsItsText() throws {
        // Same length as today's type, but field 2 is declared text: the record is older than the catalog.
        #expect(
            try self.binary([(23, self.int4(1)), (25, Array("x".utf8)), (23, self.int4(2))], 30_002) == #""(1,x,2)""#
        )
    }

    @Test func anUndecodableValueGoesOutAsTheServerSentItAndIsReported() throws {
        let reports = ReportLog()
        var assembler = ChangeAssembler(source: "slot", renderer: ValueRenderer())
        assembler.valueFallbackObserver = { reports.append($0) }
        let relation = PgOutputMessage.Relation(
            oid: 1,
            namespace: "public",
            name: "t",
            replicaIdentity: .default,
            columns: [
                .init(flags: 1, name: "id", typeOID: 23, typeModifier: -1),
                .init(flags: 0, name: "n", typeOID: 23, typeModifier: -1),
            ]
        )
        _ = try assembler.consume(
            .begin(.init(finalLSN: LSN(rawValue: 10), commitTime: PostgresTimestamp(rawValue: 0), xid: 7))
        )
        _ = try assembler.consume(.relation(relation))
        let events = try assembler.consume(
            .insert(
                .init(
                    relationOID: 1,
                    new: .init([.text(ByteBuffer(string: "1")), .binary(ByteBuffer(bytes: [1, 2, 3]))])
                )
            )
        )
        guard case .change(let change) = events.first else {
            Issue.record("no change: \(events)")
            return
        }
        #expect(change.new == Row([.init(name: "id", json: "1"), .init(name: "n", json: #""\\x010203""#)]))
        #expect(reports.entries.count == 1)
        #expect(reports.entries.first?.contains("column n of public.t") == true)
    }
}

/// Collects the assembler's reports across its `@Sendable` callback.
private final class ReportLog: Sendable {
    private let storage = Mutex<[String]>([])
    func append(_ entry: String) { self.storage.withLock { $0.append(entry) } }
    var entries: [String] { self.storage.withLock { $0 } }
}
