// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import Testing

@Suite struct TableNameTests {
    @Test(arguments: [
        ("orders", TableName(schema: "public", "orders")),
        ("Orders", TableName(schema: "public", "orders")),
        ("Sales.Orders", TableName(schema: "sales", "orders")),
        ("public.\"Order Items\"", TableName(schema: "public", "Order Items")),
        ("\"My Schema\".\"x\"\"y\"", TableName(schema: "My Schema", "x\"y")),
        ("\"a.b\".\"c.d\"", TableName(schema: "a.b", "c.d")),
        ("  sales . orders  ", TableName(schema: "sales", "orders")),
        ("\"select\"", TableName(schema: "public", "select")),
        ("public.user", TableName(schema: "public", "user")),
        ("Café.Straße", TableName(schema: "café", "straße")),
        ("\"Café\".\"日本\"", TableName(schema: "Café", "日本")),
        ("t$1._2", TableName(schema: "t$1", "_2")),
        ("\"*\"", TableName(schema: "public", "*")),
    ])
    func parsesNamesAsSQLWritesThem(text: String, expected: TableName) throws {
        #expect(try TableName(parsing: text) == expected)
    }

    @Test(arguments: [
        (TableName(schema: "public", "orders"), "public.orders"),
        (TableName(schema: "public", "Order Items"), "public.\"Order Items\""),
        (TableName(schema: "My Schema", "x\"y"), "\"My Schema\".\"x\"\"y\""),
        (TableName(schema: "public", "user"), "public.\"user\""),
        (TableName(schema: "public", "select"), "public.\"select\""),
        (TableName(schema: "public", "name"), "public.name"),
        (TableName(schema: "public", "1st"), "public.\"1st\""),
        (TableName(schema: "public", "a$b"), "public.\"a$b\""),
        (TableName(schema: "café", "日本"), "\"café\".\"日本\""),
        (TableName(schema: "public", "Orders"), "public.\"Orders\""),
    ])
    func descriptionIsTheQuotedSQLForm(name: TableName, expected: String) throws {
        #expect(name.description == expected)
        #expect(try TableName(parsing: name.description) == name)
    }

    @Test(arguments: [
        (
            "public.\"Order Items",
            "invalid table name 'public.\"Order Items': the double quote at character 8 is never closed"
        ),
        ("\"x\"\"", "invalid table name '\"x\"\"': the double quote at character 1 is never closed"),
        ("public.", "invalid table name 'public.': the name after the last dot is empty"),
        (".orders", "invalid table name '.orders': the schema name before the dot is empty"),
        ("a..b", "invalid table name 'a..b': there is an empty name between dots"),
        ("", "invalid table name '': the name is empty"),
        ("public.\"\"", "invalid table name 'public.\"\"': a quoted name cannot be empty (\"\" at character 8)"),
        (
            "db.public.orders",
            "invalid table name 'db.public.orders': too many dots; expected table or schema.table (3 parts given; "
                + "a database name cannot be part of it, and a dot inside a name must be double-quoted)"
        ),
        (
            "public.order items",
            "invalid table name 'public.order items': unexpected 'i' at character 14: names with spaces, dots or "
                + "punctuation must be double-quoted, e.g. public.\"Order Items\""
        ),
        (
            "public.\"Order\"s",
            "invalid table name 'public.\"Order\"s': unexpected 's' at character 15: a closing double quote must be "
                + "followed by a dot or the end of the name"
        ),
        (
            "public.orders;",
            "invalid table name 'public.orders;': unexpected ';' at character 14: names with spaces, dots or "
                + "punctuation must be double-quoted, e.g. public.\"Order Items\""
        ),
        (
            "public.-x",
            "invalid table name 'public.-x': unexpected '-' at character 8: names with spaces or punctuation must be "
                + "double-quoted, e.g. public.\"Order Items\""
        ),
        (
            "2023_orders",
            "invalid table name '2023_orders': an unquoted name cannot start with '2' (character 1); double-quote it"
        ),
        (
            "public.*",
            "invalid table name 'public.*': wildcards (*) are only allowed in table patterns, not in a single name"
        ),
    ])
    func malformedNamesSayWhatIsWrong(text: String, message: String) {
        let error = #expect(throws: SiphonError.self) { try TableName(parsing: text) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message == message)
    }

