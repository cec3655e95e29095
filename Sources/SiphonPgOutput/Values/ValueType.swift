// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// How the values of one type are decoded, with every catalog lookup already resolved.
struct ValueType: Sendable {
    /// The type's OID, for error messages.
    var oid: UInt32
    var kind: Kind

    enum Kind: Sendable {
        /// A built-in type with its own layout.
        case scalar(ScalarType)
        /// An array; `delimiter` separates elements in the text form (`,` for all but `box`, which uses `;`).
        indirect case array(element: ValueType, delimiter: UInt8)
        /// `int2vector` / `oidvector`: a one-dimensional array written as space-separated elements.
        indirect case vector(element: ValueType)
        case composite(CompositeLayout)
        indirect case range(subtype: ValueType)
        indirect case multirange(subtype: ValueType)
        case enumeration
        case hstore
        /// A type Siphon has no decoder for: its text form becomes a JSON string. In binary, the bytes are that
        /// text when `binaryIsText` (citext and other types sent with `textsend`), otherwise rendered as hex.
        case unknown(binaryIsText: Bool)
    }

    static func unknown(_ oid: UInt32, binaryIsText: Bool = false) -> ValueType {
        ValueType(oid: oid, kind: .unknown(binaryIsText: binaryIsText))
    }
}

/// The fields of a composite type as the catalog describes it today.
///
/// A stored record keeps the shape it was written with, and logical decoding renders it with the catalog of its
/// time: changes made before an `ALTER TYPE … ADD/DROP ATTRIBUTE` arrive with fewer or more fields than today's
/// catalog knows. ``knowsShape(ofFieldCount:)`` says when today's names still label such a record truthfully.
struct CompositeLayout: Sendable {
    /// One live (not dropped) attribute.
    struct Field: Sendable {
        var name: String
        var type: ValueType
        /// The attribute's declared type (`atttypid`; a domain's own OID), which `record_send` writes before each
        /// binary field.
        var declaredOID: UInt32
        /// `pg_attribute.attnum`, or `nil` when the catalog did not say.
        var attributeNumber: Int?
    }

    var names: [String]
    var types: [ValueType]
    var declaredOIDs: [UInt32]
    /// How many leading fields are attributes 1, 2, 3… with no dropped attribute between them.
    private var leadingUnbrokenFields: Int

    init(fields: [Field]) {
        self.names = fields.map(\.name)
        self.types = fields.map(\.type)
        self.declaredOIDs = fields.map(\.declaredOID)
        self.leadingUnbrokenFields = fields.enumerated().prefix { $1.attributeNumber == $0 + 1 }.count
    }

    /// Whether a record of `count` fields is the first `count` of today's fields.
    ///
    /// True for today's field count (Siphon assumes the record is current; only a `DROP ATTRIBUTE` followed by an
    /// `ADD ATTRIBUTE` can make an older record the same length, and the decoders then check the field types). True
    /// for fewer fields when attributes 1…`count` were never dropped: attributes are only ever appended, so a
    /// record that short can only hold those. False otherwise (a record from before a `DROP ATTRIBUTE`), whose
    /// names the catalog no longer has.
    func knowsShape(ofFieldCount count: Int) -> Bool {
        count == self.names.count || count <= self.leadingUnbrokenFields
    }

    /// How to decode a binary field whose declared type `record_send` gave as `oid`, when the record's shape is not
    /// today's.
    func type(forDeclaredOID oid: UInt32) -> ValueType {
        if let builtin = BuiltinTypes.valueType(for: oid) { return builtin }
        if let index = self.declaredOIDs.firstIndex(of: oid) { return self.types[index] }
        return .unknown(oid)
    }
}

/// Indexes of `keys` in the order `jsonb` stores object keys: by UTF-8 length, then bytewise.
func jsonKeyOrder(_ keys: [String]) -> [Int] {
    keys.indices.sorted { lhs, rhs in
        let left = keys[lhs].utf8
        let right = keys[rhs].utf8
        if left.count != right.count { return left.count < right.count }
        if left.lexicographicallyPrecedes(right) { return true }
        if right.lexicographicallyPrecedes(left) { return false }
        // Equal keys: the later one first, so that keeping the first of a run keeps the last written (jsonb rule).
        return lhs > rhs
    }
}

/// Built-in types with a layout of their own.
enum ScalarType: Sendable, Hashable {
    case bool
    case int2
    case int4
    case int8
    case oid
    case numeric
    case float4
    case float8
    /// `text`, `varchar`, `bpchar`, `name` and other types whose binary form is their text.
    case text
    /// `"char"`: one byte.
    case char
    case bytea
    case json
    case jsonb
    /// `jsonpath`: a version byte, then the text.
    case jsonpath
    case uuid
    case date
    case time
    case timetz
    case timestamp
    case timestamptz
    case interval
    case inet
    case cidr
    case macaddr
    case macaddr8
    case money
    /// `bit` and `varbit`.
    case bit
    case xml
    case tsvector
    case tsquery
    case point
    case line
    case lseg
    case box
    case path
    case polygon
    case circle
    case pgLSN
    /// 32-bit unsigned identifiers written in decimal: `xid`, `cid`.
    case xid
    case xid8
    case tid
    /// `txid_snapshot` and `pg_snapshot`.
    case snapshot
    /// `regclass`, `regtype`…: the text form is a name, the binary form only the OID (written in decimal).
    case regOID
    /// Built-in types without a binary layout Siphon decodes (`aclitem`, `gtsvector`, statistics types).
    case textOnly
}

