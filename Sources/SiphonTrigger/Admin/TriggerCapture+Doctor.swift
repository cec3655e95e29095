// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Logging
import SiphonCore
import SiphonReplication

/// One check of `TriggerCapture.doctor`: the same type as `siphon doctor`'s checks, so both modes print and
/// serialise alike. Names in trigger mode: `trigger_objects`, `trigger_tables`, `trigger_privileges`,
/// `trigger_missing`, `trigger_stale`, `trigger_unconfigured`, `primary_key`, `outbox_backlog`, `commit_time`.
public typealias TriggerCheck = DoctorReport.Check

extension TriggerCapture {
    /// Checks that trigger capture for `specification` is in place and current: the outbox or notify function
    /// exists, every configured table has its triggers, no trigger was generated for columns or a key the table no
    /// longer has, no table carries triggers it is not configured for, and (outbox) each consumer group keeps up.
    public static func doctor(
        _ specification: CaptureSpecification, settings: ConnectionSettings, logger: Logger
    ) async throws -> [TriggerCheck] {
        try Self.validate(specification)
        return try await ServerConnection.withConnection(settings: settings, replication: false, logger: logger) {
            connection in
            try await Doctor(specification: specification, connection: connection).run()
        }
    }
}

private struct Doctor {
    let specification: CaptureSpecification
    let connection: ServerConnection

    /// The generated trigger as the catalog holds it.
    struct InstalledTrigger {
        var name: String
        var table: TableName
        var comment: String?
    }

    func run() async throws -> [TriggerCheck] {
        var checks: [TriggerCheck] = []
        let setup = "siphon setup --mode trigger (or apply the migration from siphon sql)"
        let objects = try await TriggerCapture.installedObjects(of: self.specification, connection: self.connection)
        let expected = TriggerCapture.objects(of: self.specification, tables: []).filter { $0.kind != .trigger }
        let missing = expected.filter { object in !objects.contains { $0.kind == object.kind && $0.name == object.name } }
        if missing.isEmpty {
            checks.append(
                TriggerCheck(
                    name: "trigger_objects", status: .ok,
                    message: "\(self.specification.target) is in place in schema \(self.specification.schema)"))
        } else {
            checks.append(
                TriggerCheck(
                    name: "trigger_objects", status: .error,
                    message: "missing: " + missing.map(\.description).joined(separator: ", "), fix: setup))
        }

        let catalog = TriggerCatalog(connection: self.connection)
        let resolved: [CapturedTable]
        do {
            resolved = try await catalog.resolve(self.specification).tables
            checks.append(
                TriggerCheck(
                    name: "trigger_tables", status: .ok,
                    message: "\(resolved.count) table(s) configured: "
                        + resolved.map(\.name.description).joined(separator: ", ")))
        } catch let error as SiphonError where error.code == .invalidConfiguration {
            let privileges = error.message.contains("may not create triggers")
            checks.append(
                TriggerCheck(
                    name: privileges ? "trigger_privileges" : "trigger_tables", status: .error, message: error.message))
            return checks
        }

        let installed = try await self.installedTriggers()
        let triggerName = self.triggerName
        for table in resolved {
            let subject = table.name.description
            let have = installed.filter { $0.table == table.name }
            let wanted = TriggerSQL.events(for: table)
            let absent = wanted.filter { event in !have.contains { $0.name == triggerName(event) } }
            let fixSQL = TriggerSQL.createTriggers(
                for: table, function: self.function, triggerName: triggerName,
                leadingArguments: self.leadingArguments, captureOwnWrites: self.specification.captureOwnWrites
            ).joined(separator: ";\n") + ";"
            if !absent.isEmpty {
                checks.append(
                    TriggerCheck(
                        name: "trigger_missing", subject: subject, status: .error,
                        message: "no trigger for " + absent.map(\.noun).joined(separator: ", ")
                            + ": those changes are not captured", fix: fixSQL))
            }
            for trigger in have {
                guard let recorded = trigger.comment.flatMap(TriggerSQL.parseTriggerComment) else { continue }
                if recorded.key != table.key {
                    checks.append(
                        TriggerCheck(
                            name: "trigger_stale", subject: subject, status: .error,
                            message: "trigger \(trigger.name) was generated for the key ("
                                + recorded.key.joined(separator: ", ") + ") but the key is now ("
                                + table.key.joined(separator: ", ") + "): changes carry the wrong key",
                            fix: fixSQL))
                    break
                }
                if recorded.columns != table.columns {
                    let added = table.columns.filter { !recorded.columns.contains($0) }
                    let dropped = recorded.columns.filter { !table.columns.contains($0) }
                    var changes: [String] = []
                    if !added.isEmpty { changes.append("added " + added.joined(separator: ", ")) }
                    if !dropped.isEmpty { changes.append("dropped " + dropped.joined(separator: ", ")) }
                    if changes.isEmpty { changes.append("reordered") }
                    checks.append(
                        TriggerCheck(
                            name: "trigger_stale", subject: subject, status: .warning,
                            message: "columns changed since trigger \(trigger.name) was generated ("
                                + changes.joined(separator: "; ")
                                + "); rows still carry every column, but regenerate it so its choices are reviewed",
                            fix: fixSQL))
                    break
                }
            }
            if absent.isEmpty && !checks.contains(where: { $0.name == "trigger_stale" && $0.subject == subject }) {
                checks.append(
                    TriggerCheck(
                        name: "trigger_missing", subject: subject, status: .ok,
                        message: "triggers for " + wanted.map(\.noun).joined(separator: ", ")))
            }
            if table.keySource == .allColumns {
                checks.append(
                    TriggerCheck(
                        name: "primary_key", subject: subject, status: .warning,
                        message: "no primary key: the key of its changes is the whole row",
                        fix: "ALTER TABLE \(table.name) ADD PRIMARY KEY (…); then siphon setup --mode trigger again"))
            }
        }

        let configured = Set(resolved.map(\.name))
        for table in Set(installed.map(\.table)).subtracting(configured).sorted() {
            let names = installed.filter { $0.table == table }.map(\.name)
            checks.append(
                TriggerCheck(
                    name: "trigger_unconfigured", subject: table.description, status: .warning,
                    message: "has triggers of \(self.specification.target) but is not in the configuration: its "
                        + "changes are still captured",
                    fix: names.map { "DROP TRIGGER \(SQLQuoting.identifier($0)) ON \(table);" }.joined(separator: " ")))
        }

        if case .outbox(let name) = self.specification.target, missing.isEmpty {
            checks += try await self.outboxChecks(OutboxNames(schema: self.specification.schema, name: name))
        }
        return checks
    }

