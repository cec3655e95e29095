// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.
//
// A small app: "when an order is paid, send a receipt" — whoever marked it paid (this app, another service,
// psql). Run against a database with an `orders` table that `siphon setup --table public.orders` prepared:
//
//     SIPHON_URL=postgres://… swift run OrderNotifications

import Foundation
import Logging
import Siphon

struct Order: Decodable, Sendable {
    var id: Int
    var status: String
    var total: Decimal
}

@main
enum OrderNotifications {
    static func main() async throws {
        let logger = Logger(label: "order-notifications")
        let settings = try ConnectionSettings(
            url: ProcessInfo.processInfo.environment["SIPHON_URL"], environment: ProcessInfo.processInfo.environment)

        var handlers = ChangeHandlers()
        try handlers.on("public.orders", as: Order.self) { event in
            guard case .update(let old, let new) = event, new.status == "paid", old?.status != "paid" else { return }
            // Throwing here would retry the change; it is acknowledged only after this returns.
            print("Receipt for order \(new.id): \(new.total)")
        }

        let pipeline = Pipeline(
            configuration: PipelineConfiguration(
                connection: settings, slot: "siphon", publications: ["siphon"],
                delivery: DeliveryPolicy(maxAttempts: 5, poisonAction: .deadLetter)),
            sinks: [HandlerSink(handlers)], logger: logger)
        // Runs until SIGTERM/SIGINT, which stop it at a transaction boundary; an app with its own ServiceGroup adds
        // the pipeline to it instead.
        try await SiphonService.run(pipeline, logger: logger)
    }
}
