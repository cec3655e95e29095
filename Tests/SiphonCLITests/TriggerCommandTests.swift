// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonCore
import SiphonEngine
import SiphonReplication
import SiphonTestSupport
import Testing

/// `siphon sql` and `siphon listen` through the real binary: the printed SQL applies as-is, the migration files
/// round-trip, and the listener delivers what a channel's trigger sends.
@Suite struct TriggerCommandTests {
    @Test func sqlPrintsMigrationsThatApplyAndRemoveCleanly() async throws {
        let url = try TestEnvironment.url()
        let schema = TestEnvironment.uniqueName("trg")
        let table = "Order Lines \(TestEnvironment.uniqueName("x"))"
        let quoted = SQLQuoting.identifier(table)
        _ = try await sql(url, "CREATE TABLE public.\(quoted) (id int PRIMARY KEY, \"Select\" text)")
        let directory = try makeScratchDirectory()
        let arguments = ["sql", "--url", url, "--table", "public.\(quoted)", "--trigger-schema", schema]

        let (status, up, errors) = try await SiphonProcess.run(arguments, directory: directory)
        #expect(status == 0, "\(errors)")
        #expect(up.contains("CREATE TRIGGER siphon_outbox_insert AFTER INSERT ON public.\(quoted)"))
        let (downStatus, down, downErrors) = try await SiphonProcess.run(arguments + ["--down"], directory: directory)
        #expect(downStatus == 0, "\(downErrors)")

        let migrations = directory.appendingPathComponent("migrations")
        let (outStatus, _, outErrors) = try await SiphonProcess.run(
            arguments + ["--out", migrations.path], directory: directory)
        #expect(outStatus == 0, "\(outErrors)")
        let files = try FileManager.default.contentsOfDirectory(atPath: migrations.path).sorted()
        #expect(files.count == 2, "\(files)")
        let upFile = try #require(files.first { $0.hasSuffix(".up.sql") })
        let downFile = try #require(files.first { $0.hasSuffix(".down.sql") })
        #expect(upFile.dropLast(".up.sql".count) == downFile.dropLast(".down.sql".count))
        #expect(try String(contentsOf: migrations.appendingPathComponent(upFile), encoding: .utf8).contains(up))
        #expect(try String(contentsOf: migrations.appendingPathComponent(downFile), encoding: .utf8).contains(down))

        _ = try await sql(url, up)
        _ = try await sql(url, "INSERT INTO public.\(quoted) VALUES (1, 'a')")
        let captured = try await sql(url, "SELECT op, new::text FROM \(schema).outbox")
        #expect(captured.rows == [["insert", #"{"id": 1, "Select": "a"}"#]])
        _ = try await sql(url, down)
        let leftovers = try await sql(
            url,
            "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = '\(schema)') + (SELECT count(*) FROM pg_trigger "
                + "WHERE tgrelid = 'public.\(quoted.replacingOccurrences(of: "'", with: "''"))'::regclass)")
        #expect(leftovers.rows == [["0"]])
        _ = try await sql(url, "DROP TABLE public.\(quoted)")
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func listenDeliversWhatTheChannelTriggerSendsAndStopsOnSIGTERM() async throws {
        let url = try TestEnvironment.url()
        let schema = TestEnvironment.uniqueName("trg")
        let table = TestEnvironment.uniqueName("listened")
        let channel = TestEnvironment.uniqueName("changes")
        _ = try await sql(url, "CREATE TABLE public.\(table) (id int PRIMARY KEY, note text)")
        let directory = try makeScratchDirectory()
        let arguments = [
            "sql", "--url", url, "--table", "public.\(table)", "--trigger-schema", schema, "--channel", channel,
        ]
        let (status, up, errors) = try await SiphonProcess.run(arguments, directory: directory)
        #expect(status == 0, "\(errors)")
        _ = try await sql(url, up)

        let listener = try SiphonProcess(
            ["listen", "--url", url, "--channel", channel, "--trigger-schema", schema], directory: directory)
        try await eventually("the listener to LISTEN") {
            try await sql(
                url,
                "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'LISTEN%\(channel)%' AND pid <> pg_backend_pid()"
            ).rows != [["0"]]
        }
        _ = try await sql(url, "INSERT INTO public.\(table) VALUES (1, 'a'); UPDATE public.\(table) SET note = 'b'")
        try await eventually("both changes on standard output") { listener.output.split(separator: "\n").count == 2 }
        let changes = try listener.output.split(separator: "\n").map { try ChangeEnvelope.decode(line: String($0)) }
        #expect(changes.map(\.operation) == [.insert, .update])
        #expect(changes.last?.new?.jsonObject == #"{"id":1,"note":"b"}"#)
        listener.signal(SIGTERM)
        #expect(try await listener.wait(timeout: .seconds(30)) == 0, "\(listener.errors)")

        let (downStatus, down, downErrors) = try await SiphonProcess.run(arguments + ["--down"], directory: directory)
        #expect(downStatus == 0, "\(downErrors)")
        _ = try await sql(url, down)
        _ = try await sql(url, "DROP TABLE public.\(table)")
        try? FileManager.default.removeItem(at: directory)
    }
}
