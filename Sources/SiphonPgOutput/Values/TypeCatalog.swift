// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// Types the renderer knows beyond the built-ins: enums, domains, composites, ranges, multiranges, arrays of
/// them, and extension types.
///
/// pgoutput bytes do not say what a composite's fields are called or what a domain is based on, so this
/// knowledge comes from the server's catalog in an explicit step, outside the decoder:
/// ```swift
/// let missing = relation.columns.map(\.typeOID).filter(catalog.needsLookup)
/// if !missing.isEmpty {
///     let rows = try await run(TypeCatalog.lookupSQL, binding: missing)  // or TypeCatalog.lookupSQL(for: missing)
///     catalog.add(try TypeCatalog.entries(fromLookupRows: rows))
/// }
/// ```
/// The query follows nested types itself (a domain over an array of a composite with a range field…), so
/// one round trip per new relation is enough. Refresh the entries after `ALTER TYPE`.
public struct TypeCatalog: Sendable {
    /// What the catalog knows about one non-built-in type.
    public struct Entry: Sendable, Hashable {
        public var oid: UInt32
        /// Schema-qualified name, for messages.
        public var name: String
        public var kind: Kind

        public init(oid: UInt32, name: String, kind: Kind) {
            self.oid = oid
            self.name = name
            self.kind = kind
        }
    }

    /// The shape of a non-built-in type.
    public enum Kind: Sendable, Hashable {
        /// An enum: values are their labels.
        case enumeration
        /// A domain: values are those of its base type.
        case domain(baseOID: UInt32)
        /// A composite type with its (non-dropped) fields in order.
        case composite(fields: [Field])
        /// A range over `subtypeOID`.
        case range(subtypeOID: UInt32)
        /// A multirange of the range type `rangeOID`.
        case multirange(rangeOID: UInt32)
        /// An array; `delimiter` separates elements in its text form (the element type's `typdelim`).
        case array(elementOID: UInt32, delimiter: UInt8)
        /// The `hstore` extension type (rendered as a JSON object, through its cast to `json`).
        case hstore
        /// Any other type: rendered as its text. `binaryIsText` when its send function is `textsend` (citext).
        case base(binaryIsText: Bool)
    }

    /// A field of a composite type.
    public struct Field: Sendable, Hashable {
        public var name: String
        public var typeOID: UInt32
        /// Its `pg_attribute.attnum`. Numbers skipped are dropped attributes; with them Siphon tells how records
        /// written before an `ALTER TYPE` are laid out. `nil` when unknown.
        public var attributeNumber: Int?

        public init(name: String, typeOID: UInt32, attributeNumber: Int? = nil) {
            self.name = name
            self.typeOID = typeOID
            self.attributeNumber = attributeNumber
        }
    }

    private var entries: [UInt32: Entry] = [:]
    private var resolved: [UInt32: ValueType] = [:]
    /// OIDs whose resolution reached a type that is neither built-in nor known.
    private var incomplete: Set<UInt32> = []

    public init() {}

    public init(_ entries: [Entry]) { self.add(entries) }

    /// Adds (or replaces) entries, typically the result of `lookupSQL`.
    public mutating func add(_ newEntries: [Entry]) {
        for entry in newEntries where BuiltinTypes.valueType(for: entry.oid) == nil {
            self.entries[entry.oid] = entry
        }
        self.resolved = [:]
        self.incomplete = []
        for oid in self.entries.keys {
            let (type, complete) = self.resolve(oid, depth: 0)
            self.resolved[oid] = type
            if !complete { self.incomplete.insert(oid) }
        }
    }

    /// Whether `oid` must be looked up in the server's catalog before values of it can be rendered: it is neither
    /// built-in nor known, or a type it is made of is not.
    public func needsLookup(_ oid: UInt32) -> Bool {
        if BuiltinTypes.valueType(for: oid) != nil { return false }
        return self.entries[oid] == nil || self.incomplete.contains(oid)
    }

    /// Whether `oid` is a built-in type Siphon renders without the catalog.
    public static func isBuiltin(_ oid: UInt32) -> Bool { BuiltinTypes.valueType(for: oid) != nil }

    /// What the catalog knows about `oid`, if it is not built-in.
    public func entry(for oid: UInt32) -> Entry? { self.entries[oid] }

    /// Whether values of `oid` render the same from pgoutput's binary format as from its text format.
    ///
    /// `false` for types whose binary layout Siphon does not know (extension types other than citext-like and
    /// hstore: rendered as `"\\x…"` hex) and for `regclass`-like types (binary carries only the OID, text the
    /// name), and for anything made of them. A stream with such columns should use the text format.
    public func supportsBinaryFormat(_ oid: UInt32) -> Bool {
        Self.supportsBinary(self.valueType(for: oid))
    }

