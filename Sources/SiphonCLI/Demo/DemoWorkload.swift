// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import Logging
import SiphonCore
import SiphonReplication

/// The demo's schema and a small mixed workload: sign-ups, orders, status changes, the odd cancellation.
struct DemoWorkload {
    let settings: ConnectionSettings
    let schema: String
    let logger: Logger

    var publication: String { self.schema }
    var slot: String { self.schema }

    func createSchema() async throws {
        try await self.sql(
            """
            DROP SCHEMA IF EXISTS \(self.schema) CASCADE;
            CREATE SCHEMA \(self.schema);
            CREATE TYPE \(self.schema).order_status AS ENUM ('placed', 'paid', 'shipped', 'cancelled');
            CREATE TABLE \(self.schema).users (
                id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, name text NOT NULL,
                signed_up_at timestamptz NOT NULL DEFAULT now());
            CREATE TABLE \(self.schema).orders (
                id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES \(self.schema).users,
                total numeric(10,2) NOT NULL, status \(self.schema).order_status NOT NULL DEFAULT 'placed',
                items jsonb NOT NULL, placed_at timestamptz NOT NULL DEFAULT now());
            ALTER TABLE \(self.schema).orders REPLICA IDENTITY FULL;
            DROP PUBLICATION IF EXISTS \(self.publication);
            CREATE PUBLICATION \(self.publication) FOR TABLE \(self.schema).users, \(self.schema).orders;
            """)
        try await ServerConnection.withConnection(settings: self.settings, logger: self.logger) { connection in
            let exists = try await connection.simpleQuery(
                "SELECT 1 FROM pg_replication_slots WHERE slot_name = '\(self.slot)'")
            if !exists.rows.isEmpty { try await connection.dropReplicationSlot(self.slot, wait: true) }
            _ = try await connection.createReplicationSlot(self.slot)
        }
    }

    /// Writes `transactions` transactions (forever when `nil`), one every `pause`. Returns the number of row changes,
    /// counted from the servers' command tags.
    func run(transactions: Int?, pause: Duration) async throws -> Int {
        let names = ["ada", "grace", "edsger", "barbara", "donald", "frances", "ken", "radia", "tony", "margaret"]
        return try await ServerConnection.withConnection(
            settings: self.settings, replication: false, logger: self.logger
        ) { connection in
            var changes = 0
            var step = 0
            func execute(_ statement: String) async throws {
                let tag = try await connection.simpleQuery(statement).commandTag
                changes += Int(tag.split(separator: " ").last ?? "") ?? 0
            }
            while transactions.map({ step < $0 }) ?? true {
                try Task.checkCancellation()
                let name = names[step % names.count]
                switch step % 4 {
                case 0:
                    try await execute(
                        "INSERT INTO \(self.schema).users (email, name) VALUES ('\(name)\(step)@example.com', '\(name.capitalized)')")
                case 1:
                    try await execute(
                        """
                        INSERT INTO \(self.schema).orders (user_id, total, items)
                        SELECT max(id), \(10 + step).99, '[{"sku": "SIPHON-\(step)", "qty": \(step % 3 + 1)}]'
                        FROM \(self.schema).users
                        """)
                case 2:
                    try await execute(
                        "UPDATE \(self.schema).orders SET status = 'paid' WHERE id = (SELECT max(id) FROM \(self.schema).orders)")
                default:
                    try await connection.simpleQuery("BEGIN")
                    try await execute("UPDATE \(self.schema).orders SET status = 'shipped' WHERE status = 'paid'")
                    if step % 8 == 7 {
                        try await execute(
                            "DELETE FROM \(self.schema).orders WHERE id = (SELECT min(id) FROM \(self.schema).orders)")
                    }
                    try await connection.simpleQuery("COMMIT")
                }
                step += 1
                try await Task.sleep(for: pause)
            }
            return changes
        }
    }

    /// Drops the slot, publication and schema.
    func cleanUp() async {
        try? await ServerConnection.withConnection(settings: self.settings, logger: self.logger) { connection in
            try await connection.dropReplicationSlot(self.slot, wait: true)
        }
        try? await self.sql("DROP PUBLICATION IF EXISTS \(self.publication); DROP SCHEMA IF EXISTS \(self.schema) CASCADE;")
    }

    private func sql(_ statements: String) async throws {
        try await ServerConnection.withConnection(settings: self.settings, replication: false, logger: self.logger) {
            _ = try await $0.simpleQuery(statements)
        }
    }
}
