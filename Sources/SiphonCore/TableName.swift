// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// A table's schema and name, exactly as PostgreSQL stores them in `pg_namespace.nspname` / `pg_class.relname`.
///
/// Parse user input with `init(parsing:)`, which reads names the way SQL writes them: `orders`,
/// `sales.orders`, `public."Order Items"`. `description` renders the name back in that form, quoting only where
/// PostgreSQL needs it, so it can go straight into SQL.
public struct TableName: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The schema, as stored (case and spaces preserved, no quotes).
    public var schema: String
    /// The table, as stored (case and spaces preserved, no quotes).
    public var table: String

    /// The schema a name without one refers to.
    public static let defaultSchema = "public"

    /// A name from its stored parts; nothing is folded or unquoted.
    public init(schema: String = TableName.defaultSchema, _ table: String) {
        self.schema = schema
        self.table = table
    }

    /// Parses `table` or `schema.table` as SQL writes it: unquoted parts are folded to lower case, double-quoted
    /// parts are kept as written (`""` inside them is one `"`), and the schema defaults to `public`.
    ///
    /// Throws `invalidConfiguration` with a message that points at the problem for malformed input, and for
    /// wildcards, which only `TablePattern` accepts.
    public init(parsing text: String) throws(SiphonError) {
        let pattern = try TablePattern(parsing: text)
        guard let name = pattern.exactName else {
            throw SiphonError(
                .invalidConfiguration,
                "invalid table name '\(text)': wildcards (*) are only allowed in table patterns, not in a single name"
            )
        }
        self = name
    }

    /// The name as SQL writes it, e.g. `public.orders` or `public."Order Items"`.
    public var description: String {
        Self.quoteIdentifier(self.schema) + "." + Self.quoteIdentifier(self.table)
    }

    /// Equal when both parts have the same bytes, as PostgreSQL compares names. Swift's `==` on `String` would
    /// call canonically equivalent names equal (`é` and `e\u{301}`), which are two different tables to the server.
    public static func == (lhs: TableName, rhs: TableName) -> Bool {
        lhs.schema.hasSameBytes(as: rhs.schema) && lhs.table.hasSameBytes(as: rhs.table)
    }

    public func hash(into hasher: inout Hasher) {
        self.schema.combineBytes(into: &hasher)
        self.table.combineBytes(into: &hasher)
    }

    /// Orders by schema, then table, by their bytes (PostgreSQL's `C` order for names).
    public static func < (lhs: TableName, rhs: TableName) -> Bool {
        if !lhs.schema.hasSameBytes(as: rhs.schema) { return lhs.schema.utf8.lexicographicallyPrecedes(rhs.schema.utf8) }
        return lhs.table.utf8.lexicographicallyPrecedes(rhs.table.utf8)
    }
}

extension String {
    /// Byte equality: what PostgreSQL means by two names being the same.
    fileprivate func hasSameBytes(as other: String) -> Bool {
        self.utf8.elementsEqual(other.utf8)
    }

    /// Hashes the bytes, consistent with `hasSameBytes(as:)`.
    fileprivate func combineBytes(into hasher: inout Hasher) {
        hasher.combine(self.utf8.count)
        for byte in self.utf8 { hasher.combine(byte) }
    }
}

/// A `schema.table` pattern with `*` wildcards in unquoted parts: `public.*`, `sales.order_*`, `*.audit_log`.
///
/// Quoted parts match exactly (a `*` inside quotes is just a character), so every `TableName` is also a pattern.
public struct TablePattern: Hashable, Sendable, CustomStringConvertible {
    /// One side of the dot.
    public enum Part: Hashable, Sendable {
        /// Matches exactly this stored name.
        case exactly(String)
        /// A glob over the stored name where `*` matches any run of characters (including none).
        case matching(String)

        /// Equal when the kind and the bytes are the same (see `TableName.==`).
        public static func == (lhs: Part, rhs: Part) -> Bool {
            switch (lhs, rhs) {
            case (.exactly(let left), .exactly(let right)), (.matching(let left), .matching(let right)):
                return left.hasSameBytes(as: right)
            case (.exactly, .matching), (.matching, .exactly):
                return false
            }
        }

