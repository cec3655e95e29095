// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonCore
import SiphonSystem
import SiphonTestSupport
import Testing

/// `siphon run --mode trigger --group NAME` through the real binary, for groups registered with partitions.
@Suite struct TriggerGroupCommandTests {
    @Test func runReadsAGroupThatSetupRegisteredWithPartitions() async throws {
        let url = try TestEnvironment.url()
        let schema = TestEnvironment.uniqueName("trg")
        let table = TestEnvironment.uniqueName("grouped")
        _ = try await sql(url, "CREATE TABLE public.\(table) (id int PRIMARY KEY)")
        let directory = try makeScratchDirectory()
        let arguments = [
            "sql", "--url", url, "--table", "public.\(table)", "--trigger-schema", schema, "--group", "billing:4",
        ]
        let (status, up, errors) = try await SiphonProcess.run(arguments, directory: directory)
        #expect(status == 0, "\(errors)")
        _ = try await sql(url, up)
        _ = try await sql(url, "INSERT INTO public.\(table) SELECT generate_series(1, 20)")

        let file = directory.appendingPathComponent("changes.jsonl")
        let reader = try SiphonProcess(
            [
                "run", "--url", url, "--mode", "trigger", "--trigger-schema", schema, "--group", "billing",
                "--sink", "jsonl:\(file.path)",
            ], directory: directory)
        try await eventually("20 changes from the four partitions, or the reader to exit") {
            try readChanges(file).count == 20 || reader.child.poll() != nil
        }
        reader.signal(SIGTERM)
        #expect(try await reader.wait(timeout: .seconds(30)) == 0, "\(reader.errors)")
        #expect(try readChanges(file, whileWriting: false).map { Int($0.key["id"] ?? "") ?? 0 }.sorted() == Array(1...20), "\(reader.errors)")

        let (downStatus, down, downErrors) = try await SiphonProcess.run(arguments + ["--down"], directory: directory)
        #expect(downStatus == 0, "\(downErrors)")
        _ = try await sql(url, down)
        _ = try await sql(url, "DROP TABLE public.\(table)")
        try? FileManager.default.removeItem(at: directory)
    }
}
