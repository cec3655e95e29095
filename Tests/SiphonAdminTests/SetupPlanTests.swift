// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import Testing

@testable import SiphonAdmin

/// Facts for planning without a server.
enum Facts {
    static let server = ServerFacts(
        versionNumber: 150018,
        version: "15.18",
        walLevel: "logical",
        database: "shop",
        role: "app",
        isSuperuser: false,
        hasReplication: true,
        canCreateInDatabase: true,
        maxReplicationSlots: 10,
        usedReplicationSlots: 2,
        maxWALSenders: 10,
        usedWALSenders: 1,
        maxSlotWALKeepSize: nil,
        maxWALSize: 1 << 30,
        isInRecovery: false
    )

    static func table(
        _ schema: String,
        _ name: String,
        oid: Int64,
        kind: CatalogRelation.Kind = .table,
        primaryKey: Bool = true,
        identity: ReplicaIdentity = .default,
        unlogged: Bool = false,
        partitionOf root: Int64? = nil,
        toastable: [String] = [],
        owned: Bool = true
    ) -> CatalogRelation {
        CatalogRelation(
            oid: oid,
            name: TableName(schema: schema, name),
            kind: kind,
            isUnlogged: unlogged,
            replicaIdentity: identity,
            hasPrimaryKey: primaryKey,
            isPartition: root != nil,
            partitionRoot: root,
            canSelect: true,
            isOwned: owned,
            toastableColumns: toastable
        )
    }

    static let noBookkeeping = BookkeepingFacts(
        schema: "siphon",
        schemaExists: false,
        canCreateInSchema: false,
        tableExists: false,
        records: []
    )
}

@Suite struct SetupPlanTests {
    func plan(
        _ tables: TableSelection,
        identity: ReplicaIdentityChoice = .default,
        server: ServerFacts = Facts.server,
        relations: [CatalogRelation],
        slot: SlotFacts? = nil,
        publication: PublicationFacts? = nil
    ) throws(SiphonError) -> SetupPlan {
        try SetupPlan(
            options: SetupOptions(slot: "s", publication: "p", tables: tables, replicaIdentity: identity),
            server: server,
            relations: relations,
            slot: slot,
            publication: publication,
            bookkeeping: Facts.noBookkeeping
        )
    }

