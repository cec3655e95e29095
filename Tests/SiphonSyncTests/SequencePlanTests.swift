// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonSync
import Testing

/// Which ids two sides' sequences would both hand out, without a database.
@Suite struct SequencePlanTests {
    func state(increment: Int64 = 1, next: Int64, largest: Int64?, name: String = "items_id_seq") -> SequenceState {
        SequenceState(
            table: TableName("items"), column: "id", schema: "public", name: name, increment: increment,
            nextValue: next, largestInTable: largest)
    }

    @Test func twoWayWithTheSameStepGoesOddAndEvenBeyondEveryIdEitherSideHolds() {
        let plan = SequencePlan(
            source: [self.state(next: 121, largest: 120)], target: [self.state(next: 8, largest: 130)], bothWays: true)
        #expect(
            plan.findings == [
                "public.items.id: the source's next value 121 is not above the largest on the target (130); the "
                    + "target's next value 8 is not above the largest on the source (120); both sequences hand out the "
                    + "same values (increments 1 and 1, next 121 and 8)"
            ])
        #expect(plan.sourceStatements == ["ALTER SEQUENCE public.items_id_seq INCREMENT BY 2 RESTART WITH 131"])
        #expect(plan.targetStatements == ["ALTER SEQUENCE public.items_id_seq INCREMENT BY 2 RESTART WITH 132"])
    }

    @Test func sequencesAlreadyApartNeedNothing() {
        let plan = SequencePlan(
            source: [self.state(increment: 2, next: 133, largest: 131)],
            target: [self.state(increment: 2, next: 134, largest: 132)], bothWays: true)
        #expect(plan.findings.isEmpty && plan.sourceStatements.isEmpty && plan.targetStatements.isEmpty)
        #expect(plan.description == "the sequences are apart: nothing to change\n")
    }

    @Test func oneWayMovesTheTargetsSequenceBeyondTheSourcesForASwitchOver() {
        let behind = SequencePlan(
            source: [self.state(next: 501, largest: 480)], target: [self.state(next: 1, largest: 480)], bothWays: false)
        #expect(behind.findings.count == 1)
        #expect(behind.sourceStatements.isEmpty)
        #expect(behind.targetStatements == ["ALTER SEQUENCE public.items_id_seq INCREMENT BY 1 RESTART WITH 501"])
        let ahead = SequencePlan(
            source: [self.state(next: 501, largest: 480)], target: [self.state(next: 901, largest: 480)], bothWays: false)
        #expect(ahead.findings.isEmpty)
    }

    @Test func hostileSequenceNamesAreQuoted() {
        let plan = SequencePlan(
            source: [self.state(next: 2, largest: 1, name: "s\"; DROP TABLE x; --")],
            target: [self.state(next: 2, largest: 1)], bothWays: true)
        #expect(plan.sourceStatements == [#"ALTER SEQUENCE public."s""; DROP TABLE x; --" INCREMENT BY 2 RESTART WITH 3"#])
    }
}