    private var function: String {
        switch self.specification.target {
        case .outbox(let name): return OutboxNames(schema: self.specification.schema, name: name).function
        case .notify(let channel): return NotifyNames(schema: self.specification.schema, channel: channel).function
        }
    }

    private var triggerName: (TriggerEvent) -> String {
        switch self.specification.target {
        case .outbox(let name): return OutboxNames(schema: self.specification.schema, name: name).trigger
        case .notify(let channel): return NotifyNames(schema: self.specification.schema, channel: channel).trigger
        }
    }

    private var leadingArguments: [String] {
        if case .notify(let channel) = self.specification.target { return [channel] }
        return []
    }

    /// The triggers of this outbox or channel, on any table.
    private func installedTriggers() async throws -> [InstalledTrigger] {
        let names = TriggerEvent.allCases.map { self.triggerName($0) }
        let placeholders = ServerConnection.placeholders(from: 2, count: names.count)
        let result = try await self.connection.query(
            """
            SELECT t.tgname, n.nspname, c.relname, obj_description(t.oid, 'pg_trigger')
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE t.tgfoid = to_regprocedure($1) AND t.tgname IN (\(placeholders))
            ORDER BY n.nspname, c.relname, t.tgname
            """, parameters: [self.function + "()"] + names)
        let order = Dictionary(
            uniqueKeysWithValues: TriggerEvent.allCases.enumerated().map { (self.triggerName($0.element), $0.offset) })
        return result.rows.map {
            InstalledTrigger(name: $0[0] ?? "", table: TableName(schema: $0[1] ?? "", $0[2] ?? ""), comment: $0[3])
        }.sorted { ($0.table, order[$0.name] ?? 0) < ($1.table, order[$1.name] ?? 0) }
    }

    /// Per consumer group: how many changes wait and since when, and whether a reader is connected.
    private func outboxChecks(_ names: OutboxNames) async throws -> [TriggerCheck] {
        var checks: [TriggerCheck] = []
        let groups = try await self.connection.simpleQuery(
            "SELECT DISTINCT group_name, partitions FROM \(names.cursorsTable) ORDER BY 1")
        for row in groups.rows {
            guard let group = row[0], let partitions = row[1].flatMap({ Int($0) }) else { continue }
            let queries = OutboxQueries(
                schema: names.schema, outbox: names.name, group: ConsumerGroup(name: group, partitions: partitions))
            // The group name was read from the cursors table, which readers write: a parameter, never SQL.
            let backlog = try await self.connection.query(
                """
                SELECT count(o.id), coalesce(extract(epoch FROM now() - min(o.changed_at))::bigint, 0),
                       (SELECT count(*) FROM (\(queries.members)) AS m)
                FROM \(names.cursorsTable) AS c
                LEFT JOIN \(names.table) AS o ON o.xid >= txid_snapshot_xmin(c.delivered)
                    AND NOT txid_visible_in_snapshot(o.xid, c.delivered)
                    AND (c.partitions = 1 OR (hashtext(o.key::text) & 2147483647) % c.partitions = c.partition)
                WHERE c.group_name = $1
                """, parameters: [group])
            let count = backlog.rows.first?[0].flatMap { Int($0) } ?? 0
            let age = backlog.rows.first?[1].flatMap { Int($0) } ?? 0
            let readers = backlog.rows.first?[2].flatMap { Int($0) } ?? 0
            let status: TriggerCheck.Status = count > 0 && (readers == 0 || age > 300) ? .warning : .ok
            checks.append(
                TriggerCheck(
                    name: "outbox_backlog", subject: group, status: status,
                    message: "\(count) change(s) waiting" + (count > 0 ? ", the oldest for \(age) s" : "")
                        + "; \(readers) reader(s) connected"
                        + (status == .warning && readers == 0
                            ? "; changes are kept until a reader of this group delivers them (remove an abandoned "
                                + "group, or the outbox grows)" : ""),
                    fix: status == .warning && readers == 0
                        ? "siphon run --mode trigger --group \(group) (or, if the group is abandoned: DELETE FROM "
                            + "\(names.cursorsTable) WHERE group_name = \(SQLQuoting.literal(group));)" : nil))
        }
        let commitTimestamps = try await self.connection.simpleQuery("SHOW track_commit_timestamp")
        let on = commitTimestamps.rows.first?[0] == "on"
        checks.append(
            TriggerCheck(
                name: "commit_time", status: .ok,
                message: on
                    ? "track_commit_timestamp is on: commit_time is the transaction's commit time"
                    : "track_commit_timestamp is off: commit_time is when the row changed (shortly before the commit); "
                        + "set it on for exact commit times (needs a restart)"))
        return checks
    }
}