    private static func supportsBinary(_ type: ValueType) -> Bool {
        switch type.kind {
        // textOnly types have no send function or cannot be stored in a table, so pgoutput always sends text.
        case .scalar(let scalar): scalar != .regOID
        case .array(let element, _), .vector(let element), .range(let element), .multirange(let element):
            supportsBinary(element)
        case .composite(let layout): layout.types.allSatisfy(supportsBinary)
        case .enumeration, .hstore: true
        case .unknown(let binaryIsText): binaryIsText
        }
    }

    /// How values of `oid` are decoded.
    func valueType(for oid: UInt32) -> ValueType {
        BuiltinTypes.valueType(for: oid) ?? self.resolved[oid] ?? .unknown(oid)
    }

    private func resolve(_ oid: UInt32, depth: Int) -> (ValueType, complete: Bool) {
        if let builtin = BuiltinTypes.valueType(for: oid) { return (builtin, true) }
        guard depth < 32, let entry = self.entries[oid] else { return (.unknown(oid), false) }
        switch entry.kind {
        case .enumeration:
            return (ValueType(oid: oid, kind: .enumeration), true)
        case .hstore:
            return (ValueType(oid: oid, kind: .hstore), true)
        case .base(let binaryIsText):
            return (.unknown(oid, binaryIsText: binaryIsText), true)
        case .domain(let baseOID):
            return self.resolve(baseOID, depth: depth + 1)
        case .array(let elementOID, let delimiter):
            let (element, complete) = self.resolve(elementOID, depth: depth + 1)
            return (ValueType(oid: oid, kind: .array(element: element, delimiter: delimiter)), complete)
        case .range(let subtypeOID):
            let (subtype, complete) = self.resolve(subtypeOID, depth: depth + 1)
            return (ValueType(oid: oid, kind: .range(subtype: subtype)), complete)
        case .multirange(let rangeOID):
            let (range, complete) = self.resolve(rangeOID, depth: depth + 1)
            guard case .range(let subtype) = range.kind else { return (.unknown(oid), false) }
            return (ValueType(oid: oid, kind: .multirange(subtype: subtype)), complete)
        case .composite(let fields):
            var complete = true
            var resolvedFields: [CompositeLayout.Field] = []
            for field in fields {
                let (type, fieldComplete) = self.resolve(field.typeOID, depth: depth + 1)
                complete = complete && fieldComplete
                resolvedFields.append(
                    CompositeLayout.Field(
                        name: field.name,
                        type: type,
                        declaredOID: field.typeOID,
                        attributeNumber: field.attributeNumber
                    )
                )
            }
            return (ValueType(oid: oid, kind: .composite(CompositeLayout(fields: resolvedFields))), complete)
        }
    }
}

// MARK: - Catalog lookup

extension TypeCatalog {
    /// The catalog query: takes `$1::oid[]` and returns one row per type reachable from those OIDs (domain bases,
    /// array elements, composite fields, range subtypes, a multirange's range), all columns as text.
    /// Feed the rows to `entries(fromLookupRows:)`. Works on PostgreSQL 12 and later.
    public static let lookupSQL = lookupSQL(oidArray: "$1::pg_catalog.oid[]")

    /// `lookupSQL` with the OIDs written in, for the simple query protocol (a replication connection).
    public static func lookupSQL(for oids: some Sequence<UInt32>) -> String {
        lookupSQL(oidArray: "'{" + oids.map { String($0) }.joined(separator: ",") + "}'::pg_catalog.oid[]")
    }

    private static func lookupSQL(oidArray: String) -> String {
        // pg_range.rngmultitypid only exists from PostgreSQL 14; reading it through to_jsonb keeps one query
        // valid on older servers (where it is simply absent).
        """
        WITH RECURSIVE wanted(oid) AS (
            SELECT pg_catalog.unnest(\(oidArray))
            UNION
            SELECT child.oid
            FROM wanted
            JOIN pg_catalog.pg_type t ON t.oid = wanted.oid
            CROSS JOIN LATERAL (
                SELECT t.typbasetype WHERE t.typtype = 'd'
                UNION ALL
                SELECT t.typelem WHERE t.typelem <> 0 AND t.typlen = -1
                UNION ALL
                SELECT a.atttypid FROM pg_catalog.pg_attribute a
                WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
                UNION ALL
                SELECT r.rngsubtype FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid
                UNION ALL
                SELECT r.rngtypid FROM pg_catalog.pg_range r
                WHERE (pg_catalog.to_jsonb(r) ->> 'rngmultitypid')::pg_catalog.oid = t.oid
            ) AS child(oid)
        )
        SELECT t.oid::pg_catalog.text,
            t.typtype::pg_catalog.text,
            n.nspname::pg_catalog.text || '.' || t.typname::pg_catalog.text,
            t.typbasetype::pg_catalog.text,
            CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN t.typelem::pg_catalog.text END,
            (SELECT e.typdelim FROM pg_catalog.pg_type e WHERE e.oid = t.typelem)::pg_catalog.text,
            (SELECT pg_catalog.array_agg(a.attname::pg_catalog.text ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
                WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
            )::pg_catalog.text,
            (SELECT pg_catalog.array_agg(a.atttypid ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
                WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
            )::pg_catalog.text,
            (SELECT pg_catalog.array_agg(a.attnum ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
                WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
            )::pg_catalog.text,
            (SELECT r.rngsubtype FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid)::pg_catalog.text,
            (SELECT r.rngtypid FROM pg_catalog.pg_range r
                WHERE (pg_catalog.to_jsonb(r) ->> 'rngmultitypid')::pg_catalog.oid = t.oid
            )::pg_catalog.text,
            (SELECT p.prosrc FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
                WHERE p.oid = t.typsend AND l.lanname = 'internal'),
            (SELECT p.prosrc FROM pg_catalog.pg_cast c JOIN pg_catalog.pg_proc p ON p.oid = c.castfunc
                WHERE c.castsource = t.oid AND c.casttarget = 'pg_catalog.json'::pg_catalog.regtype)
        FROM wanted
        JOIN pg_catalog.pg_type t ON t.oid = wanted.oid
        JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
        """
    }