        public func hash(into hasher: inout Hasher) {
            switch self {
            case .exactly(let text):
                hasher.combine(0)
                text.combineBytes(into: &hasher)
            case .matching(let text):
                hasher.combine(1)
                text.combineBytes(into: &hasher)
            }
        }

        /// Whether `name` (as stored) matches this part.
        public func matches(_ name: String) -> Bool {
            switch self {
            case .exactly(let exact): return name.hasSameBytes(as: exact)
            case .matching(let glob): return Self.glob(Array(glob.unicodeScalars), matches: Array(name.unicodeScalars))
            }
        }

        /// The part as SQL-like text: exact names quoted where needed, globs as written (they are never quoted).
        var text: String {
            switch self {
            case .exactly(let name): return TableName.quoteIdentifier(name)
            case .matching(let glob): return glob
            }
        }

        /// Classic wildcard matching that backtracks only to the last `*`, so it runs in linear-ish time.
        private static func glob(_ pattern: [Unicode.Scalar], matches name: [Unicode.Scalar]) -> Bool {
            var p = 0
            var n = 0
            var star: Int?
            var starMatch = 0
            while n < name.count {
                if p < pattern.count && pattern[p] == "*" {
                    star = p
                    starMatch = n
                    p += 1
                } else if p < pattern.count && pattern[p] == name[n] {
                    p += 1
                    n += 1
                } else if let star {
                    p = star + 1
                    starMatch += 1
                    n = starMatch
                } else {
                    return false
                }
            }
            while p < pattern.count && pattern[p] == "*" { p += 1 }
            return p == pattern.count
        }
    }

    /// What the schema must be.
    public var schema: Part
    /// What the table must be.
    public var table: Part

    public init(schema: Part, table: Part) {
        self.schema = schema
        self.table = table
    }

    /// The pattern that matches exactly `name`.
    public init(_ name: TableName) {
        self.init(schema: .exactly(name.schema), table: .exactly(name.table))
    }

    /// Parses a pattern the way `TableName.init(parsing:)` parses a name, additionally allowing `*` in unquoted
    /// parts. `*` alone means every table of `public`; `*.*` every table of every schema.
    public init(parsing text: String) throws(SiphonError) {
        var parser = TableNameParser(text)
        let parts = try parser.parse()
        switch parts.count {
        case 1: self.init(schema: .exactly(TableName.defaultSchema), table: parts[0])
        case 2: self.init(schema: parts[0], table: parts[1])
        default:
            throw SiphonError(
                .invalidConfiguration,
                "invalid table name '\(text)': too many dots; expected table or schema.table (\(parts.count) parts "
                    + "given; a database name cannot be part of it, and a dot inside a name must be double-quoted)"
            )
        }
    }

    /// The single table this pattern names, when it has no wildcard.
    public var exactName: TableName? {
        guard case .exactly(let schema) = self.schema, case .exactly(let table) = self.table else { return nil }
        return TableName(schema: schema, table)
    }

    /// Whether the stored pair (`schema`, `table`) matches.
    public func matches(schema: String, table: String) -> Bool {
        self.schema.matches(schema) && self.table.matches(table)
    }

    /// Whether `name` matches.
    public func matches(_ name: TableName) -> Bool {
        self.matches(schema: name.schema, table: name.table)
    }

    /// The pattern as written in SQL style, e.g. `sales.order_*` or `public."Order Items"`.
    public var description: String { self.schema.text + "." + self.table.text }
}