/// The built-in types of `pg_type.dat` (OIDs below 10000, fixed across PostgreSQL versions).
enum BuiltinTypes {
    /// The decoding of a built-in OID, or `nil` when `oid` is not a built-in type Siphon knows.
    static func valueType(for oid: UInt32) -> ValueType? {
        if let scalar = scalarType(for: oid) { return ValueType(oid: oid, kind: .scalar(scalar)) }
        switch oid {
        case 22: return ValueType(oid: oid, kind: .vector(element: ValueType(oid: 21, kind: .scalar(.int2))))
        case 30: return ValueType(oid: oid, kind: .vector(element: ValueType(oid: 26, kind: .scalar(.oid))))
        case 3904: return range(oid, subtype: 23)
        case 3906: return range(oid, subtype: 1700)
        case 3908: return range(oid, subtype: 1114)
        case 3910: return range(oid, subtype: 1184)
        case 3912: return range(oid, subtype: 1082)
        case 3926: return range(oid, subtype: 20)
        case 4451: return multirange(oid, subtype: 23)
        case 4532: return multirange(oid, subtype: 1700)
        case 4533: return multirange(oid, subtype: 1114)
        case 4534: return multirange(oid, subtype: 1184)
        case 4535: return multirange(oid, subtype: 1082)
        case 4536: return multirange(oid, subtype: 20)
        default: break
        }
        guard let elementOID = arrayElement(of: oid), let element = valueType(for: elementOID) else { return nil }
        return ValueType(oid: oid, kind: .array(element: element, delimiter: elementOID == 603 ? 0x3B : 0x2C))
    }

    private static func range(_ oid: UInt32, subtype: UInt32) -> ValueType {
        ValueType(oid: oid, kind: .range(subtype: valueType(for: subtype)!))
    }

    private static func multirange(_ oid: UInt32, subtype: UInt32) -> ValueType {
        ValueType(oid: oid, kind: .multirange(subtype: valueType(for: subtype)!))
    }

    static func scalarType(for oid: UInt32) -> ScalarType? {
        switch oid {
        case 16: .bool
        case 17: .bytea
        case 18: .char
        case 19, 25, 194, 705, 1042, 1043, 1790, 2275: .text
        case 20: .int8
        case 21: .int2
        case 23: .int4
        case 24, 2202, 2203, 2204, 2205, 2206, 3734, 3769, 4089, 4096, 4191: .regOID
        case 26: .oid
        case 27: .tid
        case 28, 29: .xid
        case 114: .json
        case 142: .xml
        case 600: .point
        case 601: .lseg
        case 602: .path
        case 603: .box
        case 604: .polygon
        case 628: .line
        case 650: .cidr
        case 700: .float4
        case 701: .float8
        case 718: .circle
        case 774: .macaddr8
        case 790: .money
        case 829: .macaddr
        case 869: .inet
        case 1033, 3361, 3402, 3642, 4600, 4601, 5017: .textOnly
        case 1082: .date
        case 1083: .time
        case 1114: .timestamp
        case 1184: .timestamptz
        case 1186: .interval
        case 1266: .timetz
        case 1560, 1562: .bit
        case 1700: .numeric
        case 2950: .uuid
        case 2970, 5038: .snapshot
        case 3220: .pgLSN
        case 3614: .tsvector
        case 3615: .tsquery
        case 3802: .jsonb
        case 4072: .jsonpath
        case 5069: .xid8
        default: nil
        }
    }

    /// The element type of a built-in array type.
    static func arrayElement(of oid: UInt32) -> UInt32? {
        switch oid {
        case 143: 142
        case 199: 114
        case 271: 5069
        case 629: 628
        case 651: 650
        case 719: 718
        case 775: 774
        case 791: 790
        case 1000: 16
        case 1001: 17
        case 1002: 18
        case 1003: 19
        case 1005: 21
        case 1006: 22
        case 1007: 23
        case 1008: 24
        case 1009: 25
        case 1010: 27
        case 1011: 28
        case 1012: 29
        case 1013: 30
        case 1014: 1042
        case 1015: 1043
        case 1016: 20
        case 1017: 600
        case 1018: 601
        case 1019: 602
        case 1020: 603
        case 1021: 700
        case 1022: 701
        case 1027: 604
        case 1028: 26
        case 1034: 1033
        case 1040: 829
        case 1041: 869
        case 1115: 1114
        case 1182: 1082
        case 1183: 1083
        case 1185: 1184
        case 1187: 1186
        case 1231: 1700
        case 1263: 2275
        case 1270: 1266
        case 1561: 1560
        case 1563: 1562
        case 2201: 1790
        case 2207: 2202
        case 2208: 2203
        case 2209: 2204
        case 2210: 2205
        case 2211: 2206
        case 2949: 2970
        case 2951: 2950
        case 3221: 3220
        case 3643: 3614
        case 3644: 3642
        case 3645: 3615
        case 3735: 3734
        case 3770: 3769
        case 3807: 3802
        case 3905: 3904
        case 3907: 3906
        case 3909: 3908
        case 3911: 3910
        case 3913: 3912
        case 3927: 3926
        case 4073: 4072
        case 4090: 4089
        case 4097: 4096
        case 4192: 4191
        case 5039: 5038
        case 6150: 4451
        case 6151: 4532
        case 6152: 4533
        case 6153: 4534
        case 6155: 4535
        case 6157: 4536
        default: nil
        }
    }
}