    @Test func wildcardsExpandToSortedLoggedTablesAndPartitionedRoots() throws {
        let relations = [
            Facts.table("sales", "orders", oid: 1),
            Facts.table("sales", "order_items", oid: 2),
            Facts.table("sales", "order_log", oid: 3, unlogged: true),
            Facts.table("sales", "order_v", oid: 4, kind: .view),
            Facts.table("sales", "order_parts", oid: 5, kind: .partitionedTable),
            Facts.table("sales", "order_parts_2024", oid: 6, partitionOf: 5),
            Facts.table("public", "order_x", oid: 7),
        ]
        let plan = try self.plan(try TableSelection(parsing: ["sales.order*"]), relations: relations)
        #expect(
            plan.tables.published.map(\.name.description) == ["sales.order_items", "sales.order_parts", "sales.orders"]
        )
        #expect(plan.tables.identityTargets.map(\.name.table) == ["order_items", "order_parts_2024", "orders"])
        #expect(
            plan.tables.notes == [
                "sales.order* skips unlogged table sales.order_log (unlogged tables are not written to the WAL, so "
                    + "they cannot be replicated)"
            ]
        )
        #expect(
            plan.publication
                == .create("CREATE PUBLICATION p FOR TABLE sales.order_items, sales.order_parts, sales.orders")
        )
        #expect(plan.createSchema && plan.createObjectsTable && plan.slot == .create)
    }

    @Test func siphonsOwnSchemasAreNeverSelected() throws {
        let relations = [
            Facts.table("public", "orders", oid: 1),
            Facts.table("siphon", "dead_letters", oid: 2),
            Facts.table("meta", "objects", oid: 3),
        ]
        var server = Facts.server
        server.isSuperuser = true
        func published(_ tables: TableSelection) throws -> [String] {
            try SetupPlan(
                options: SetupOptions(slot: "s", publication: "p", tables: tables, schema: "meta"),
                server: server,
                relations: relations,
                slot: nil,
                publication: nil,
                bookkeeping: Facts.noBookkeeping
            ).tables.published.map(\.name.description)
        }
        // Dead letters stay in `siphon` whatever the bookkeeping schema is; a captured dead letter would be parked
        // again while the sink fails.
        #expect(try published(try TableSelection(parsing: ["*.*"])) == ["public.orders"])
        #expect(try published(.allTables) == ["public.orders"])
        let error = #expect(throws: SiphonError.self) {
            try published(try TableSelection(parsing: ["public.orders", "siphon.dead_letters"]))
        }
        #expect(
            error?.message.contains("table siphon.dead_letters is in Siphon's own schema siphon and cannot be captured")
                == true
        )
    }

    @Test func postgres12PublishesPartitionsInsteadOfTheirRoot() throws {
        var server = Facts.server
        server.versionNumber = 120020
        server.isSuperuser = true
        let relations = [
            Facts.table("public", "m", oid: 5, kind: .partitionedTable),
            Facts.table("public", "m_1", oid: 6, partitionOf: 5),
        ]
        let plan = try self.plan(.allTables, server: server, relations: relations)
        #expect(plan.tables.published.map(\.name.table) == ["m_1"])
    }

    @Test func partitionWithoutKeyIsRefusedThroughItsRoot() {
        let relations = [
            Facts.table("public", "m", oid: 5, kind: .partitionedTable, primaryKey: false),
            Facts.table("public", "m_1", oid: 6, primaryKey: false, partitionOf: 5),
        ]
        let error = #expect(throws: SiphonError.self) {
            try self.plan(try TableSelection(parsing: ["m"]), relations: relations)
        }
        #expect(error?.message.hasPrefix("siphon setup created nothing: table public.m_1 has no primary key") == true)
    }

    @Test func serverSettingsAndCapacityAreValidatedFirst() {
        var server = Facts.server
        server.walLevel = "replica"
        server.usedReplicationSlots = 10
        server.hasReplication = false
        let error = #expect(throws: SiphonError.self) {
            try self.plan(.allTables, server: server, relations: [Facts.table("public", "t", oid: 1)])
        }
        #expect(
            error?.message == """
                siphon setup created nothing because of 4 problems:
                - wal_level is 'replica', but logical replication needs 'logical'; run ALTER SYSTEM SET wal_level = \
                logical; and restart PostgreSQL
                - publishing all tables (FOR ALL TABLES) needs a superuser, and role app is not one; name the tables \
                instead (e.g. 'public.*')
                - role app has neither REPLICATION nor superuser, which creating a replication slot needs; as a \
                superuser run: ALTER ROLE app REPLICATION;
                - all 10 replication slots are in use (max_replication_slots); drop unused ones (SELECT \
                pg_drop_replication_slot('<name>');) or raise it: ALTER SYSTEM SET max_replication_slots = 14; and \
                restart
                """
        )
        #expect(error?.code == .serverError)
    }

    @Test func existingSlotWithAnotherPluginIsRefused() {
        let slot = SlotFacts(
            name: "s",
            plugin: "wal2json",
            isLogical: true,
            database: "shop",
            isTemporary: false,
            isActive: false,
            activePID: nil,
            holderApplication: nil,
            walStatus: "reserved",
            retainedBytes: 0
        )
        let error = #expect(throws: SiphonError.self) {
            try self.plan(.allTables, relations: [], slot: slot)
        }
        #expect(
            error?.message
                == "siphon setup created nothing because of 2 problems:\n- publishing all tables (FOR ALL TABLES) "
                + "needs a superuser, and role app is not one; name the tables instead (e.g. 'public.*')\n"
                + "- replication slot s exists but uses the plugin 'wal2json' instead of pgoutput; choose another "
                + "slot name, or drop it: SELECT pg_drop_replication_slot('s');"
        )
        #expect(error?.code == .authenticationFailed)
    }

    @Test func nothingToCreateNeedsNoBookkeeping() throws {
        let slot = SlotFacts(
            name: "s",
            plugin: "pgoutput",
            isLogical: true,
            database: "shop",
            isTemporary: false,
            isActive: false,
            activePID: nil,
            holderApplication: nil,
            walStatus: "reserved",
            retainedBytes: 0
        )
        let publication = PublicationFacts(
            name: "p",
            allTables: false,
            tables: [TableName("t")],
            operations: ["insert": true, "update": true, "delete": true, "truncate": true]
        )
        let plan = try self.plan(
            try TableSelection(parsing: ["t"]),
            relations: [Facts.table("public", "t", oid: 1)],
            slot: slot,
            publication: publication
        )
        #expect(!plan.changesCatalog)
        #expect(!plan.createSchema)
        #expect(plan.publication == .exists(differences: [], recorded: false))
    }

    @Test func slotNamesFollowPostgreSQLRules() throws {
        try SiphonAdmin.validateSlotName("orders_cdc_2")
        let error = #expect(throws: SiphonError.self) { try SiphonAdmin.validateSlotName("Orders-CDC") }
        #expect(
            error?.message
                == "invalid replication slot name 'Orders-CDC': PostgreSQL allows only lower-case letters, digits and "
                + "underscores, 1 to 63 characters"
        )
    }

    @Test func closeMatchesRankTyposAndOtherSchemas() {
        let relations = [
            Facts.table("public", "orders", oid: 1), Facts.table("sales", "orders", oid: 2),
            Facts.table("public", "customers", oid: 3), Facts.table("public", "Orders", oid: 4),
        ]
        #expect(
            ResolvedTables.closeMatches(for: TableName("ordrs"), in: relations).map(\.description)
                == ["public.\"Orders\"", "public.orders", "sales.orders"]
        )
        #expect(ResolvedTables.closeMatches(for: TableName("invoices"), in: relations).isEmpty)
    }
}