    @Test func namesLongerThanPostgreSQLAllowsAreRefused() throws {
        let long = String(repeating: "a", count: 64)
        let error = #expect(throws: SiphonError.self) { try TableName(parsing: long) }
        #expect(
            error?.message
                == "invalid table name '\(long)': '\(long)' is 64 bytes long; PostgreSQL names are at most 63 bytes"
        )
        #expect(try TableName(parsing: String(repeating: "a", count: 63)).table.count == 63)
    }

    @Test func namesSortBySchemaThenTable() {
        let names = [TableName(schema: "b", "a"), TableName(schema: "a", "z"), TableName(schema: "a", "b")]
        #expect(names.sorted().map(\.description) == ["a.b", "a.z", "b.a"])
    }
}

@Suite struct TablePatternTests {
    @Test func wildcardsMatchAnyRunOfCharacters() throws {
        let pattern = try TablePattern(parsing: "Sales.Order_*")
        #expect(pattern == TablePattern(schema: .exactly("sales"), table: .matching("order_*")))
        #expect(pattern.description == "sales.order_*")
        #expect(pattern.exactName == nil)
        #expect(pattern.matches(schema: "sales", table: "order_"))
        #expect(pattern.matches(schema: "sales", table: "order_items"))
        #expect(!pattern.matches(schema: "sales", table: "orders"))
        #expect(!pattern.matches(schema: "Sales", table: "order_items"))
        #expect(!pattern.matches(schema: "public", table: "order_items"))
    }

    @Test func patternShapes() throws {
        #expect(try TablePattern(parsing: "public.*").matches(TableName(schema: "public", "Anything At All")))
        #expect(try TablePattern(parsing: "*") == TablePattern(schema: .exactly("public"), table: .matching("*")))
        let everywhere = try TablePattern(parsing: "*.*")
        #expect(everywhere.matches(schema: "x y", table: "\""))
        let audit = try TablePattern(parsing: "*.audit_log")
        #expect(audit.matches(schema: "sales", table: "audit_log"))
        #expect(!audit.matches(schema: "sales", table: "audit_logs"))
        let middle = try TablePattern(parsing: "a*b*c")
        #expect(middle.matches(schema: "public", table: "abc"))
        #expect(middle.matches(schema: "public", table: "aXbYbZc"))
        #expect(!middle.matches(schema: "public", table: "aXbYcZ"))
        let unicode = try TablePattern(parsing: "public.straße_*")
        #expect(unicode.matches(schema: "public", table: "straße_1"))
    }

    @Test func quotedStarIsJustACharacter() throws {
        let pattern = try TablePattern(parsing: "public.\"order_*\"")
        #expect(pattern.exactName == TableName(schema: "public", "order_*"))
        #expect(pattern.matches(schema: "public", table: "order_*"))
        #expect(!pattern.matches(schema: "public", table: "order_items"))
        #expect(pattern.description == "public.\"order_*\"")
    }

    @Test func exactPatternsAreNames() throws {
        let name = TableName(schema: "My Schema", "x\"y")
        #expect(TablePattern(name).exactName == name)
        #expect(TablePattern(name).description == name.description)
        #expect(try TablePattern(parsing: name.description) == TablePattern(name))
    }

    @Test func quoteIdentifierFollowsQuoteIdent() {
        #expect(TableName.quoteIdentifier("orders") == "orders")
        #expect(TableName.quoteIdentifier("_x9") == "_x9")
        #expect(TableName.quoteIdentifier("Orders") == "\"Orders\"")
        #expect(TableName.quoteIdentifier("order items") == "\"order items\"")
        #expect(TableName.quoteIdentifier("a\"b") == "\"a\"\"b\"")
        #expect(TableName.quoteIdentifier("9lives") == "\"9lives\"")
        #expect(TableName.quoteIdentifier("") == "\"\"")
        #expect(TableName.quoteIdentifier("table") == "\"table\"")
        #expect(TableName.quoteIdentifier("name") == "name")
        #expect(TableName.quoteIdentifier("schema") == "schema")
    }
}
