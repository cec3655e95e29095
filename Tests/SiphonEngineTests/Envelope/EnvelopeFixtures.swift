// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Hand-built changes to a `users` table. Row values are what PostgreSQL 15's `to_jsonb()` renders for them.
enum EnvelopeFixtures {
    /// 2026-11-21T23:00:00.123456Z
    static let commitTime = PostgresTimestamp(unixMicroseconds: 1_795_302_000_123_456)
    /// 0/16B37A0
    static let commitLSN = LSN(rawValue: 0x16B_37A0)

    static func id(_ index: Int, source: String = "orders_cdc", lsn: LSN = commitLSN) -> Change.ID {
        Change.ID(source: source, commitLSN: lsn, index: index)
    }

    static func row(_ columns: KeyValuePairs<String, String>) -> Row {
        Row(columns.map { Row.Column(name: $0.key, json: $0.value) })
    }

    /// Seven columns of the usual kinds: the "typical insert" the speed figure is measured with.
    static let adaRow = row([
        "id": "42", "email": #""ada@example.com""#, "name": #""Ada \"The Countess\" Lovelace""#, "score": "1.50",
        "tags": #"["admin", "ops"]"#, "created_at": #""2026-11-21T23:00:00.123456+00:00""#,
        "prefs": #"{"beta": true, "theme": "dark"}"#,
    ])

    static let key = row(["id": "42"])

    static let insert = Change(
        id: id(0), operation: .insert, schema: "public", table: "users", xid: 731, commitTime: commitTime,
        new: adaRow, key: key)

    /// REPLICA IDENTITY DEFAULT, key unchanged: no old row; `bio` is TOASTed and did not change.
    static let updateDefault = Change(
        id: id(1), operation: .update, schema: "public", table: "users", xid: 731, commitTime: commitTime,
        new: row(["id": "42", "email": #""ada@lovelace.org""#]), key: key, unchangedToast: ["bio"])

    /// REPLICA IDENTITY FULL: the whole old row.
    static let updateFull = Change(
        id: id(2), operation: .update, schema: "public", table: "users", xid: 731, commitTime: commitTime,
        new: row(["id": "42", "email": #""ada@lovelace.org""#, "score": "2"]),
        old: row(["id": "42", "email": #""ada@example.com""#, "score": "1.50"]), key: key)

    static let delete = Change(
        id: id(3), operation: .delete, schema: "public", table: "users", xid: 731, commitTime: commitTime,
        old: key, key: key)

    static let truncate = Change(
        id: id(4), operation: .truncate, schema: "public", table: "users", xid: 731, commitTime: commitTime,
        truncateOptions: Change.TruncateOptions(cascade: true, restartIdentity: false))

    /// Names that need escaping, non-ASCII text, an origin, no xid.
    static let awkward = Change(
        id: id(7, source: #"outbox "main"\eu"#), operation: .update, schema: "weird\"schema", table: "tåble\t☕",
        xid: nil, commitTime: PostgresTimestamp(unixMicroseconds: -1), origin: "pg_16384",
        new: row([#"say "hi""#: #""Zoë ☕ 😀 \"q\" \\ / \n""#, "line\nbreak": "null", "😀": "-1.5e-7"]),
        old: row([#"say "hi""#: #""x""#]), key: row([#"say "hi""#: #""x""#]), unchangedToast: ["big \"one\""])

    /// A row a snapshot read: no xid, no origin.
    static let read = Change(
        id: id(5), operation: .read, schema: "public", table: "users", xid: nil, commitTime: commitTime,
        new: row(["id": "42", "email": #""ada@example.com""#]), key: key)

    static let all = [insert, updateDefault, updateFull, delete, truncate, read, awkward]
}
