// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// A `TableSelection` expanded against the catalog: the tables to publish, the tables whose replica identity
/// matters, and what is wrong with the selection. Pure, so it is tested with plain values.
struct ResolvedTables: Sendable, Hashable {
    /// What `FOR TABLE` lists, sorted (for `allTables`: every table `FOR ALL TABLES` covers today).
    var published: [CatalogRelation] = []
    /// Where old-row identity matters: plain tables, and the leaf partitions of partitioned ones (pgoutput logs
    /// changes against the partitions).
    var identityTargets: [CatalogRelation] = []
    /// Reasons the selection cannot be set up (missing tables, views, unlogged tables, …).
    var problems: [String] = []
    /// Things a person should know that do not stop setup (tables a wildcard skipped).
    var notes: [String] = []

    init(
        _ selection: TableSelection,
        relations: [CatalogRelation],
        serverVersion: Int,
        bookkeepingSchema: String
    ) {
        // Siphon's own tables are never captured: a dead letter captured again is parked again while the sink fails.
        let ownSchemas: Set<String> = [bookkeepingSchema, SiphonAdmin.deadLetterSchema]
        let publishable = relations.filter {
            Self.isPublishable($0, serverVersion: serverVersion) && !ownSchemas.contains($0.name.schema)
        }
        var chosen: [CatalogRelation] = []
        switch selection {
        case .allTables:
            chosen = publishable
        case .matching(let patterns):
            if patterns.isEmpty {
                self.problems.append(
                    "no tables selected: name tables (e.g. public.orders, or 'public.*' for a whole schema) or "
                        + "choose all tables"
                )
            }
            for pattern in patterns {
                if let name = pattern.exactName {
                    if ownSchemas.contains(name.schema) {
                        self.problems.append(
                            "table \(name) is in Siphon's own schema \(SQLQuoting.identifier(name.schema)) and cannot "
                                + "be captured"
                        )
                        continue
                    }
                    if let relation = self.exactTable(name, relations: relations, serverVersion: serverVersion) {
                        chosen.append(relation)
                    }
                    continue
                }
                let matches = publishable.filter { pattern.matches($0.name) }
                let skipped = relations.filter {
                    pattern.matches($0.name) && $0.isUnlogged && ($0.kind == .table || $0.kind == .partitionedTable)
                }
                if !skipped.isEmpty {
                    self.notes.append(
                        "\(pattern) skips unlogged \(skipped.count == 1 ? "table" : "tables") "
                            + skipped.map(\.name.description).joined(separator: ", ")
                            + " (unlogged tables are not written to the WAL, so they cannot be replicated)"
                    )
                }
                if matches.isEmpty {
                    self.problems.append("\(pattern) matches no table")
                }
                chosen += matches
            }
        }
        var seen: Set<Int64> = []
        self.published = chosen.filter { seen.insert($0.oid).inserted }.sorted { $0.name < $1.name }
        var targetOIDs: Set<Int64> = []
        for relation in self.published {
            let targets =
                relation.kind == .partitionedTable && !relation.isPartition
                ? relations.filter { $0.partitionRoot == relation.oid && $0.kind == .table }
                : [relation]
            for target in targets where target.kind == .table && targetOIDs.insert(target.oid).inserted {
                self.identityTargets.append(target)
            }
        }
    }

    /// The tables a wildcard or `FOR ALL TABLES` covers: logged tables, and on PostgreSQL 13+ partitioned tables
    /// as a whole instead of their partitions (PostgreSQL 12 cannot publish a partitioned table).
    static func isPublishable(_ relation: CatalogRelation, serverVersion: Int) -> Bool {
        guard !relation.isUnlogged else { return false }
        switch relation.kind {
        case .table: return !relation.isPartition || serverVersion < 130000
        case .partitionedTable: return !relation.isPartition && serverVersion >= 130000
        case .view, .materializedView, .foreignTable: return false
        }
    }

    private mutating func exactTable(
        _ name: TableName,
        relations: [CatalogRelation],
        serverVersion: Int
    ) -> CatalogRelation? {
        guard let relation = relations.first(where: { $0.name == name }) else {
            let matches = Self.closeMatches(for: name, in: relations)
            self.problems.append(
                "table \(name) does not exist"
                    + (matches.isEmpty
                        ? " (no table has a similar name)"
                        : "; close matches: " + matches.map(\.description).joined(separator: ", "))
            )
            return nil
        }
        switch relation.kind {
        case .table, .partitionedTable: break
        case .view, .materializedView, .foreignTable:
            self.problems.append(
                "\(name) is a \(relation.kind.noun), not a table; only tables can be published"
            )
            return nil
        }
        if relation.isUnlogged {
            self.problems.append(
                "table \(name) is UNLOGGED, so its changes never reach the WAL and cannot be replicated; "
                    + "make it logged: ALTER TABLE \(name) SET LOGGED;"
            )
            return nil
        }
        if relation.kind == .partitionedTable && serverVersion < 130000 {
            self.problems.append(
                "\(name) is a partitioned table, which PostgreSQL 12 cannot publish; name its partitions instead"
            )
            return nil
        }
        return relation
    }

