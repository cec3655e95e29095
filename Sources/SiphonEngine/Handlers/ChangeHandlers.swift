// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Swift callbacks for changes: a catch-all handler and typed per-table handlers. The library mode of Siphon.
///
/// ```swift
/// var handlers = ChangeHandlers()
/// handlers.onChange { change in print(change.operation, change.table) }
/// try handlers.on("public.users", as: User.self) { event in
///     if case .insert(let user) = event { try await mailer.sendWelcome(to: user.email) }
/// }
/// let pipeline = Pipeline(configuration: configuration, sinks: [HandlerSink(handlers)], logger: logger)
/// ```
/// Handlers run one change at a time, in commit order. A handler that throws is retried (`DeliveryPolicy`); the
/// change is acknowledged to PostgreSQL only after every handler for it returned.
public struct ChangeHandlers: Sendable {
    typealias Handler = @Sendable (Change) async throws -> Void

    private var catchAll: [Handler] = []
    private var perTable: [(table: TableName, handler: Handler)] = []

    public init() {}

    /// Calls `handler` for every change.
    public mutating func onChange(_ handler: @escaping @Sendable (Change) async throws -> Void) {
        self.catchAll.append(handler)
    }

    /// Calls `handler` for changes of one table, with rows decoded into `Model`.
    ///
    /// `table` is written as SQL writes it: `users`, `public.users`, `sales."Order Items"`.
    public mutating func on<Model: Decodable & Sendable>(
        _ table: String, as model: Model.Type,
        _ handler: @escaping @Sendable (TableChange<Model>) async throws -> Void
    ) throws {
        let name = try TableName(parsing: table)
        self.perTable.append(
            (
                name,
                { change in
                    try await handler(try TableChange<Model>(change))
                }
            ))
    }

    /// Runs every handler that applies to `change`, in registration order.
    public func handle(_ change: Change) async throws {
        for handler in self.catchAll { try await handler(change) }
        for (table, handler) in self.perTable where table.schema == change.schema && table.table == change.table {
            try await handler(change)
        }
    }
}

/// One change of a table, with rows decoded into the handler's `Model`.
public enum TableChange<Model: Decodable & Sendable>: Sendable {
    case insert(Model)
    /// A row as a snapshot or backfill read it: handle it like an insert of a row you may already have.
    case read(Model)
    /// `old` is the previous row when the table has `REPLICA IDENTITY FULL`; otherwise `nil`.
    case update(old: Model?, new: Model)
    /// `old` is the deleted row with `REPLICA IDENTITY FULL`; `key` always holds the key columns.
    case delete(old: Model?, key: Row)
    case truncate

    /// Decodes the rows of `change`. Unchanged TOAST columns missing from `new` are filled from a full `old` row.
    public init(_ change: Change) throws {
        let decoder = RowDecoder(schema: change.schema, table: change.table)
        switch change.operation {
        case .insert:
            self = .insert(try decoder.decode(Model.self, from: change.new ?? Row()))
        case .update:
            var new = change.new ?? Row()
            if let old = change.old, !change.unchangedToast.isEmpty {
                for name in change.unchangedToast {
                    if let value = old[name] { new.columns.append(Row.Column(name: name, json: value)) }
                }
            }
            let old = change.old.flatMap { try? decoder.decode(Model.self, from: $0) }
            do {
                self = .update(old: old, new: try decoder.decode(Model.self, from: new))
            } catch let error as SiphonError where !change.unchangedToast.isEmpty {
                var explained = error
                explained.message +=
                    "; columns \(change.unchangedToast) were not sent because their large values did not change "
                    + "(TOAST): make those properties optional, or set REPLICA IDENTITY FULL on the table"
                throw explained
            }
        case .delete:
            self = .delete(old: change.old.flatMap { try? decoder.decode(Model.self, from: $0) }, key: change.key)
        case .truncate:
            self = .truncate
        case .read:
            self = .read(try decoder.decode(Model.self, from: change.new ?? Row()))
        }
    }
}
