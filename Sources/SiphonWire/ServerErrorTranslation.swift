// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Turns a server `ErrorResponse` into a `SiphonError` whose message says what to do about it.
///
/// The server's own fields stay available in `SiphonError.serverError`; we only add the fix where we know it.
public enum ServerErrorTranslation {
    public static func error(for fields: ServerErrorFields, user: String? = nil) -> SiphonError {
        let code: SiphonError.Code
        var advice: String?
        switch fields.sqlState {
        case "28P01", "28000":
            code = .authenticationFailed
            advice = "check the user name and password (URL or PGPASSWORD) and the server's pg_hba.conf"
        case "42501" where fields.message.contains("replication") || fields.message.contains("walsender"):
            code = .authenticationFailed
            advice = "grant it with: ALTER ROLE \(user.map(SQLQuoting.identifier) ?? "<role>") REPLICATION;"
        case "3D000":
            code = .connectionFailed
            advice = "create the database or fix the database name in the URL"
        case "55000" where fields.message.contains("wal_level"):
            code = .serverError
            advice = "set wal_level = logical (ALTER SYSTEM SET wal_level = logical;) and restart PostgreSQL"
        case "55006":
            code = .slotUnavailable
            advice = "another process is reading this slot; stop it, or run a second siphon as a standby"
        case "42704" where fields.message.contains("replication slot"):
            code = .slotUnavailable
            advice = "create it with `siphon setup`, or name an existing slot"
        case "42704" where fields.message.contains("publication"):
            code = .serverError
            advice = "create it with `siphon setup` or CREATE PUBLICATION, or name an existing publication"
        case "53400":
            code = .serverError
            advice = "raise max_replication_slots / max_wal_senders in postgresql.conf, or drop unused slots"
        default:
            code = .serverError
        }
        var message = fields.message
        if let detail = fields.detail { message += " (\(detail))" }
        if let hint = fields.hint { message += "; hint: \(hint)" }
        if let advice { message += "; \(advice)" }
        return SiphonError(code, "server error \(fields.sqlState): \(message)", serverError: fields)
    }
}