    /// Up to three tables whose names are close to `name` (typos, a wrong schema, missing quotes around a
    /// mixed-case name), best first.
    static func closeMatches(for name: TableName, in relations: [CatalogRelation]) -> [TableName] {
        let wantedTable = Array(name.table.lowercased())
        let wantedFull = Array((name.schema + "." + name.table).lowercased())
        let limit = max(2, wantedTable.count / 3)
        let scored: [(score: Int, otherSchema: Int, name: TableName)] = relations.compactMap { relation in
            guard relation.kind == .table || relation.kind == .partitionedTable else { return nil }
            let full = Self.distance(wantedFull, Array((relation.name.schema + "." + relation.name.table).lowercased()))
            let tableOnly = Self.distance(wantedTable, Array(relation.name.table.lowercased())) + 1
            let score = min(full, tableOnly)
            guard score <= limit else { return nil }
            return (score, relation.name.schema == name.schema ? 0 : 1, relation.name)
        }
        return scored.sorted { ($0.score, $0.otherSchema, $0.name) < ($1.score, $1.otherSchema, $1.name) }
            .prefix(3).map(\.name)
    }

    /// Levenshtein distance.
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

extension CatalogRelation {
    /// Why UPDATE and DELETE on this table cannot be replicated, or `nil` when its replica identity is usable.
    var identityProblem: String? {
        switch self.replicaIdentity {
        case .full, .index(.some): return nil
        case .default: return self.hasPrimaryKey ? nil : "has no primary key (and REPLICA IDENTITY DEFAULT)"
        case .nothing: return "has REPLICA IDENTITY NOTHING"
        case .index(nil): return "has REPLICA IDENTITY USING INDEX, but that index was dropped"
        }
    }

    /// The SQL that fixes `identityProblem`, one statement per way to fix it, best first.
    var identityFixes: [String] {
        let full = "ALTER TABLE \(self.name) REPLICA IDENTITY FULL;"
        if self.hasPrimaryKey { return ["ALTER TABLE \(self.name) REPLICA IDENTITY DEFAULT;", full] }
        return ["ALTER TABLE \(self.name) ADD PRIMARY KEY (<key columns>);", full]
    }
}

/// How an existing publication differs from the tables Siphon is configured for.
struct PublicationComparison: Sendable, Hashable {
    /// Configured tables the publication does not publish: their changes would never arrive.
    var missing: [TableName] = []
    /// Published tables nobody configured: their changes arrive anyway.
    var extra: [TableName] = []
    /// The publication is `FOR ALL TABLES` but a list was configured, or the other way round.
    var allTablesMismatch: String?
    /// Operations the publication leaves out (`insert`, `update`, `delete`, `truncate`).
    var missingOperations: [String] = []

    init(
        _ publication: PublicationFacts,
        wanted: TableSelection,
        resolved: ResolvedTables,
        relations: [CatalogRelation],
        serverVersion: Int
    ) {
        let everything = Set(
            relations.filter { ResolvedTables.isPublishable($0, serverVersion: serverVersion) }.map(\.name)
        )
        let wantedNames = Set(resolved.published.map(\.name))
        switch (wanted, publication.allTables) {
        case (.allTables, true):
            break
        case (.allTables, false):
            self.allTablesMismatch = "it lists tables instead of publishing ALL TABLES"
            self.missing = everything.subtracting(publication.tables).sorted()
        case (.matching, true):
            self.allTablesMismatch = "it publishes ALL TABLES, not only the configured ones"
            self.extra = everything.subtracting(wantedNames).sorted()
        case (.matching, false):
            self.missing = wantedNames.subtracting(publication.tables).sorted()
            self.extra = publication.tables.subtracting(wantedNames).sorted()
        }
        self.missingOperations = publication.missingOperations
    }

    var isEmpty: Bool {
        self.missing.isEmpty && self.extra.isEmpty && self.allTablesMismatch == nil && self.missingOperations.isEmpty
    }

    /// One sentence per difference.
    var differences: [String] {
        var sentences: [String] = []
        if let allTablesMismatch { sentences.append(allTablesMismatch) }
        if !self.missing.isEmpty {
            sentences.append("it does not publish " + self.missing.map(\.description).joined(separator: ", "))
        }
        if !self.extra.isEmpty {
            sentences.append("it also publishes " + self.extra.map(\.description).joined(separator: ", "))
        }
        if !self.missingOperations.isEmpty {
            sentences.append("it does not publish " + self.missingOperations.joined(separator: ", "))
        }
        return sentences
    }
}
