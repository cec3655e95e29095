// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonCore
import SiphonEngine
import Yams

/// What `siphon run` was asked to do, merged from a YAML file, `SIPHON_*` environment variables and flags
/// (flags win over the environment, the environment over the file).
struct RunConfiguration: Equatable {
    var url: String?
    var slot: String?
    var publications: [String] = []
    var tables: [String] = []
    var sinks: [String] = []
    var format: ChangeFormat = .siphon
    var binary = false
    var batchSize = 1000
    var maxAttempts = 5
    var onPoison: DeliveryPolicy.PoisonAction = .stop

    /// Keys a config file may hold, with what each means (for the error on a typo).
    static let fileKeys: [String: String] = [
        "url": "PostgreSQL URL or key=value string", "url_file": "file holding the PostgreSQL URL", "slot": "replication slot name", "publication": "publication name or list",
        "tables": "list of tables to keep", "sinks": "list of sinks (stdout, jsonl:PATH)", "format": "siphon or debezium",
        "binary": "true or false", "batch_size": "changes per delivery", "max_attempts": "tries per change",
        "on_poison": "stop or dead-letter",
    ]

    /// Reads a YAML config file; errors point at the file and line.
    mutating func apply(file path: String) throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw SiphonError(.invalidConfiguration, "cannot read config file \(path): \(error.localizedDescription)")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw SiphonError(.invalidConfiguration, "\(path): not valid YAML: \(error)")
        }
        guard let root else { return }
        guard let mapping = root.mapping else {
            throw SiphonError(.invalidConfiguration, "\(path):\(Self.line(root)): expected a mapping of settings (key: value)")
        }
        if mapping["url"] != nil && mapping["url_file"] != nil {
            throw SiphonError(.invalidConfiguration, "\(path): give either 'url' or 'url_file', not both")
        }
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? ""
            let place = "\(path):\(Self.line(keyNode))"
            func string() throws -> String {
                guard let text = value.string, value.scalar != nil else {
                    throw SiphonError(.invalidConfiguration, "\(place): '\(key)' must be a single value (\(Self.fileKeys[key] ?? "see siphon run --help"))")
                }
                return text
            }
            func list() throws -> [String] {
                if let sequence = value.sequence {
                    return try sequence.map { item in
                        guard let text = item.string, item.scalar != nil else {
                            throw SiphonError(.invalidConfiguration, "\(path):\(Self.line(item)): '\(key)' items must be strings")
                        }
                        return text
                    }
                }
                return [try string()]
            }
            func integer() throws -> Int {
                guard let number = Int(try string()), number > 0 else {
                    throw SiphonError(.invalidConfiguration, "\(place): '\(key)' must be a positive whole number")
                }
                return number
            }
            switch key {
            case "url": self.url = try string()
            case "url_file": self.url = try ConnectionStringFile.read(try string(), place: place)
            case "slot": self.slot = try string()
            case "publication": self.publications = try list()
            case "tables": self.tables = try list()
            case "sinks": self.sinks = try list()
            case "format": self.format = try Self.parseFormat(try string(), place: place)
            case "binary":
                guard let flag = value.bool else {
                    throw SiphonError(.invalidConfiguration, "\(place): 'binary' must be true or false")
                }
                self.binary = flag
            case "batch_size": self.batchSize = try integer()
            case "max_attempts": self.maxAttempts = try integer()
            case "on_poison": self.onPoison = try Self.parsePoison(try string(), place: place)
            default:
                let suggestion = Self.closest(to: key, in: Array(Self.fileKeys.keys)).map { " (did you mean '\($0)'?)" } ?? ""
                throw SiphonError(
                    .invalidConfiguration,
                    "\(place): unknown setting '\(key)'\(suggestion); known settings: "
                        + Self.fileKeys.keys.sorted().joined(separator: ", "))
            }
        }
    }

    /// Reads `SIPHON_URL` (or the file `SIPHON_URL_FILE` names), `SIPHON_SLOT`, `SIPHON_PUBLICATION`, `SIPHON_TABLES`, `SIPHON_SINKS` (comma-separated),
    /// `SIPHON_FORMAT`, `SIPHON_BINARY`, `SIPHON_BATCH_SIZE`, `SIPHON_ON_POISON`.
    mutating func apply(environment: [String: String]) throws {
        func list(_ name: String) -> [String]? {
            environment[name].map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        }
        if let url = try ConnectionStringFile.fromEnvironment(environment) { self.url = url }
        if let slot = environment["SIPHON_SLOT"] { self.slot = slot }
        if let publications = list("SIPHON_PUBLICATION") { self.publications = publications }
        if let tables = list("SIPHON_TABLES") { self.tables = tables }
        if let sinks = list("SIPHON_SINKS") { self.sinks = sinks }
        if let format = environment["SIPHON_FORMAT"] { self.format = try Self.parseFormat(format, place: "SIPHON_FORMAT") }
        if let binary = environment["SIPHON_BINARY"] {
            guard let flag = Bool(binary.lowercased()) else {
                throw SiphonError(.invalidConfiguration, "SIPHON_BINARY must be true or false, not '\(binary)'")
            }
            self.binary = flag
        }
        if let size = environment["SIPHON_BATCH_SIZE"] {
            guard let number = Int(size), number > 0 else {
                throw SiphonError(.invalidConfiguration, "SIPHON_BATCH_SIZE must be a positive whole number, not '\(size)'")
            }
            self.batchSize = number
        }
        if let poison = environment["SIPHON_ON_POISON"] { self.onPoison = try Self.parsePoison(poison, place: "SIPHON_ON_POISON") }
    }

    /// Fills in the defaults `siphon setup` uses: slot and publication `siphon`.
    func validated() throws -> Self {
        var resolved = self
        if resolved.slot?.isEmpty ?? true { resolved.slot = "siphon" }
        if resolved.publications.isEmpty { resolved.publications = ["siphon"] }
        return resolved
    }

    static func parseFormat(_ text: String, place: String) throws -> ChangeFormat {
        guard let format = ChangeFormat(rawValue: text) else {
            throw SiphonError(
                .invalidConfiguration,
                "\(place): unknown format '\(text)'; use one of \(ChangeFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return format
    }

    static func parsePoison(_ text: String, place: String) throws -> DeliveryPolicy.PoisonAction {
        guard let action = DeliveryPolicy.PoisonAction(rawValue: text) else {
            throw SiphonError(.invalidConfiguration, "\(place): on_poison must be stop or dead-letter, not '\(text)'")
        }
        return action
    }

    private static func line(_ node: Node) -> Int { (node.mark?.line ?? 0) }

    /// The known key nearest to a typo (edit distance ≤ 2).
    static func closest(to word: String, in candidates: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var previous = Array(0...b.count)
            for (i, x) in a.enumerated() {
                var current = [i + 1]
                for (j, y) in b.enumerated() {
                    current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
                }
                previous = current
            }
            return previous[b.count]
        }
        let scored = candidates.map { ($0, distance(Array(word), Array($0))) }.filter { $0.1 <= 2 }
        return scored.min { $0.1 < $1.1 }?.0
    }
}
