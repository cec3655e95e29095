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
// STUB: the values helper replaces this with the real implementation.
public struct ValueRenderer: Sendable {
    public var catalog: TypeCatalog

    public init(catalog: TypeCatalog = TypeCatalog()) { self.catalog = catalog }

    /// Appends the `to_jsonb()` rendering of one non-null column value to `output`.
    public func appendJSON(
        of bytes: ByteBuffer, format: ValueFormat, typeOID: UInt32, to output: inout String
    ) throws(ValueDecodingError) {
        JSONTextPlaceholder.append(String(buffer: bytes), to: &output)
    }
}

/// Types the renderer knows beyond the built-ins: enums, domains, composites, ranges, arrays of them.
// STUB: the values helper replaces this with the real implementation.
public struct TypeCatalog: Sendable {
    public init() {}

    /// Whether `oid` must be looked up in the server's catalog before values of it can be rendered.
    public func needsLookup(_ oid: UInt32) -> Bool { false }
}

private enum JSONTextPlaceholder {
    static func append(_ text: String, to output: inout String) { output += "\"" + text + "\"" }
}
