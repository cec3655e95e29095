// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonEngine
import SiphonTestSupport
import SiphonTrigger
import Testing

@Suite struct OutboxReaderTests {
    @Test func deliversEveryOperationAsLogicalModeWould() async throws {
        try await TriggerFixture.with { db in
            try await db.execute("CREATE TABLE \(db.s).users (id int PRIMARY KEY, email text, score numeric(5,2))")
            _ = try await TriggerCapture.apply(
                db.outbox([try db.capture("\(db.schema).users")]), settings: try db.settings(), logger: db.logger)
            let sink = CollectingSink()
            try await db.withReader(try db.readerConfiguration(), sinks: [sink]) { _ in
                try await db.execute(
                    "INSERT INTO \(db.s).users VALUES (1, 'ada@example.com', 1.5)",
                    "UPDATE \(db.s).users SET email = 'ada@lovelace.org' WHERE id = 1",
                    "UPDATE \(db.s).users SET id = 2 WHERE id = 1",
                    "DELETE FROM \(db.s).users WHERE id = 2",
                    "TRUNCATE \(db.s).users")
                try await sink.wait { $0.count == 5 }
            }
            let lines = sink.changes.map { change in
                var line = ""
                ChangeEnvelope.append(change, format: .siphon, to: &line)
                return line
            }
            let changes = sink.changes
            #expect(changes.map(\.operation) == [.insert, .update, .update, .delete, .truncate])
            #expect(changes.map(\.id) == changes.map(\.id).sorted())
            #expect(Set(changes.map(\.id)).count == 5)
            #expect(changes.allSatisfy { $0.id.source == "outbox" && $0.schema == db.schema && $0.table == "users" })
            #expect(changes[0].new?.jsonObject == #"{"id":1,"email":"ada@example.com","score":1.50}"#)
            #expect(changes[0].old == nil)
            #expect(changes[0].key.jsonObject == #"{"id":1}"#)
            #expect(changes[1].new?.jsonObject == #"{"id":1,"email":"ada@lovelace.org","score":1.50}"#)
            #expect(changes[1].old == nil)
            #expect(changes[2].new?.jsonObject == #"{"id":2,"email":"ada@lovelace.org","score":1.50}"#)
            #expect(changes[2].old?.jsonObject == #"{"id":1}"#)
            #expect(changes[2].key.jsonObject == #"{"id":1}"#)
            #expect(changes[3].new == nil)
            #expect(changes[3].old?.jsonObject == #"{"id":2}"#)
            #expect(changes[4].key.jsonObject == "{}")
            #expect(lines[4].contains(#""op":"truncate","schema":"\#(db.schema)","table":"users""#))
        }
    }
}