    /// Internal send functions whose output is the value's text form.
    private static let textSendFunctions: Set<String> = [
        "textsend", "varcharsend", "bpcharsend", "namesend", "unknownsend", "cstring_send",
    ]

    /// Entries from the rows of `lookupSQL`, each row its thirteen text columns in order (`nil` for SQL NULL).
    /// Rows of built-in types are skipped.
    public static func entries(fromLookupRows rows: [[String?]]) throws(ValueDecodingError) -> [Entry] {
        var entries: [Entry] = []
        for row in rows {
            guard row.count == 13, let oidText = row[0], let oid = UInt32(oidText), let typtype = row[1],
                let name = row[2]
            else { throw ValueDecodingError(typeOID: 0, reason: "catalog lookup row has an unexpected shape") }
            if BuiltinTypes.valueType(for: oid) != nil { continue }
            func number(_ column: Int) throws(ValueDecodingError) -> UInt32 {
                guard let text = row[column], let value = UInt32(text) else {
                    throw ValueDecodingError(typeOID: oid, reason: "catalog lookup column \(column) is not an OID")
                }
                return value
            }
            let kind: Kind
            if row[4] != nil {
                let delimiter = row[5]?.utf8.first ?? UInt8(ascii: ",")
                kind = .array(elementOID: try number(4), delimiter: delimiter)
            } else {
                switch typtype {
                case "d":
                    kind = .domain(baseOID: try number(3))
                case "e":
                    kind = .enumeration
                case "c":
                    kind = .composite(
                        fields: try compositeFields(names: row[6], types: row[7], numbers: row[8], oid: oid)
                    )
                case "r":
                    kind = .range(subtypeOID: try number(9))
                case "m":
                    kind = .multirange(rangeOID: try number(10))
                default:
                    if row[12] == "hstore_to_json" {
                        kind = .hstore
                    } else {
                        kind = .base(binaryIsText: row[11].map(textSendFunctions.contains) ?? false)
                    }
                }
            }
            entries.append(Entry(oid: oid, name: name, kind: kind))
        }
        return entries
    }

    private static func compositeFields(
        names: String?,
        types: String?,
        numbers: String?,
        oid: UInt32
    ) throws(ValueDecodingError) -> [Field] {
        guard let names, let types, let numbers else { return [] }
        let nameList = try textArray(names, oid: oid)
        let typeList = try textArray(types, oid: oid).map { UInt32($0 ?? "") }
        let numberList = try textArray(numbers, oid: oid).map { Int($0 ?? "") }
        guard nameList.count == typeList.count, nameList.count == numberList.count,
            typeList.allSatisfy({ $0 != nil }), nameList.allSatisfy({ $0 != nil }), numberList.allSatisfy({ $0 != nil })
        else { throw ValueDecodingError(typeOID: oid, reason: "catalog lookup returned mismatched composite fields") }
        return nameList.indices.map {
            Field(name: nameList[$0]!, typeOID: typeList[$0]!, attributeNumber: numberList[$0]!)
        }
    }

    private static func textArray(_ text: String, oid: UInt32) throws(ValueDecodingError) -> [String?] {
        var contiguous = text
        let value: PostgresValue? = contiguous.withUTF8 { bytes in
            try? PostgresValue.decodeText(UnsafeRawBufferPointer(bytes), as: BuiltinTypes.valueType(for: 1009)!)
        }
        guard case .array(let array) = value else {
            throw ValueDecodingError(typeOID: oid, reason: "catalog lookup returned a malformed array")
        }
        return array.elements.map { element in
            if case .text(let string) = element { return string }
            return nil
        }
    }
}
