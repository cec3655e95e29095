// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonAdmin
import SiphonCore
import SiphonEngine
import SiphonReplication
import SiphonTrigger

/// What to sync, between which databases, and how.
public struct SyncConfiguration: Sendable {
    /// Names the sync's objects (slots, publications, origins, progress rows); several syncs between the same
    /// databases need different names.
    public var name: String
    /// Where the tables' changes are read (and, for a two-way sync, also applied).
    public var source: ConnectionSettings
    /// Where they are applied (and, for a two-way sync, also read).
    public var target: ConnectionSettings
    public var tables: [TableName]
    /// Also apply the target's changes to the source, without sending anything back and forth.
    public var bothWays: Bool
    /// How each side's changes are read: a logical slot, or a trigger outbox where logical replication is not
    /// available. `targetCapture` matters only for a two-way sync.
    public var sourceCapture: SyncCapture
    public var targetCapture: SyncCapture
    /// Copy the rows the source's tables hold (through the snapshot machinery) before and beside their changes.
    public var initialCopy: Bool
    /// For a two-way sync whose every table has a `newest` conflict rule: copy each side's rows to the other, so
    /// tables that already hold different data end as their union, the rule's newer row where both hold a key.
    public var mergeInitialCopy: Bool
    /// Create tables missing on the target from the source's columns and primary key.
    public var createMissingTables: Bool
    /// How each table resolves rows both sides wrote (see `ConflictRule`); a table without one: the source wins.
    public var conflictRules: [TableName: ConflictRule]
    /// Changes per target transaction, at most.
    public var batchSize: Int
    public var snapshots: SnapshotOptions

    public init(
        name: String = "default", source: ConnectionSettings, target: ConnectionSettings, tables: [TableName],
        bothWays: Bool = false, sourceCapture: SyncCapture = .logical, targetCapture: SyncCapture = .logical,
        initialCopy: Bool = true, mergeInitialCopy: Bool = false, createMissingTables: Bool = false,
        conflictRules: [TableName: ConflictRule] = [:], batchSize: Int = 5000, snapshots: SnapshotOptions = SnapshotOptions()
    ) {
        self.conflictRules = conflictRules
        self.mergeInitialCopy = mergeInitialCopy
        self.sourceCapture = sourceCapture
        self.targetCapture = targetCapture
        self.name = name
        self.source = source
        self.target = target
        self.tables = tables
        self.bothWays = bothWays
        self.initialCopy = initialCopy
        self.createMissingTables = createMissingTables
        self.batchSize = batchSize
        self.snapshots = snapshots
    }

    /// The directions this sync runs: source → target, and target → source for a two-way sync.
    public var directions: [SyncDirection] {
        let forward = SyncDirection(
            source: self.source, target: self.target, syncName: self.name, isReverse: false, capture: self.sourceCapture)
        guard self.bothWays else { return [forward] }
        let reverse = SyncDirection(
            source: self.target, target: self.source, syncName: self.name, isReverse: true, capture: self.targetCapture)
        return [forward, reverse]
    }
}

/// Table sync between two PostgreSQL databases: `prepare` checks both sides and creates what the sync needs,
/// `makePipelines` builds one pipeline per direction (a logical replication source, a `SyncApplySink`), and
/// `teardown` removes it all again.
public struct TableSync: Sendable {
    public let configuration: SyncConfiguration
    let logger: Logger

    public init(configuration: SyncConfiguration, logger: Logger) throws {
        try SyncDirection.validate(name: configuration.name)
        guard !configuration.tables.isEmpty else {
            throw SiphonError(.invalidConfiguration, "name the tables to sync with --table (repeatable)")
        }
        if let stray = configuration.conflictRules.keys.first(where: { !configuration.tables.contains($0) }) {
            throw SiphonError(.invalidConfiguration, "a conflict rule names \(stray), which is not synced")
        }
        if configuration.mergeInitialCopy {
            // Without a rule, copying both ways would swap the values of keys both sides hold.
            let ruled = configuration.tables.allSatisfy { configuration.conflictRules[$0]?.resolution == .newest }
            guard configuration.bothWays, configuration.initialCopy, ruled else {
                throw SiphonError(
                    .invalidConfiguration,
                    "merging the tables' rows needs --both-ways and a newest:COLUMN conflict rule for every table "
                        + "(--conflict newest:updated_at), so that where both sides hold a key the newer row wins on both")
            }
        }
        guard configuration.batchSize > 0 else {
            throw SiphonError(.invalidConfiguration, "the batch size must be positive, not \(configuration.batchSize)")
        }
        self.configuration = configuration
        self.logger = logger
    }

