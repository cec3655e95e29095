// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// A watermark a snapshot writes into the WAL around each chunk it reads (`pg_logical_emit_message`), so that the
/// chunk can be placed in the stream (DBLog's low and high watermarks).
///
/// The content names the slot and the reading session (`token`): a watermark of another slot's snapshot, or of an
/// earlier session whose chunk died with it, is recognised as foreign and passes by.
struct SnapshotWatermark: Sendable, Hashable {
    static let prefix = "siphon.snapshot"

    enum Kind: String, Sendable { case low, high }

    var slot: String
    var token: UInt64
    var chunk: UInt64
    var kind: Kind

    var content: String { "\(self.slot) \(self.token) \(self.chunk) \(self.kind.rawValue)" }

    /// Parses a message's content; `nil` for anything else (the content may come from anyone who can emit messages).
    init?(content: String) {
        let parts = content.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 4, let token = UInt64(parts[1]), let chunk = UInt64(parts[2]),
            let kind = Kind(rawValue: String(parts[3]))
        else { return nil }
        self.init(slot: String(parts[0]), token: token, chunk: chunk, kind: kind)
    }

    init(slot: String, token: UInt64, chunk: UInt64, kind: Kind) {
        self.slot = slot
        self.token = token
        self.chunk = chunk
        self.kind = kind
    }
}

/// What identifies a row for reconciling a chunk with the stream: its primary key columns, by name, in key order.
struct SnapshotKey: Sendable, Hashable {
    var columns: [String]

    /// The row's key as one comparable text (the columns' JSON joined by NUL, which JSON text never holds), or
    /// `nil` when the row lacks a key column (an unchanged TOAST key, a replica identity without it).
    func text(of row: Row) -> String? {
        var text = ""
        for name in self.columns {
            guard let json = row[name] else { return nil }
            text += json
            text += "\u{0}"
        }
        return text
    }
}

/// Reconciles chunks read by a snapshot with the stream, the way Netflix's DBLog does: between a chunk's low and high
/// watermarks, every streamed change of its table strikes the rows it touches out of the chunk (the stream carries
/// a newer state of them, in order); at the high watermark the rest of the chunk goes out as reads. A row read in
/// a chunk is thus never delivered after a change that superseded it, and a long-held snapshot is never needed.
///
/// Pure: fed with windows and changes in stream order.
struct SnapshotWindows: Sendable {
    /// What a closed window leaves of its chunk.
    enum Outcome: Sendable, Equatable {
        /// Deliver these reads (possibly none).
        case deliver([Change])
        /// A change in the window could not be matched to a key, or left out large values of a row of the chunk:
        /// read the chunk again.
        case readAgain
    }

    private struct Window {
        var table: TableName
        var key: SnapshotKey
        var touched: Set<String> = []
        /// Keys of updates that left unchanged TOAST columns out: the stream never carries those values.
        var partial: Set<String> = []
        var truncated = false
        var unmatched = false
    }

    private var windows: [UInt64: Window] = [:]

    var isEmpty: Bool { self.windows.isEmpty }

    /// The low watermark of `chunk` arrived: changes of `table` from now on count against it.
    mutating func open(_ chunk: UInt64, table: TableName, key: SnapshotKey) {
        self.windows[chunk] = Window(table: table, key: key)
    }

    /// A change arrived in the stream.
    mutating func observe(_ change: Change) {
        guard !self.windows.isEmpty else { return }
        for chunk in self.windows.keys {
            guard let window = self.windows[chunk], window.table.schema == change.schema,
                window.table.table == change.table
            else { continue }
            if change.operation == .truncate {
                self.windows[chunk]?.truncated = true
                continue
            }
            // An update that changes the key touches both the old and the new key.
            let rows = [change.key, change.old, change.new].compactMap { $0 }
            let keys = rows.compactMap(window.key.text(of:))
            if keys.isEmpty {
                self.windows[chunk]?.unmatched = true
            } else {
                self.windows[chunk]?.touched.formUnion(keys)
                if !change.unchangedToast.isEmpty { self.windows[chunk]?.partial.formUnion(keys) }
            }
        }
    }

    /// The high watermark of `chunk` arrived with the rows read for it; `nil` when its low watermark was never seen.
    mutating func close(_ chunk: UInt64, rows: [Change]) -> Outcome? {
        guard let window = self.windows.removeValue(forKey: chunk) else { return nil }
        if window.unmatched { return .readAgain }
        if window.truncated { return .deliver([]) }
        if window.touched.isEmpty { return .deliver(rows) }
        // Striking such a row would leave a consumer that never had it without its large values: read it (and its
        // chunk) again in a window where nothing left them out.
        if !window.partial.isEmpty
            && rows.contains(where: { $0.new.flatMap(window.key.text(of:)).map(window.partial.contains) ?? false })
        {
            return .readAgain
        }
        return .deliver(rows.filter { read in
            guard let new = read.new, let key = window.key.text(of: new) else { return true }
            return !window.touched.contains(key)
        })
    }
}
