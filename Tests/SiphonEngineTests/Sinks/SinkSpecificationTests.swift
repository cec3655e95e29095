// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import SiphonEngine
import Testing

@Suite struct SinkSpecificationTests {
    @Test func parsesEachForm() throws {
        #expect(try SinkSpecification(parsing: "stdout") == .standardOutput)
        #expect(
            try SinkSpecification(parsing: "jsonl:/var/lib/siphon/out.jsonl")
                == .jsonLinesFile(path: "/var/lib/siphon/out.jsonl"))
        #expect(try SinkSpecification(parsing: "jsonl:out:2026.jsonl") == .jsonLinesFile(path: "out:2026.jsonl"))
    }

    @Test func describesItselfAsTheFlagValue() throws {
        for text in ["stdout", "jsonl:relative/out.jsonl"] {
            #expect(try SinkSpecification(parsing: text).description == text)
        }
    }

    @Test(arguments: [
        ("kafka:orders", #"unknown sink "kafka:orders"; valid sinks: stdout, jsonl:PATH, null"#),
        ("STDOUT", #"unknown sink "STDOUT"; valid sinks: stdout, jsonl:PATH, null"#),
        (":x", #"unknown sink ":x"; valid sinks: stdout, jsonl:PATH, null"#),
        ("", "--sink needs a value; valid sinks: stdout, jsonl:PATH, null"),
        ("jsonl:", "the jsonl sink needs a file path: --sink jsonl:/var/lib/siphon/changes.jsonl"),
        ("jsonl", "the jsonl sink needs a file path: --sink jsonl:/var/lib/siphon/changes.jsonl"),
        ("stdout:x", "the stdout sink takes no argument: write --sink stdout, not --sink stdout:x"),
    ])
    func mistakesAreExplained(_ text: String, _ message: String) throws {
        let error = try #require(throws: SiphonError.self) { try SinkSpecification(parsing: text) }
        #expect(error.code == .invalidConfiguration)
        #expect(error.message == message)
    }

    @Test func makesTheSinkItNames() async throws {
        try await withSinkTestDirectory { directory in
            let file = try SinkSpecification.jsonLinesFile(path: directory + "/out.jsonl").makeSink(format: .siphon)
            #expect(file.name == "jsonl:\(directory)/out.jsonl")
            #expect(try SinkSpecification.standardOutput.makeSink(format: .debezium).name == "stdout")
        }
    }
}