    /// Checks that the tables match on both sides (creating missing target tables when configured), then creates
    /// what each direction needs, each object only when missing: on the side it reads, a publication and a slot
    /// (recorded like `siphon setup`'s, in the direction's own bookkeeping schema) or a trigger outbox; on the side
    /// it writes, the replication origin and `siphon.sync_progress`. Starts the initial copy of tables never copied
    /// before.
    public func prepare() async throws {
        let missing = try await self.checkTables()
        try await self.checkWritePrivileges()
        try await self.createOnTarget(missing)
        for direction in self.configuration.directions {
            switch direction.capture {
            case .logical:
                _ = try await SiphonAdmin.setup(
                    SetupOptions(
                        slot: direction.slot, publication: direction.publication,
                        tables: try TableSelection(parsing: self.configuration.tables.map(\.description)),
                        schema: direction.bookkeepingSchema, command: "siphon sync"),
                    settings: direction.source, logger: self.logger)
            case .trigger:
                try await Self.retryingDeadlocks {
                    _ = try await TriggerCapture.apply(self.outboxCapture(direction), settings: direction.source, logger: self.logger)
                }
            }
            try await ServerConnection.withConnection(
                settings: direction.target, replication: false, logger: self.logger
            ) { connection in
                try await connection.simpleQuery(SyncApplySink.progressTableSQL)
                try await connection.simpleQuery(ConflictRule.tableSQL)
                try await connection.query(
                    """
                    SELECT pg_replication_origin_create($1)
                    WHERE NOT EXISTS (SELECT FROM pg_replication_origin WHERE roname = $1)
                    """, parameters: [direction.origin])
            }
        }
        if self.configuration.bothWays {
            for finding in try await self.sequencePlan().findings {
                self.logger.warning(
                    "Both sides' sequences will hand out the same ids; see siphon sync --plan-sequences",
                    metadata: ["finding": "\(finding)"])
            }
        }
        guard self.configuration.initialCopy else { return }
        for direction in self.copyingDirections {
            switch direction.capture {
            case .logical:
                _ = try await SnapshotRequests.request(
                    self.configuration.tables, slot: direction.slot, publications: [direction.publication],
                    settings: direction.source, initialOnly: true, logger: self.logger)
            case .trigger:
                try await OutboxCopy(direction: direction, tables: self.configuration.tables, logger: self.logger).runOnce()
            }
        }
    }

    /// The directions whose source rows are copied: the forward one, and for a merge the reverse one too (without
    /// a rule, copying both ways would swap the values of keys both sides hold).
    var copyingDirections: [SyncDirection] {
        let directions = self.configuration.directions
        return self.configuration.mergeInitialCopy ? directions : Array(directions.prefix(1))
    }

    /// The trigger capture a direction reads from a side without logical replication: an outbox of the sync's own,
    /// read by one consumer group.
    func outboxCapture(_ direction: SyncDirection) -> CaptureSpecification {
        CaptureSpecification(
            target: .outbox(name: direction.outbox),
            tables: self.configuration.tables.map { TableCapture(TablePattern($0)) },
            groups: [ConsumerGroup(name: SyncDirection.outboxGroup)])
    }

    /// Runs `work` (DDL on tables the application keeps writing) again when the server broke a deadlock by failing
    /// it: it took its locks in a different order than a transaction running beside it, and nothing of it stayed.
    static func retryingDeadlocks(_ work: () async throws -> Void) async throws {
        var attempt = 1
        while true {
            do {
                return try await work()
            } catch let error as SiphonError where error.serverError?.sqlState == "40P01" && attempt < 5 {
                attempt += 1
                try await Task.sleep(for: .milliseconds(100 * attempt))
            }
        }
    }

