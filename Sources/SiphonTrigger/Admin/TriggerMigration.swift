// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonCore

/// The SQL of trigger capture as a migration: `up` creates everything, `down` removes it again.
public struct TriggerMigration: Sendable, Hashable {
    /// Creates the schema, the outbox (or notify function) and the triggers. Idempotent.
    public var up: String
    /// Removes what `up` created, and triggers of the same outbox or channel on tables no longer listed.
    public var down: String
    /// The tables, resolved from the catalog.
    public var tables: [CapturedTable]
    /// Things a person should know, e.g. which key a table without a primary key falls back to.
    public var notes: [String]
    /// What the migration is for, for file names: `siphon_outbox_outbox`, `siphon_notify_orders`.
    public var name: String

    public init(up: String, down: String, tables: [CapturedTable], notes: [String], name: String) {
        self.up = up
        self.down = down
        self.tables = tables
        self.notes = notes
        self.name = name
    }

    /// Writes `<timestamp>_<name>.up.sql` and `.down.sql` into `directory` (created if missing) and returns their
    /// paths. The timestamp (`yyyyMMddHHmmss`, UTC) orders the files the way migration tools expect.
    public func write(to directory: String, date: Date = Date()) throws -> (up: String, down: String) {
        let stamp = Self.timestamp(date)
        let base = (directory as NSString).appendingPathComponent("\(stamp)_\(self.name)")
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let upPath = base + ".up.sql"
            let downPath = base + ".down.sql"
            for path in [upPath, downPath] where FileManager.default.fileExists(atPath: path) {
                throw SiphonError(.invalidConfiguration, "\(path) already exists; not overwriting it")
            }
            try Data(self.up.utf8).write(to: URL(fileURLWithPath: upPath))
            try Data(self.down.utf8).write(to: URL(fileURLWithPath: downPath))
            return (upPath, downPath)
        } catch let error as SiphonError {
            throw error
        } catch {
            throw SiphonError(
                .invalidConfiguration, "cannot write the migration files into \(directory)", underlying: error)
        }
    }

    /// `yyyyMMddHHmmss` in UTC.
    static func timestamp(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let (year, month, day) = CivilDate.fromDaysSinceUnixEpoch(days)
        let time = seconds - days * 86_400
        return CivilDate.pad(year, 4) + CivilDate.pad(month, 2) + CivilDate.pad(day, 2)
            + CivilDate.pad(time / 3600, 2) + CivilDate.pad(time / 60 % 60, 2) + CivilDate.pad(time % 60, 2)
    }
}

/// An object trigger capture creates in PostgreSQL.
public struct TriggerObject: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case schema, table, function, trigger
    }

    public var kind: Kind
    /// As SQL writes it; for a trigger `name ON schema.table`.
    public var name: String

    public init(kind: Kind, name: String) {
        self.kind = kind
        self.name = name
    }

    public var description: String { "\(self.kind.rawValue) \(self.name)" }
}

/// What `TriggerCapture.apply` or `remove` did.
public struct TriggerReport: Sendable, Hashable {
    /// The objects now in place (apply) or removed (remove).
    public var objects: [TriggerObject]
    /// The tables captured (apply); empty for remove.
    public var tables: [CapturedTable]
    /// Things a person should know, e.g. key fallbacks.
    public var notes: [String]

    public init(objects: [TriggerObject], tables: [CapturedTable], notes: [String]) {
        self.objects = objects
        self.tables = tables
        self.notes = notes
    }
}
