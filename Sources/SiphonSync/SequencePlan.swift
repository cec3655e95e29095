// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// A sequence that fills a synced column on one side, and the column's largest value there.
public struct SequenceState: Sendable, Hashable {
    public var table: TableName
    public var column: String
    /// The sequence's schema and name, as stored.
    public var schema: String
    public var name: String
    public var increment: Int64
    /// The value `nextval` returns next.
    public var nextValue: Int64
    /// The largest value of the column in the table (`nil` for an empty table).
    public var largestInTable: Int64?

    public init(
        table: TableName, column: String, schema: String, name: String, increment: Int64, nextValue: Int64,
        largestInTable: Int64?
    ) {
        self.table = table
        self.column = column
        self.schema = schema
        self.name = name
        self.increment = increment
        self.nextValue = nextValue
        self.largestInTable = largestInTable
    }

    var quotedName: String { SQLQuoting.identifier(self.schema) + "." + SQLQuoting.identifier(self.name) }
}

/// Which ids the two sides' sequences will hand out that collide, and the statements that keep them apart: for a
/// two-way sync, odd values on the source and even ones on the target, both beyond every id either side holds; for a
/// one-way sync, the target's sequence moved beyond the source's, so the target can take over writing (switch-over)
/// without reusing an id.
///
/// Pure: built from `SequenceState`s read on both sides, tested without a database.
public struct SequencePlan: Sendable, Hashable {
    /// What collides, one sentence each; empty when the sequences are already apart.
    public var findings: [String] = []
    /// `ALTER SEQUENCE …` to run on each side; empty when nothing needs to change.
    public var sourceStatements: [String] = []
    public var targetStatements: [String] = []

    public init(source: [SequenceState], target: [SequenceState], bothWays: Bool) {
        for sourceSequence in source {
            guard
                let targetSequence = target.first(where: {
                    $0.table == sourceSequence.table && $0.column == sourceSequence.column
                })
            else { continue }
            if bothWays {
                self.planBothWays(sourceSequence, targetSequence)
            } else {
                self.planSwitchOver(sourceSequence, targetSequence)
            }
        }
    }

    private mutating func planBothWays(_ source: SequenceState, _ target: SequenceState) {
        let column = "\(source.table).\(SQLQuoting.identifier(source.column))"
        var collides: [String] = []
        if let largest = target.largestInTable, source.nextValue <= largest {
            collides.append(
                "the source's next value \(source.nextValue) is not above the largest on the target (\(largest))")
        }
        if let largest = source.largestInTable, target.nextValue <= largest {
            collides.append(
                "the target's next value \(target.nextValue) is not above the largest on the source (\(largest))")
        }
        let disjoint =
            source.increment == target.increment && abs(source.increment) > 1
            && (source.nextValue - target.nextValue) % source.increment != 0
        if !disjoint {
            collides.append(
                "both sequences hand out the same values (increments \(source.increment) and \(target.increment), next "
                    + "\(source.nextValue) and \(target.nextValue))")
        }
        guard !collides.isEmpty else { return }
        self.findings.append("\(column): " + collides.joined(separator: "; "))
        // Beyond every id either side holds or has handed out, odd on the source and even on the target.
        let floor =
            [source.nextValue, target.nextValue, (source.largestInTable ?? 0) + 1, (target.largestInTable ?? 0) + 1]
            .max() ?? 1
        let odd = floor % 2 == 0 ? floor + 1 : floor
        let even = floor % 2 == 0 ? floor : floor + 1
        self.sourceStatements.append("ALTER SEQUENCE \(source.quotedName) INCREMENT BY 2 RESTART WITH \(odd)")
        self.targetStatements.append("ALTER SEQUENCE \(target.quotedName) INCREMENT BY 2 RESTART WITH \(even)")
    }

    private mutating func planSwitchOver(_ source: SequenceState, _ target: SequenceState) {
        let needed = max(source.nextValue, (target.largestInTable ?? 0) + 1, (source.largestInTable ?? 0) + 1)
        guard target.nextValue < needed else { return }
        self.findings.append(
            "\(source.table).\(SQLQuoting.identifier(source.column)): the target's next value \(target.nextValue) is "
                + "below the ids the source hands out (next \(source.nextValue)); writes on the target after a "
                + "switch-over would reuse them")
        self.targetStatements.append(
            "ALTER SEQUENCE \(target.quotedName) INCREMENT BY \(source.increment) RESTART WITH \(needed)")
    }

    /// The plan as a person reads it: findings, then the statements for each side.
    public var description: String {
        guard !self.findings.isEmpty else { return "the sequences are apart: nothing to change\n" }
        var text = self.findings.map { "- \($0)\n" }.joined()
        if !self.sourceStatements.isEmpty {
            text += "on the source:\n" + self.sourceStatements.map { "  \($0);\n" }.joined()
        }
        if !self.targetStatements.isEmpty {
            text += "on the target:\n" + self.targetStatements.map { "  \($0);\n" }.joined()
        }
        return text
    }
}
