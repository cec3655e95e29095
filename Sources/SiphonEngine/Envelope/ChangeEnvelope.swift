// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// The public JSON form of a `Change`: rendering in Siphon's or Debezium's envelope, and reading Siphon's back.
///
/// `docs/change-format.md` is the contract. Rendering appends to a `String` the caller reuses, because that is
/// what the rest of Siphon speaks: row values are `String`s of JSON text, `JSONText` escapes into a `String`, and
/// tests, logs and the dead-letter table want text. Each value is copied once, as it would be into a `ByteBuffer`,
/// and sinks hand the finished string's UTF-8 to one `write(2)` without another copy (native strings are
/// contiguous UTF-8). The cost that dominates is `String.append`'s fixed overhead per piece (about 50 ns, twice a
/// byte array's), which is why literal punctuation is appended in as few pieces as possible.
public enum ChangeEnvelope {
    /// What Debezium writes in place of a TOAST value that did not change and was not sent
    /// (its `unavailable.value.placeholder` default).
    public static let debeziumUnavailableValue = "__debezium_unavailable_value"

    /// Appends `change` as one JSON object, without a line break.
    public static func append(
        _ change: Change, format: ChangeFormat, debezium: DebeziumSource = DebeziumSource(), to output: inout String
    ) {
        switch format {
        case .siphon: self.appendSiphon(change, to: &output)
        case .debezium: self.appendDebezium(change, source: debezium, to: &output)
        }
    }

    /// `change` as one JSON object, without a line break.
    public static func render(
        _ change: Change, format: ChangeFormat, debezium: DebeziumSource = DebeziumSource()
    ) -> String {
        var output = ""
        self.append(change, format: format, debezium: debezium, to: &output)
        return output
    }

    /// Appends `id` as a JSON string: `"orders_cdc/0/16B37A0/3"`.
    static func appendID(_ id: Change.ID, to output: inout String) {
        guard !JSONText.needsEscaping(id.source) else {
            JSONText.appendString(id.description, to: &output)
            return
        }
        output.append("\"")
        output.append(id.source)
        output.append("/")
        EnvelopeText.appendLSN(id.commitLSN, to: &output)
        output.append("/")
        EnvelopeText.appendDecimal(UInt64(id.index), to: &output)
        output.append("\"")
    }

    /// Appends `row` as a JSON object (byte for byte what `Row.appendJSONObject` writes), followed by `unavailable`
    /// columns set to `placeholder`.
    static func appendObject(
        _ row: Row, unavailable: [String] = [], placeholder: String = "", to output: inout String
    ) {
        var first = true
        for column in row.columns {
            self.appendKey(column.name, first: first, to: &output)
            first = false
            output.append(column.json)
        }
        for name in unavailable {
            self.appendKey(name, first: first, to: &output)
            first = false
            output.append("\"")
            output.append(placeholder)
            output.append("\"")
        }
        output.append(first ? "{}" : "}")
    }

    /// Appends `{"name":` or `,"name":`. Each `append` costs tens of nanoseconds, so the punctuation goes in as few
    /// pieces as it can, and names that need no escaping (nearly all) skip the escaper.
    private static func appendKey(_ name: String, first: Bool, to output: inout String) {
        if !JSONText.needsEscaping(name) {
            output.append(first ? "{\"" : ",\"")
            output.append(name)
            output.append("\":")
        } else {
            output.append(first ? "{" : ",")
            JSONText.appendString(name, to: &output)
            output.append(":")
        }
    }
}

extension Change.ID {
    /// Parses the text form `<source>/<commit LSN>/<index>`, e.g. `orders_cdc/0/16B37A0/3`; `nil` when it is not one.
    ///
    /// The LSN holds a `/` itself, so the parts are taken from the right: the source may contain `/`.
    public init?(parsing text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 4, let index = Int(parts[parts.count - 1]), index >= 0,
            parts[parts.count - 1].utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let lsn = LSN(parts[parts.count - 3] + "/" + parts[parts.count - 2])
        else { return nil }
        let source = parts[..<(parts.count - 3)].joined(separator: "/")
        guard !source.isEmpty else { return nil }
        self.init(source: source, commitLSN: lsn, index: index)
    }
}
