// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import Testing

@testable import SiphonAdmin

@Suite struct DoctorChecksTests {
    func slot(status: String?, retained: Int64?, active: Bool = false) -> SlotFacts {
        SlotFacts(
            name: "s",
            plugin: "pgoutput",
            isLogical: true,
            database: "shop",
            isTemporary: false,
            isActive: active,
            activePID: active ? 4242 : nil,
            holderApplication: active ? "siphon" : nil,
            walStatus: status,
            retainedBytes: retained
        )
    }

    func checks(
        slot: SlotFacts?,
        server: ServerFacts = Facts.server,
        options: DoctorOptions = DoctorOptions(slot: "s")
    ) -> [DoctorReport.Check] {
        DoctorChecks(options: options, facts: DoctorFacts(server: server, relations: [], slot: slot, publication: nil))
            .evaluate()
    }

    @Test func lostSlotIsAnErrorThatCallsForANewSnapshot() {
        let check = self.checks(slot: self.slot(status: "lost", retained: nil)).first { $0.name == "slot_wal_status" }
        #expect(
            check
                == DoctorReport.Check(
                    name: "slot_wal_status",
                    subject: "s",
                    status: .error,
                    message:
                        "the WAL slot s needed was removed (wal_status lost): changes were lost, and the tables must "
                        + "be snapshotted again",
                    fix: "SELECT pg_drop_replication_slot('s'); then run siphon setup again, start siphon run, and "
                        + "deliver the tables' rows again with siphon snapshot --all-tables"
                )
        )
    }

    @Test func snapshotsAreReportedAndAFailedOneSaysWhy() {
        var facts = DoctorFacts(server: Facts.server, relations: [], slot: self.slot(status: "reserved", retained: 0), publication: nil)
        facts.snapshots = [
            SnapshotFacts(table: TableName("orders"), state: "done", rowsDone: 1200, rowsEstimated: 1200, error: nil),
            SnapshotFacts(table: TableName("Order Items"), state: "pending", rowsDone: 10, rowsEstimated: nil, error: nil),
            SnapshotFacts(
                table: TableName("a; rm -rf ~"), state: "failed", rowsDone: 0, rowsEstimated: nil,
                error: "table public.\"a; rm -rf ~\" has no primary key"),
        ]
        let checks = DoctorChecks(options: DoctorOptions(slot: "s"), facts: facts).evaluate().filter { $0.name == "snapshot" }
        #expect(checks.map(\.status) == [.ok, .ok, .warning])
        #expect(checks.map(\.subject) == ["public.orders", #"public."Order Items""#, #"public."a; rm -rf ~""#])
        #expect(checks[0].message == "public.orders was snapshotted (1200 of ~1200 rows)")
        #expect(checks[1].message.contains("is under way (10 rows delivered)"))
        #expect(checks[2].message.hasSuffix("has no primary key"))
        // The fix names the slot (a checked identifier) but never puts a table name on a command line.
        #expect(checks[2].fix == "fix what the message says, then ask again: siphon snapshot --slot s --table followed by the table")
    }

    @Test func retainedWALIsMeasuredAgainstTheLimit() {
        var server = Facts.server
        server.maxSlotWALKeepSize = 1 << 30
        let near = self.checks(slot: self.slot(status: "reserved", retained: 900 << 20), server: server)
            .first { $0.name == "slot_retained_wal" }
        #expect(near?.status == .warning)
        #expect(
            near?.message
                == "slot s holds 900.0 MB (943718400 bytes) of WAL, 87% of max_slot_wal_keep_size (1.0 GB (1073741824 "
                + "bytes)); past it, the slot loses changes"
        )
        #expect(
            near?.fix
                == "start siphon run so the slot catches up, or raise the limit: ALTER SYSTEM SET "
                + "max_slot_wal_keep_size = '2048MB'; SELECT pg_reload_conf();"
        )
        let fine = self.checks(slot: self.slot(status: "reserved", retained: 56), server: server)
            .first { $0.name == "slot_retained_wal" }
        #expect(fine?.status == .ok)
        #expect(
            fine?.message
                == "slot s holds 56 bytes of WAL of at most 1.0 GB (1073741824 bytes) (max_slot_wal_keep_size)"
        )
        let unlimited = self.checks(slot: self.slot(status: "extended", retained: 3 << 30))
        #expect(unlimited.first { $0.name == "slot_retained_wal" }?.status == .warning)
        #expect(unlimited.first { $0.name == "slot_wal_status" }?.status == .warning)
    }

    @Test func slotHeadroomCountsTheSlotSiphonWillCreate() {
        var server = Facts.server
        server.usedReplicationSlots = 9
        let last = self.checks(slot: nil, server: server).first { $0.name == "replication_slots" }
        #expect(
            last
                == DoctorReport.Check(
                    name: "replication_slots",
                    status: .warning,
                    message: "9 of 10 replication slots are in use (max_replication_slots); Siphon takes the last one, "
                        + "so none is left to spare",
                    fix: "ALTER SYSTEM SET max_replication_slots = 14; -- then restart PostgreSQL\n"
                        + "or drop unused slots: SELECT pg_drop_replication_slot('<name>');"
                )
        )
        server.usedReplicationSlots = 10
        #expect(self.checks(slot: nil, server: server).first { $0.name == "replication_slots" }?.status == .error)
        #expect(
            self.checks(slot: self.slot(status: "reserved", retained: 0), server: server)
                .first { $0.name == "replication_slots" }?.status == .warning
        )
    }

    @Test func roleWithoutReplicationGetsTheGrant() {
        var server = Facts.server
        server.hasReplication = false
        server.role = "App User"
        let check = self.checks(slot: nil, server: server, options: DoctorOptions()).first {
            $0.name == "role_replication"
        }
        #expect(check?.status == .error)
        #expect(check?.fix == "ALTER ROLE \"App User\" REPLICATION;")
    }

    @Test func reportRendersAsTextAndJSON() {
        let report = DoctorReport(checks: [
            DoctorReport.Check(name: "wal_level", status: .ok, message: "wal_level is logical"),
            DoctorReport.Check(
                name: "toast_identity",
                subject: "public.\"Docs\"",
                status: .warning,
                message: "old values \"missing\"",
                fix: "ALTER TABLE public.\"Docs\" REPLICA IDENTITY FULL;"
            ),
        ])
        #expect(!report.blocksRunning)
        #expect(report.status == .warning)
        #expect(
            report.description == """
                [ok]      wal_level: wal_level is logical
                [warning] toast_identity: old values "missing"
                          fix: ALTER TABLE public."Docs" REPLICA IDENTITY FULL;
                2 checks: 1 ok, 1 warning(s), 0 error(s); nothing blocks siphon run
                """
        )
        #expect(
            report.json
                == #"{"blocks_running":false,"status":"warning","summary":{"ok":1,"warning":1,"error":0},"checks":["#
                + #"{"name":"wal_level","subject":null,"status":"ok","message":"wal_level is logical","fix":null},"#
                + #"{"name":"toast_identity","subject":"public.\"Docs\"","status":"warning","#
                + #""message":"old values \"missing\"","fix":"ALTER TABLE public.\"Docs\" REPLICA IDENTITY FULL;"}]}"#
        )
    }

    @Test func bytesAreReadable() {
        #expect(DoctorChecks.bytes(0) == "0 bytes")
        #expect(DoctorChecks.bytes(1023) == "1023 bytes")
        #expect(DoctorChecks.bytes(1536) == "1.5 kB (1536 bytes)")
        #expect(DoctorChecks.bytes(16 << 20) == "16.0 MB (16777216 bytes)")
    }
}
