// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// One decoded PostgreSQL column value.
///
/// Every case keeps the value exactly (no floating point for numerics, raw microseconds for times), so that
/// `appendJSON(to:)` can render it byte for byte as PostgreSQL's `to_jsonb(value)::text` does.
public indirect enum PostgresValue: Sendable, Hashable {
    /// SQL `NULL` (only ever inside arrays, composites and hstores; a null column never reaches a decoder).
    case null
    /// `bool`.
    case bool(Bool)
    /// `int2`, `int4` and `int8`.
    case int(Int64)
    /// `oid` (rendered as a JSON string, as `to_jsonb` does).
    case oid(UInt32)
    /// `numeric`, as exact decimal text.
    case numeric(PostgresNumeric)
    /// `float4`.
    case float4(Float)
    /// `float8`.
    case float8(Double)
    /// `text`, `varchar`, `bpchar` (padding kept), `name`, `"char"` and text-like extension types such as `citext`.
    case text(String)
    /// `bytea`.
    case bytea([UInt8])
    /// `json`, as the text the server stored (rendered normalised, as `to_jsonb` does).
    case json(String)
    /// `jsonb`, as `jsonb_out` writes it (already in canonical form).
    case jsonb(String)
    /// `uuid`.
    case uuid(PostgresUUID)
    /// `date`: days since 2000-01-01; `Int32.max` is `infinity` and `Int32.min` is `-infinity`.
    case date(daysSince2000: Int32)
    /// `time`: microseconds since midnight (up to and including 24:00:00).
    case time(microseconds: Int64)
    /// `timetz`: microseconds since midnight and the zone as PostgreSQL stores it, in seconds west of UTC.
    case timetz(microseconds: Int64, secondsWestOfUTC: Int32)
    /// `timestamp`: `Int64.max` is `infinity` and `Int64.min` is `-infinity`.
    case timestamp(PostgresTimestamp)
    /// `timestamptz`, an instant (rendered in UTC); `Int64.max` is `infinity` and `Int64.min` is `-infinity`.
    case timestamptz(PostgresTimestamp)
    /// `interval`.
    case interval(PostgresInterval)
    /// `inet` and `cidr`.
    case inet(PostgresInet)
    /// `macaddr` (6 bytes) and `macaddr8` (8 bytes).
    case macaddr([UInt8])
    /// `money`, in hundredths of the currency unit (`lc_monetary=C`).
    case money(cents: Int64)
    /// `bit` and `varbit`.
    case bits(PostgresBitString)
    /// `xml`.
    case xml(String)
    /// `tsvector`.
    case tsvector([PostgresLexeme])
    /// `tsquery`, as `tsqueryout` writes it.
    case tsquery(String)
    /// `point`, `line`, `lseg`, `box`, `path`, `polygon` and `circle`.
    case geometry(PostgresGeometry)
    /// Any array, with its dimensions and lower bounds.
    case array(PostgresArray)
    /// A composite (row) value, fields in declaration order.
    case composite([PostgresField])
    /// A range.
    case range(PostgresRange)
    /// A multirange: its ranges in order.
    case multirange([PostgresRange])
    /// An enum label.
    case enumLabel(String)
    /// `hstore`: key and value pairs (`nil` value is `NULL`).
    case hstore([PostgresHstorePair])
    /// A type rendered through its text form (`pg_lsn`, `xid`, `tid`, unknown extension types…).
    case other(String)
    /// A binary value of a type whose binary layout is unknown; rendered like `bytea` (`"\\x…"`).
    case unknownBinary([UInt8])
}

/// A `numeric` value.
public enum PostgresNumeric: Sendable, Hashable {
    /// A finite number, as `numeric_out` writes it (`-12.50`, `0`, `100000000000000000000`).
    case finite(String)
    case nan
    case infinity
    case negativeInfinity
}

/// A `uuid`, as its 16 bytes.
public struct PostgresUUID: Sendable, Hashable {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }
}

/// An `interval`: PostgreSQL keeps months, days and microseconds apart because their lengths vary.
public struct PostgresInterval: Sendable, Hashable {
    public var months: Int32
    public var days: Int32
    public var microseconds: Int64

    public init(months: Int32, days: Int32, microseconds: Int64) {
        self.months = months
        self.days = days
        self.microseconds = microseconds
    }
}

