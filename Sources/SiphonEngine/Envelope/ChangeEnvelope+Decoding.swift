// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

extension ChangeEnvelope {
    /// Reads one line of Siphon's envelope back into the `Change` it was rendered from.
    ///
    /// Row values keep their exact JSON text, so `decode(line: render(change))` equals `change`. Keys may come in
    /// any order and unknown keys are skipped, so lines from a newer Siphon still read. A trailing line break is
    /// fine. Throws `SiphonError` with code `.decodingFailed` saying what is wrong and at which byte.
    public static func decode(line: some StringProtocol) throws -> Change {
        do {
            return try self.decodeSiphon(line)
        } catch {
            var preview = String(line.prefix(120).prefix(while: { $0 != "\n" }))
            if preview.count < line.count && line.dropFirst(preview.count) != "\n" { preview += "…" }
            throw SiphonError(.decodingFailed, "not a Siphon change line: \(error) in \(preview)", underlying: error)
        }
    }

    /// The change id a line carries, in either format (`id` in Siphon's, `source.change_id` in Debezium's).
    static func changeID(inLine line: some StringProtocol) throws(JSONTextError) -> Change.ID {
        var scanner = JSONScanner(line)
        var found: Change.ID?
        try scanner.readObject { (scanner, key) throws(JSONTextError) in
            switch key {
            case "id" where found == nil:
                found = try self.readID(&scanner)
            case "source" where found == nil:
                guard !scanner.readNull() else { return }
                try scanner.readObject { (scanner, key) throws(JSONTextError) in
                    if key == "change_id" {
                        found = try self.readID(&scanner)
                    } else {
                        _ = try scanner.skipValue()
                    }
                }
            default:
                _ = try scanner.skipValue()
            }
        }
        try scanner.finish()
        guard let found else { throw scanner.failure("no change id (neither \"id\" nor \"source\".\"change_id\")") }
        return found
    }

    static func decodeSiphon(_ line: some StringProtocol) throws(JSONTextError) -> Change {
        var scanner = JSONScanner(line)
        var id: Change.ID?
        var operation: Change.Operation?
        var schema: String?
        var table: String?
        var xid: UInt32?
        var lsn: (value: LSN, offset: Int)?
        var commitTime: PostgresTimestamp?
        var origin: String?
        var new: Row?
        var old: Row?
        var key = Row()
        var unchangedToast: [String] = []
        var truncateOptions: Change.TruncateOptions?

        try scanner.readObject { (scanner, name) throws(JSONTextError) in
            switch name {
            case "id":
                id = try self.readID(&scanner)
            case "op":
                let start = scanner.position
                let text = try scanner.readString()
                guard let value = Change.Operation(rawValue: text) else {
                    throw scanner.failure(
                        "unknown op \"\(text)\" (expected insert, update, delete, truncate or read)", at: start)
                }
                operation = value
            case "schema":
                schema = try scanner.readString()
            case "table":
                table = try scanner.readString()
            case "xid":
                xid = scanner.readNull() ? nil : try scanner.readUInt32()
            case "lsn":
                let start = scanner.position
                let text = try scanner.readString()
                guard let value = LSN(text) else { throw scanner.failure("malformed lsn \"\(text)\"", at: start) }
                lsn = (value, start)
            case "commit_time":
                let start = scanner.position
                let text = try scanner.readString()
                guard let value = PostgresTimestamp(parsing: text) else {
                    throw scanner.failure("malformed commit_time \"\(text)\"", at: start)
                }
                commitTime = value
            case "origin":
                origin = scanner.readNull() ? nil : try scanner.readString()
            case "new":
                new = scanner.readNull() ? nil : try self.readRow(&scanner)
            case "old":
                old = scanner.readNull() ? nil : try self.readRow(&scanner)
            case "key":
                key = try self.readRow(&scanner)
            case "unchanged_toast":
                try scanner.readArray { (scanner) throws(JSONTextError) in
                    unchangedToast.append(try scanner.readString())
                }
            case "truncate":
                guard !scanner.readNull() else { return }
                var options = Change.TruncateOptions(cascade: false, restartIdentity: false)
                try scanner.readObject { (scanner, option) throws(JSONTextError) in
                    switch option {
                    case "cascade": options.cascade = try scanner.readBool()
                    case "restart_identity": options.restartIdentity = try scanner.readBool()
                    default: _ = try scanner.skipValue()
                    }
                }
                truncateOptions = options
            default:
                _ = try scanner.skipValue()
            }
        }
        try scanner.finish()

        func missing(_ key: String) -> JSONTextError { scanner.failure("missing \"\(key)\"") }
        guard let id else { throw missing("id") }
        guard let operation else { throw missing("op") }
        guard let schema else { throw missing("schema") }
        guard let table else { throw missing("table") }
        guard let commitTime else { throw missing("commit_time") }
        if let lsn, lsn.value != id.commitLSN {
            throw scanner.failure("lsn \(lsn.value) differs from the commit LSN in the id \(id)", at: lsn.offset)
        }
        if operation == .truncate, truncateOptions == nil {
            truncateOptions = Change.TruncateOptions(cascade: false, restartIdentity: false)
        } else if operation != .truncate {
            truncateOptions = nil
        }
        return Change(
            id: id, operation: operation, schema: schema, table: table, xid: xid, commitTime: commitTime,
            origin: origin, new: new, old: old, key: key, unchangedToast: unchangedToast,
            truncateOptions: truncateOptions)
    }

    private static func readID(_ scanner: inout JSONScanner) throws(JSONTextError) -> Change.ID {
        let start = scanner.position
        let text = try scanner.readString()
        guard let id = Change.ID(parsing: text) else {
            throw scanner.failure("malformed id \"\(text)\" (expected <source>/<commit LSN>/<index>)", at: start)
        }
        return id
    }

    /// Reads an object whose values stay raw JSON text.
    private static func readRow(_ scanner: inout JSONScanner) throws(JSONTextError) -> Row {
        var row = Row()
        try scanner.readObject { (scanner, name) throws(JSONTextError) in
            row.columns.append(Row.Column(name: name, json: scanner.text(try scanner.skipValue())))
        }
        return row
    }
}
