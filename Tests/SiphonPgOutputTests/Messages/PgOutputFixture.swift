// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import NIOCore
import SiphonCore
import SiphonPgOutput

/// A file of pgoutput bytes captured from PostgreSQL by `scripts/capture-pgoutput-fixtures`:
/// a `# PostgreSQL …` comment line, then one message per line in hex.
struct PgOutputFixture {
    struct Missing: Error, CustomStringConvertible {
        var name: String
        var description: String { "no fixture Fixtures/\(self.name).hex in the test bundle" }
    }

    let name: String
    /// The comment line: PostgreSQL version and the SQL that produced the bytes.
    let header: String
    /// One buffer per message.
    let messages: [ByteBuffer]

    /// The protocol version the fixture was captured with, from its name (`…-v1`, `…-v2`).
    var protocolVersion: Int { self.name.hasSuffix("-v2") ? 2 : 1 }

    init(_ name: String) throws {
        guard let url = Bundle.module.url(forResource: name, withExtension: "hex", subdirectory: "Fixtures") else {
            throw Missing(name: name)
        }
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        self.name = name
        self.header = lines.first.map(String.init) ?? ""
        self.messages = try lines.dropFirst().map { try ByteBuffer(plainHexEncodedBytes: String($0)) }
    }

    /// Every fixture in the bundle, by name.
    static func all() throws -> [PgOutputFixture] {
        guard let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw Missing(name: "*")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        return try files.filter { $0.hasSuffix(".hex") }.sorted().map { try PgOutputFixture(String($0.dropLast(4))) }
    }

    /// Every message decoded in order, with one decoder as a stream would.
    func decoded() throws -> [PgOutputMessage] {
        var decoder = PgOutputDecoder(protocolVersion: self.protocolVersion)
        return try self.messages.map { message in
            var buffer = message
            return try decoder.decode(&buffer)
        }
    }

    /// Every event an assembler makes from the whole fixture.
    func assembled(source: String = "fixture_slot") throws -> [AssembledEvent] {
        var assembler = ChangeAssembler(source: source, renderer: ValueRenderer())
        var events: [AssembledEvent] = []
        for message in try self.decoded() {
            try assembler.consume(message, into: &events)
        }
        return events
    }
}

extension ByteBuffer {
    /// A buffer holding the UTF-8 bytes of `text`: how pgoutput sends a value in text format.
    static func text(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
}

extension LSN {
    init(_ rawValue: UInt64) { self.init(rawValue: rawValue) }
}

extension PostgresTimestamp {
    init(_ rawValue: Int64) { self.init(rawValue: rawValue) }
}
