// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore

/// How a column value arrived in a pgoutput tuple (`t` text, `b` binary).
public enum ValueFormat: Sendable, Hashable {
    case text
    case binary
}

/// A column value could not be decoded.
public struct ValueDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    public var typeOID: UInt32
    public var reason: String

    public init(typeOID: UInt32, reason: String) {
        self.typeOID = typeOID
        self.reason = reason
    }

    public var description: String { "cannot decode value of type \(self.typeOID): \(self.reason)" }
}

/// Renders column values exactly as PostgreSQL's `to_jsonb()` would.
///
/// The output equals `to_jsonb(value)::text` byte for byte in a session with `TimeZone=UTC` and default
/// `DateStyle`, `IntervalStyle`, `extra_float_digits` and `lc_monetary=C` — the same text the trigger capture
/// modes get from `to_jsonb(NEW)`. Binary input renders independently of any session setting. Text input must
/// come from a session with `DateStyle=ISO, IntervalStyle=postgres, TimeZone=UTC, extra_float_digits=1,
/// bytea_output=hex, lc_monetary=C` (the replication session sets these).
public struct ValueRenderer: Sendable {
    public var catalog: TypeCatalog

    public init(catalog: TypeCatalog = TypeCatalog()) { self.catalog = catalog }

    /// Appends the `to_jsonb()` rendering of one non-null column value to `output`.
    ///
    /// Types neither built-in nor in `catalog` are never an error: their text becomes a JSON string (their binary
    /// form, unless it is known to be text, a `"\\x…"` hex string; see `TypeCatalog.supportsBinaryFormat(_:)`).
    public func appendJSON(
        of bytes: ByteBuffer,
        format: ValueFormat,
        typeOID: UInt32,
        to output: inout String
    ) throws(ValueDecodingError) {
        let rendered = bytes.withUnsafeReadableBytes { bytes in
            FastPath.appendJSON(bytes, format: format, typeOID: typeOID, to: &output)
        }
        if rendered { return }
        try self.decode(bytes, format: format, typeOID: typeOID).appendJSON(to: &output)
    }

    /// The `to_jsonb()` rendering of one non-null column value.
    public func json(of bytes: ByteBuffer, format: ValueFormat, typeOID: UInt32) throws(ValueDecodingError) -> String {
        var output = ""
        try self.appendJSON(of: bytes, format: format, typeOID: typeOID, to: &output)
        return output
    }

    /// Decodes one non-null column value into a typed value.
    public func decode(
        _ bytes: ByteBuffer,
        format: ValueFormat,
        typeOID: UInt32
    ) throws(ValueDecodingError) -> PostgresValue {
        let type = self.catalog.valueType(for: typeOID)
        switch format {
        case .binary:
            return try PostgresValue.decodeBinary(bytes, as: type)
        case .text:
            return try bytes.withUnsafeReadableBytes { (bytes) throws(ValueDecodingError) -> PostgresValue in
                try PostgresValue.decodeText(bytes, as: type)
            }
        }
    }
}
