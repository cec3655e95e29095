// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore

/// `tsvector` and `tsquery` text and binary forms (src/backend/utils/adt/tsvector.c, tsquery.c).
enum TextSearchText {
    // MARK: tsvector

    /// Writes `tsvectorout` text: `'lexeme':1A,2 'other'`, quotes and backslashes doubled.
    static func append(_ lexemes: [PostgresLexeme], to output: inout String) {
        for (index, lexeme) in lexemes.enumerated() {
            if index > 0 { output.append(" ") }
            appendQuoted(lexeme.lexeme, to: &output)
            for (positionIndex, position) in lexeme.positions.enumerated() {
                output.append(positionIndex == 0 ? ":" : ",")
                appendDecimal(Int64(position.position), to: &output)
                switch position.weight {
                case 3: output.append("A")
                case 2: output.append("B")
                case 1: output.append("C")
                default: break
                }
            }
        }
    }

    private static func appendQuoted(_ text: String, to output: inout String) {
        output.append("'")
        for scalar in text.unicodeScalars {
            if scalar == "'" || scalar == "\\" { output.unicodeScalars.append(scalar) }
            output.unicodeScalars.append(scalar)
        }
        output.append("'")
    }

    /// Reads `tsvectorout` text.
    static func parseVector(_ bytes: UnsafeRawBufferPointer) -> [PostgresLexeme]? {
        var scanner = TextScanner(bytes)
        var lexemes: [PostgresLexeme] = []
        while !scanner.isAtEnd {
            if !lexemes.isEmpty { guard scanner.consume(UInt8(ascii: " ")) else { return nil } }
            guard scanner.consume(UInt8(ascii: "'")) else { return nil }
            var text: [UInt8] = []
            while true {
                guard let byte = scanner.next() else { return nil }
                if byte == UInt8(ascii: "'") {
                    if scanner.consume(UInt8(ascii: "'")) {
                        text.append(byte)
                        continue
                    }
                    break
                }
                if byte == UInt8(ascii: "\\") {
                    guard let escaped = scanner.next() else { return nil }
                    text.append(escaped)
                    continue
                }
                text.append(byte)
            }
            var positions: [PostgresLexeme.Position] = []
            if scanner.consume(UInt8(ascii: ":")) {
                repeat {
                    guard let position = scanner.readDigits(minimum: 1, maximum: 5), position <= 16383 else {
                        return nil
                    }
                    var weight: UInt8 = 0
                    if scanner.consume(UInt8(ascii: "A")) {
                        weight = 3
                    } else if scanner.consume(UInt8(ascii: "B")) {
                        weight = 2
                    } else if scanner.consume(UInt8(ascii: "C")) {
                        weight = 1
                    } else {
                        _ = scanner.consume(UInt8(ascii: "D"))
                    }
                    positions.append(.init(position: UInt16(position), weight: weight))
                } while scanner.consume(UInt8(ascii: ","))
            }
            lexemes.append(PostgresLexeme(lexeme: String(decoding: text, as: UTF8.self), positions: positions))
        }
        return lexemes
    }