    /// One pipeline per direction. Run them together (e.g. `SiphonService.run(first, alongside: rest)`).
    public func makePipelines() -> [Pipeline] {
        self.configuration.directions.map { direction in
            let options = PipelineOptions(
                deadLetters: direction.source, filter: ChangeFilter(tables: self.configuration.tables.map(TablePattern.init)),
                maxBatchSize: self.configuration.batchSize,
                // A change the target refuses stops the sync: parking it would leave the two sides apart for good.
                delivery: DeliveryPolicy(maxAttempts: 3, poisonAction: .stop))
            let tables = self.configuration.tables
            let rules = self.configuration.conflictRules
            let logger = self.logger
            let openSinks: @Sendable () throws -> [any ChangeSink] = {
                [SyncApplySink(direction: direction, tables: tables, rules: rules, logger: logger)]
            }
            switch direction.capture {
            case .logical:
                let source = LogicalReplicationSource(
                    configuration: LogicalReplicationConfiguration(
                        connection: direction.source, slot: direction.slot, publications: [direction.publication],
                        snapshots: direction.isReverse && !self.configuration.mergeInitialCopy
                            ? nil : self.configuration.snapshots),
                    logger: logger)
                return Pipeline(source: source, options: options, logger: logger, openSinks: openSinks)
            case .trigger:
                let source = OutboxSource(
                    configuration: OutboxConfiguration(
                        connection: direction.source, outbox: direction.outbox,
                        group: ConsumerGroup(name: SyncDirection.outboxGroup), batchSize: self.configuration.batchSize),
                    logger: logger)
                return Pipeline(source: source, options: options, logger: logger, openSinks: openSinks)
            }
        }
    }

    /// Removes what `prepare` created, each direction's reading side first (slot, publication, snapshot records),
    /// then its writing side (progress row, origin). The tables and their rows stay.
    public func teardown(force: Bool = false) async throws {
        for direction in self.configuration.directions {
            switch direction.capture {
            case .logical:
                _ = try await SiphonAdmin.teardown(
                    TeardownOptions(force: force, schema: direction.bookkeepingSchema), settings: direction.source,
                    logger: self.logger)
                _ = try await SnapshotRequests.forget(slot: direction.slot, settings: direction.source, logger: self.logger)
            case .trigger:
                try await Self.retryingDeadlocks {
                    _ = try await TriggerCapture.remove(self.outboxCapture(direction), settings: direction.source, logger: self.logger)
                }
            }
            try await ServerConnection.withConnection(
                settings: direction.target, replication: false, logger: self.logger
            ) { connection in
                try await connection.query(
                    """
                    SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin WHERE roname = $1
                    """, parameters: [direction.origin])
                let progressExists = try await connection.query(
                    "SELECT to_regclass('siphon.sync_progress') IS NOT NULL", parameters: []
                ).rows.first?.first == "t"
                if progressExists {
                    try await connection.query(
                        "DELETE FROM siphon.sync_progress WHERE name = $1", parameters: [direction.progressKey])
                }
            }
        }
    }

    /// Reads the sequences that fill the synced columns on both sides and plans how to keep their ids apart (see
    /// `SequencePlan`).
    public func sequencePlan() async throws -> SequencePlan {
        let tables = self.configuration.tables
        let source = try await ServerConnection.withConnection(
            settings: self.configuration.source, replication: false, logger: self.logger
        ) { try await Self.sequences(of: tables, on: $0) }
        let target = try await ServerConnection.withConnection(
            settings: self.configuration.target, replication: false, logger: self.logger
        ) { try await Self.sequences(of: tables, on: $0) }
        return SequencePlan(source: source, target: target, bothWays: self.configuration.bothWays)
    }

    /// Runs the plan's statements on each side.
    public func apply(_ plan: SequencePlan) async throws {
        for (settings, statements) in [
            (self.configuration.source, plan.sourceStatements), (self.configuration.target, plan.targetStatements),
        ] where !statements.isEmpty {
            try await ServerConnection.withConnection(settings: settings, replication: false, logger: self.logger) {
                connection in
                for statement in statements { try await connection.simpleQuery(statement) }
            }
        }
    }