extension TableName {
    /// Double-quotes `name` when PostgreSQL would need it, exactly as the server's `quote_ident()` does: anything
    /// but lower-case ASCII letters, digits and `_` (not starting with a digit), and every keyword that is not
    /// unreserved, is quoted, with `"` doubled.
    public static func quoteIdentifier(_ name: String) -> String {
        var safe = !name.isEmpty
        for (index, byte) in name.utf8.enumerated() where safe {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "_"): continue
            case UInt8(ascii: "0")...UInt8(ascii: "9"): safe = index > 0
            default: safe = false
            }
        }
        if safe && !Self.keywordsNeedingQuotes.contains(name) { return name }
        // Bytes, not `Character`s: a `"` glued to a neighbour in one grapheme cluster must still be doubled (see
        // `SQLQuoting` for why byte-wise quoting is sound under the pinned `client_encoding=UTF8`).
        guard name.utf8.contains(0) else { return "\"" + SQLQuoting.doubling("\"", in: name) + "\"" }
        // A name cannot hold NUL; `\0000` in a Unicode-escape identifier makes the server refuse the statement.
        var escaped: [UInt8] = Array(#"U&""#.utf8)
        for byte in name.utf8 {
            switch byte {
            case 0: escaped += Array(#"\0000"#.utf8)
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): escaped += [byte, byte]
            default: escaped.append(byte)
            }
        }
        escaped.append(UInt8(ascii: "\""))
        return String(decoding: escaped, as: UTF8.self)
    }

    /// PostgreSQL's reserved, column-name and type-function-name keywords (`pg_get_keywords()` where
    /// `catcode <> 'U'`), for versions 12 to 17. Unreserved keywords need no quotes; these do.
    static let keywordsNeedingQuotes: Set<String> = [
        "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization", "between",
        "bigint", "binary", "bit", "boolean", "both", "case", "cast", "char", "character", "check", "coalesce",
        "collate", "collation", "column", "concurrently", "constraint", "create", "cross", "current_catalog",
        "current_date", "current_role", "current_schema", "current_time", "current_timestamp", "current_user", "dec",
        "decimal", "default", "deferrable", "desc", "distinct", "do", "else", "end", "except", "exists", "extract",
        "false", "fetch", "float", "for", "foreign", "freeze", "from", "full", "grant", "greatest", "group",
        "grouping", "having", "ilike", "in", "initially", "inner", "inout", "int", "integer", "intersect", "interval",
        "into", "is", "isnull", "join", "json", "json_array", "json_arrayagg", "json_exists", "json_object",
        "json_objectagg", "json_query", "json_scalar", "json_serialize", "json_table", "json_value", "lateral",
        "leading", "least", "left", "like", "limit", "localtime", "localtimestamp", "merge_action", "national",
        "natural", "nchar", "none", "normalize", "not", "notnull", "null", "nullif", "numeric", "offset", "on", "only",
        "or", "order", "out", "outer", "overlaps", "overlay", "placing", "position", "precision", "primary", "real",
        "references", "returning", "right", "row", "select", "session_user", "setof", "similar", "smallint", "some",
        "substring", "symmetric", "system_user", "table", "tablesample", "then", "time", "timestamp", "to",
        "trailing", "treat", "trim", "true", "union", "unique", "user", "using", "values", "varchar", "variadic",
        "verbose", "when", "where", "window", "with", "xmlattributes", "xmlconcat", "xmlelement", "xmlexists",
        "xmlforest", "xmlnamespaces", "xmlparse", "xmlpi", "xmlroot", "xmlserialize", "xmltable",
    ]

    /// Checks that `name` can name a schema, publication or group as given: 1 to 63 bytes without NUL characters.
    public static func validateIdentifier(_ name: String, as noun: String) throws(SiphonError) {
        guard !name.isEmpty, !name.unicodeScalars.contains("\u{0}"), name.utf8.count <= Self.maximumIdentifierLength
        else {
            throw SiphonError(
                .invalidConfiguration,
                "invalid \(noun) name '\(name)': it must be 1 to \(Self.maximumIdentifierLength) bytes without NUL "
                    + "characters")
        }
    }

    /// PostgreSQL's identifier length limit in bytes (`NAMEDATALEN - 1`); longer names are silently truncated by
    /// the server, so Siphon refuses them instead of matching a different name.
    public static let maximumIdentifierLength = 63
}

/// Splits `schema.table` (with optional wildcards) into parts, following PostgreSQL's lexer for identifiers.
private struct TableNameParser {
    let text: String
    let scalars: [Unicode.Scalar]
    var index = 0

    init(_ text: String) {
        self.text = text
        self.scalars = Array(text.unicodeScalars)
    }

