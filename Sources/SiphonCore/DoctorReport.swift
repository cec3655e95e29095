// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.


/// The result of `siphon doctor`: every precondition, whether it holds, and how to fix it when it does not.
public struct DoctorReport: Sendable, Hashable, CustomStringConvertible {
    /// One checked precondition.
    public struct Check: Sendable, Hashable, CustomStringConvertible {
        /// How a check came out.
        public enum Status: String, Sendable, Hashable, Comparable, CaseIterable {
            /// The precondition holds.
            case ok
            /// Siphon can run, but something will surprise you (missing old values, little headroom, …).
            case warning
            /// Siphon cannot run correctly until this is fixed.
            case error

            private var rank: Int {
                switch self {
                case .ok: return 0
                case .warning: return 1
                case .error: return 2
                }
            }

            public static func < (lhs: Status, rhs: Status) -> Bool { lhs.rank < rhs.rank }
        }

        /// A stable identifier of what is checked, for scripts: `connection`, `server_version`, `wal_level`,
        /// `replication_slots`, `wal_senders`, `role_replication`, `tables`, `table_select`, `slot`,
        /// `slot_wal_status`, `slot_retained_wal`, `publication`, `publication_tables`, `publication_operations`,
        /// `primary_key`, `toast_identity`.
        public var name: String
        /// What the check is about when there is one check per object (a table, as SQL writes it).
        public var subject: String?
        public var status: Status
        /// What was found, in words.
        public var message: String
        /// The exact SQL or setting that fixes it; `nil` when nothing needs fixing.
        public var fix: String?

        public init(name: String, subject: String? = nil, status: Status, message: String, fix: String? = nil) {
            self.name = name
            self.subject = subject
            self.status = status
            self.message = message
            self.fix = fix
        }

        public var description: String {
            let label = "[\(self.status.rawValue)]".padding(9)
            var text = "\(label) \(self.name): \(self.message)"
            if let fix {
                text += "\n          fix: " + fix.split(separator: "\n").joined(separator: "\n               ")
            }
            return text
        }

        var json: String {
            "{\"name\":\(JSONText.string(self.name)),\"subject\":\(self.subject.map { JSONText.string($0) } ?? "null"),"
                + "\"status\":\(JSONText.string(self.status.rawValue)),\"message\":\(JSONText.string(self.message)),"
                + "\"fix\":\(self.fix.map { JSONText.string($0) } ?? "null")}"
        }
    }

    /// The checks in the order they ran.
    public var checks: [Check]

    public init(checks: [Check]) {
        self.checks = checks
    }

    /// Whether any check failed with `error`: `siphon run` would not work correctly.
    public var blocksRunning: Bool { self.checks.contains { $0.status == .error } }

    /// The worst status of all checks.
    public var status: Check.Status { self.checks.map(\.status).max() ?? .ok }

    /// The checks with this name (and subject, when given).
    public func checks(named name: String, subject: String? = nil) -> [Check] {
        self.checks.filter { $0.name == name && (subject == nil || $0.subject == subject) }
    }

    private func count(_ status: Check.Status) -> Int { self.checks.filter { $0.status == status }.count }

    /// Human-readable: one line per check with its fix below, and a summary.
    public var description: String {
        var lines = self.checks.map(\.description)
        lines.append(
            "\(self.checks.count) checks: \(self.count(.ok)) ok, \(self.count(.warning)) warning(s), "
                + "\(self.count(.error)) error(s); "
                + (self.blocksRunning ? "the errors must be fixed before siphon run" : "nothing blocks siphon run")
        )
        return lines.joined(separator: "\n")
    }

    /// For scripts: `{"blocks_running":…,"status":…,"summary":{…},"checks":[{"name","subject","status","message",
    /// "fix"}…]}`.
    public var json: String {
        "{\"blocks_running\":\(self.blocksRunning),\"status\":\(JSONText.string(self.status.rawValue)),"
            + "\"summary\":{\"ok\":\(self.count(.ok)),\"warning\":\(self.count(.warning)),"
            + "\"error\":\(self.count(.error))},\"checks\":[" + self.checks.map(\.json).joined(separator: ",") + "]}"
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        self.count >= width ? self : self + String(repeating: " ", count: width - self.count)
    }
}