    /// Reads `tsvectorsend` output: uint32 count, then per lexeme its text, a NUL, uint16 count and the
    /// uint16 positions (weight in the top two bits).
    static func decodeVector(_ buffer: inout ByteBuffer) -> [PostgresLexeme]? {
        guard let count = buffer.readInteger(as: UInt32.self), count <= buffer.readableBytes else { return nil }
        var lexemes: [PostgresLexeme] = []
        lexemes.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let text = buffer.readNullTerminatedString(), let positionCount = buffer.readInteger(as: UInt16.self)
            else { return nil }
            var positions: [PostgresLexeme.Position] = []
            positions.reserveCapacity(Int(positionCount))
            for _ in 0..<positionCount {
                guard let word = buffer.readInteger(as: UInt16.self) else { return nil }
                positions.append(.init(position: word & 0x3FFF, weight: UInt8(word >> 14)))
            }
            lexemes.append(PostgresLexeme(lexeme: text, positions: positions))
        }
        return lexemes
    }

    // MARK: tsquery

    private enum QueryItem {
        case operand(weight: UInt8, prefix: Bool, text: String)
        case `operator`(code: UInt8, distance: Int16)
    }

    /// `tsquery.h` operator codes.
    private static let operatorNot: UInt8 = 1
    private static let operatorAnd: UInt8 = 2
    private static let operatorOr: UInt8 = 3
    private static let operatorPhrase: UInt8 = 4

    /// Reads `tsquerysend` output and writes the text `tsqueryout` would: items arrive in prefix order (an
    /// operator, then its right operand, then its left), and parentheses follow operator priorities.
    static func decodeQuery(_ buffer: inout ByteBuffer) -> String? {
        guard let count = buffer.readInteger(as: UInt32.self), count <= buffer.readableBytes else { return nil }
        var items: [QueryItem] = []
        items.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let type = buffer.readInteger(as: UInt8.self) else { return nil }
            switch type {
            case 1:
                guard let weight = buffer.readInteger(as: UInt8.self), let prefix = buffer.readInteger(as: UInt8.self),
                    let text = buffer.readNullTerminatedString()
                else { return nil }
                items.append(.operand(weight: weight, prefix: prefix != 0, text: text))
            case 2:
                guard let code = buffer.readInteger(as: UInt8.self), (1...4).contains(code) else { return nil }
                var distance: Int16 = 0
                if code == operatorPhrase {
                    guard let value = buffer.readInteger(as: Int16.self) else { return nil }
                    distance = value
                }
                items.append(.operator(code: code, distance: distance))
            default:
                return nil
            }
        }
        guard !items.isEmpty else { return "" }
        var position = 0
        var output = ""
        guard infix(items, &position, parentPriority: -1, rightPhraseOperand: false, depth: 0, to: &output),
            position == items.count
        else { return nil }
        return output
    }

    private static func priority(_ code: UInt8) -> Int {
        switch code {
        case operatorNot: 4
        case operatorAnd: 2
        case operatorOr: 1
        default: 3
        }
    }

    /// Operator nesting deeper than this is rejected (the recursion must fit a task's stack).
    static let maximumDepth = 1000

    private static func infix(
        _ items: [QueryItem],
        _ position: inout Int,
        parentPriority: Int,
        rightPhraseOperand: Bool,
        depth: Int,
        to output: inout String
    ) -> Bool {
        guard position < items.count, depth < maximumDepth else { return false }
        let item = items[position]
        position += 1
        switch item {
        case .operand(let weight, let prefix, let text):
            appendQuoted(text, to: &output)
            if weight != 0 || prefix {
                output.append(":")
                if prefix { output.append("*") }
                if weight & 8 != 0 { output.append("A") }
                if weight & 4 != 0 { output.append("B") }
                if weight & 2 != 0 { output.append("C") }
                if weight & 1 != 0 { output.append("D") }
            }
            return true
        case .operator(let code, _) where code == operatorNot:
            let own = priority(code)
            if own < parentPriority { output.append("( ") }
            output.append("!")
            guard infix(items, &position, parentPriority: own, rightPhraseOperand: false, depth: depth + 1, to: &output)
            else {
                return false
            }
            if own < parentPriority { output.append(" )") }
            return true
        case .operator(let code, let distance):
            let own = priority(code)
            let parenthesize = own < parentPriority || (code == operatorPhrase && rightPhraseOperand)
            if parenthesize { output.append("( ") }
            var right = ""
            guard
                infix(
                    items,
                    &position,
                    parentPriority: own,
                    rightPhraseOperand: code == operatorPhrase,
                    depth: depth + 1,
                    to: &right
                ),
                infix(items, &position, parentPriority: own, rightPhraseOperand: false, depth: depth + 1, to: &output)
            else { return false }
            switch code {
            case operatorOr:
                output.append(" | ")
            case operatorAnd:
                output.append(" & ")
            default:
                if distance != 1 {
                    output.append(" <")
                    appendDecimal(Int64(distance), to: &output)
                    output.append("> ")
                } else {
                    output.append(" <-> ")
                }
            }
            output.append(right)
            if parenthesize { output.append(" )") }
            return true
        }
    }
}