    /// The sequences owned by columns of `tables` (serial and identity columns), with each column's largest value.
    static func sequences(of tables: [TableName], on connection: ServerConnection) async throws -> [SequenceState] {
        var states: [SequenceState] = []
        for table in tables {
            let rows = try await connection.query(
                """
                SELECT a.attname, sn.nspname, sc.relname, s.seqincrement
                FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                JOIN pg_depend d ON d.refobjid = c.oid AND d.refobjsubid = a.attnum
                    AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                    AND d.deptype IN ('a', 'i')
                JOIN pg_class sc ON sc.oid = d.objid AND sc.relkind = 'S'
                JOIN pg_namespace sn ON sn.oid = sc.relnamespace
                JOIN pg_sequence s ON s.seqrelid = sc.oid
                WHERE n.nspname = $1 AND c.relname = $2
                ORDER BY a.attnum
                """, parameters: [table.schema, table.table]
            ).rows
            for row in rows {
                guard let column = row[0], let schema = row[1], let name = row[2],
                    let increment = row[3].flatMap({ Int64($0) })
                else { continue }
                // The sequence itself says what comes next (after ALTER SEQUENCE … RESTART, not yet called).
                let position = try await connection.simpleQuery(
                    "SELECT last_value, is_called FROM \(SQLQuoting.identifier(schema)).\(SQLQuoting.identifier(name))"
                ).rows.first
                guard let last = position?[0].flatMap({ Int64($0) }) else { continue }
                let largest = try await connection.simpleQuery(
                    "SELECT max(\(SQLQuoting.identifier(column)))::text FROM "
                        + "\(SQLQuoting.identifier(table.schema)).\(SQLQuoting.identifier(table.table))"
                ).rows.first?.first ?? nil
                states.append(
                    SequenceState(
                        table: table, column: column, schema: schema, name: name, increment: increment,
                        nextValue: position?[1] == "t" ? last + increment : last,
                        largestInTable: largest.flatMap { Int64($0) }))
            }
        }
        return states
    }

    /// The role of every side a direction writes may do what applying needs; the error lists every missing
    /// privilege with its `GRANT`.
    private func checkWritePrivileges() async throws {
        var problems: [String] = []
        for direction in self.configuration.directions {
            let side = direction.isReverse ? "source" : "target"
            problems += try await ServerConnection.withConnection(
                settings: direction.target, replication: false, logger: self.logger
            ) { try await SyncPrivileges.problems(writing: self.configuration.tables, side: side, on: $0) }
        }
        guard problems.isEmpty else {
            throw SiphonError(
                .invalidConfiguration,
                "the sync cannot apply changes:\n  " + problems.joined(separator: "\n  "))
        }
    }

    /// Both sides have every table, with the same columns and types and the same primary key; the error lists
    /// every difference with its fix. Returns the source's shape of the tables the target lacks and may be given
    /// (`createMissingTables`): they are created only once every check passed.
    private func checkTables() async throws -> [SyncTable] {
        let configuration = self.configuration
        let logger = self.logger
        var sourceTables: [SyncTable] = []
        try await ServerConnection.withConnection(settings: configuration.source, replication: false, logger: logger) {
            connection in
            for name in configuration.tables {
                guard let table = try await SyncTable.resolve(name, side: "source", on: connection) else {
                    throw SiphonError(.invalidConfiguration, "table \(name) does not exist on the source")
                }
                if let rule = configuration.conflictRules[name],
                    !table.columns.contains(where: { $0.name.utf8.elementsEqual(rule.column.utf8) })
                {
                    throw SiphonError(
                        .invalidConfiguration,
                        "the conflict rule \(rule) of \(name) names a column the table does not have; name the column "
                            + "that orders a row's versions, such as updated_at")
                }
                sourceTables.append(table)
            }
        }
        let expected = sourceTables
        return try await ServerConnection.withConnection(
            settings: configuration.target, replication: false, logger: logger
        ) { connection in
            var problems: [String] = []
            var missing: [SyncTable] = []
            for source in expected {
                guard let target = try await SyncTable.resolve(source.name, side: "target", on: connection) else {
                    if configuration.createMissingTables {
                        missing.append(source)
                    } else {
                        problems.append(
                            "table \(source.name) does not exist on the target; create it, or pass --create-tables")
                    }
                    continue
                }
                problems += SyncSchema.differences(source: source, target: target)
            }
            guard problems.isEmpty else {
                throw SiphonError(
                    .invalidConfiguration,
                    "the tables differ between source and target:\n  " + problems.joined(separator: "\n  "))
            }
            return missing
        }
    }

    /// Creates `tables` on the target with the source's columns and primary key.
    private func createOnTarget(_ tables: [SyncTable]) async throws {
        guard !tables.isEmpty else { return }
        try await ServerConnection.withConnection(
            settings: self.configuration.target, replication: false, logger: self.logger
        ) { connection in
            for table in tables {
                try await connection.simpleQuery(SyncSchema.createTableSQL(like: table))
                self.logger.notice("Created the table on the target", metadata: ["pg.table": "\(table.name)"])
            }
        }
    }
}