    mutating func parse() throws(SiphonError) -> [TablePattern.Part] {
        var parts: [TablePattern.Part] = []
        self.skipWhitespace()
        if self.index == self.scalars.count { throw self.error("the name is empty") }
        while true {
            guard let scalar = self.peek() else {
                throw self.error("the name after the last dot is empty")
            }
            let quoted: Bool
            if scalar == "\"" {
                parts.append(.exactly(try self.quotedPart()))
                quoted = true
            } else if scalar == "." {
                throw self.error(
                    parts.isEmpty ? "the schema name before the dot is empty" : "there is an empty name between dots"
                )
            } else {
                parts.append(try self.unquotedPart())
                quoted = false
            }
            self.skipWhitespace()
            guard let next = self.peek() else { return parts }
            guard next == "." else {
                if quoted {
                    throw self.error(
                        "unexpected '\(next)' at character \(self.index + 1): a closing double quote must be followed "
                            + "by a dot or the end of the name"
                    )
                }
                throw self.error(
                    "unexpected '\(next)' at character \(self.index + 1): names with spaces, dots or punctuation must "
                        + "be double-quoted, e.g. public.\"Order Items\""
                )
            }
            self.index += 1
            self.skipWhitespace()
        }
    }

    /// `"…"` with `""` standing for one `"`; the case and every character inside are kept.
    private mutating func quotedPart() throws(SiphonError) -> String {
        let opening = self.index
        self.index += 1
        var name = String.UnicodeScalarView()
        while true {
            guard let scalar = self.peek() else {
                throw self.error("the double quote at character \(opening + 1) is never closed")
            }
            self.index += 1
            if scalar == "\"" {
                guard self.peek() == "\"" else { break }
                self.index += 1
            }
            name.append(scalar)
        }
        let text = String(name)
        if text.isEmpty { throw self.error("a quoted name cannot be empty (\"\" at character \(opening + 1))") }
        try self.checkContent(text)
        return text
    }

    /// An unquoted identifier (letters, digits, `_`, `$`, any non-ASCII character; not starting with a digit or
    /// `$`) with optional `*` wildcards, folded to lower case like PostgreSQL does: ASCII letters only.
    private mutating func unquotedPart() throws(SiphonError) -> TablePattern.Part {
        let start = self.index
        var name = String.UnicodeScalarView()
        var wildcard = false
        while let scalar = self.peek() {
            let isLetter =
                ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || scalar == "_" || scalar.value >= 0x80
            let isFollowing = ("0"..."9").contains(scalar) || scalar == "$"
            if scalar == "*" {
                wildcard = true
            } else if isFollowing && self.index == start {
                throw self.error(
                    "an unquoted name cannot start with '\(scalar)' (character \(self.index + 1)); double-quote it"
                )
            } else if !isLetter && !isFollowing {
                break
            }
            name.append(scalar)
            self.index += 1
        }
        guard self.index > start else {
            let found = self.peek().map { "'\($0)'" } ?? "end"
            throw self.error(
                "unexpected \(found) at character \(self.index + 1): names with spaces or punctuation must be "
                    + "double-quoted, e.g. public.\"Order Items\""
            )
        }
        var folded = String.UnicodeScalarView()
        for scalar in name {
            folded.append(("A"..."Z").contains(scalar) ? Unicode.Scalar(scalar.value + 32)! : scalar)
        }
        let text = String(folded)
        try self.checkContent(text)
        return wildcard ? .matching(text) : .exactly(text)
    }

    private func checkContent(_ name: String) throws(SiphonError) {
        if name.unicodeScalars.contains("\u{0}") { throw self.error("a name cannot contain a NUL character") }
        if name.utf8.count > TableName.maximumIdentifierLength {
            throw self.error(
                "'\(name)' is \(name.utf8.count) bytes long; PostgreSQL names are at most "
                    + "\(TableName.maximumIdentifierLength) bytes"
            )
        }
    }

    private func peek() -> Unicode.Scalar? {
        self.index < self.scalars.count ? self.scalars[self.index] : nil
    }

    private mutating func skipWhitespace() {
        while let scalar = self.peek(), scalar.properties.isWhitespace { self.index += 1 }
    }

    private func error(_ problem: String) -> SiphonError {
        SiphonError(.invalidConfiguration, "invalid table name '\(self.text)': \(problem)")
    }
}