/// An `inet` or `cidr` value.
public struct PostgresInet: Sendable, Hashable {
    public enum Family: Sendable, Hashable {
        case ipv4
        case ipv6
    }

    public var family: Family
    /// Netmask length.
    public var bits: UInt8
    /// Address bytes in network order: 4 for IPv4, 16 for IPv6.
    public var address: [UInt8]
    /// Whether the value is a `cidr` (always written with its `/bits`).
    public var isCIDR: Bool

    public init(family: Family, bits: UInt8, address: [UInt8], isCIDR: Bool) {
        self.family = family
        self.bits = bits
        self.address = address
        self.isCIDR = isCIDR
    }
}

/// A `bit` or `varbit` value.
public struct PostgresBitString: Sendable, Hashable {
    /// Number of bits.
    public var count: Int
    /// The bits, most significant first, padded with zero bits to whole bytes.
    public var bytes: [UInt8]

    public init(count: Int, bytes: [UInt8]) {
        self.count = count
        self.bytes = bytes
    }
}

/// One `tsvector` lexeme with its positions.
public struct PostgresLexeme: Sendable, Hashable {
    /// A position (1...16383) and its weight.
    public struct Position: Sendable, Hashable {
        public var position: UInt16
        /// 3 is `A`, 2 `B`, 1 `C`, 0 `D` (unwritten).
        public var weight: UInt8

        public init(position: UInt16, weight: UInt8) {
            self.position = position
            self.weight = weight
        }
    }

    public var lexeme: String
    public var positions: [Position]

    public init(lexeme: String, positions: [Position]) {
        self.lexeme = lexeme
        self.positions = positions
    }
}

/// A point of the geometric types.
public struct PostgresPoint: Sendable, Hashable {
    public var x: Double
    public var y: Double

    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// The geometric types.
public enum PostgresGeometry: Sendable, Hashable {
    case point(PostgresPoint)
    /// The line `a·x + b·y + c = 0`.
    case line(a: Double, b: Double, c: Double)
    case lseg(PostgresPoint, PostgresPoint)
    /// A box by its upper right and lower left corners (the order PostgreSQL stores and writes).
    case box(high: PostgresPoint, low: PostgresPoint)
    case path(closed: Bool, points: [PostgresPoint])
    case polygon([PostgresPoint])
    case circle(center: PostgresPoint, radius: Double)
}

/// An array value: elements in row-major order, with `.null` for NULL elements.
public struct PostgresArray: Sendable, Hashable {
    /// Length of each dimension; empty for an empty array.
    public var dimensions: [Int]
    /// Lower bound of each dimension (1 unless written like `[2:3]={1,2}`).
    public var lowerBounds: [Int]
    public var elements: [PostgresValue]

    public init(dimensions: [Int], lowerBounds: [Int], elements: [PostgresValue]) {
        self.dimensions = dimensions
        self.lowerBounds = lowerBounds
        self.elements = elements
    }
}

/// A named field of a composite value.
public struct PostgresField: Sendable, Hashable {
    public var name: String
    public var value: PostgresValue

    public init(name: String, value: PostgresValue) {
        self.name = name
        self.value = value
    }
}

/// A range value.
public struct PostgresRange: Sendable, Hashable {
    public var isEmpty: Bool
    /// The lower bound; `nil` when unbounded (or empty).
    public var lower: PostgresValue?
    /// The upper bound; `nil` when unbounded (or empty).
    public var upper: PostgresValue?
    public var lowerInclusive: Bool
    public var upperInclusive: Bool

    public init(
        isEmpty: Bool,
        lower: PostgresValue?,
        upper: PostgresValue?,
        lowerInclusive: Bool,
        upperInclusive: Bool
    ) {
        self.isEmpty = isEmpty
        self.lower = lower
        self.upper = upper
        self.lowerInclusive = lowerInclusive
        self.upperInclusive = upperInclusive
    }

    /// The empty range.
    public static let empty = Self(isEmpty: true, lower: nil, upper: nil, lowerInclusive: false, upperInclusive: false)
}

/// One `hstore` entry.
public struct PostgresHstorePair: Sendable, Hashable {
    public var key: String
    /// `nil` is `NULL`.
    public var value: String?

    public init(key: String, value: String?) {
        self.key = key
        self.value = value
    }
}
