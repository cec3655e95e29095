// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

extension ChangeEnvelope {
    /// Appends `change` in Siphon's envelope, keys in this order:
    /// `{"id","op","schema","table","xid","lsn","commit_time","origin","new","old","key","unchanged_toast"}`,
    /// plus `"truncate":{"cascade":…,"restart_identity":…}` last on truncate lines.
    static func appendSiphon(_ change: Change, to output: inout String) {
        output.append("{\"id\":")
        self.appendID(change.id, to: &output)
        output.append(",\"op\":\"")
        output.append(change.operation.rawValue)
        output.append("\",\"schema\":")
        JSONText.appendString(change.schema, to: &output)
        output.append(",\"table\":")
        JSONText.appendString(change.table, to: &output)
        output.append(",\"xid\":")
        if let xid = change.xid {
            EnvelopeText.appendDecimal(UInt64(xid), to: &output)
        } else {
            output.append("null")
        }
        output.append(",\"lsn\":\"")
        EnvelopeText.appendLSN(change.id.commitLSN, to: &output)
        output.append("\",\"commit_time\":\"")
        change.commitTime.append(to: &output)
        output.append("\",\"origin\":")
        if let origin = change.origin {
            JSONText.appendString(origin, to: &output)
        } else {
            output.append("null")
        }
        output.append(",\"new\":")
        if let new = change.new {
            self.appendObject(new, to: &output)
        } else {
            output.append("null")
        }
        output.append(",\"old\":")
        if let old = change.old {
            self.appendObject(old, to: &output)
        } else {
            output.append("null")
        }
        output.append(",\"key\":")
        self.appendObject(change.key, to: &output)
        output.append(",\"unchanged_toast\":[")
        for (position, name) in change.unchangedToast.enumerated() {
            if position > 0 { output.append(",") }
            JSONText.appendString(name, to: &output)
        }
        output.append("]")
        if change.operation == .truncate {
            let options = change.truncateOptions ?? Change.TruncateOptions(cascade: false, restartIdentity: false)
            output.append(options.cascade ? ",\"truncate\":{\"cascade\":true" : ",\"truncate\":{\"cascade\":false")
            output.append(options.restartIdentity ? ",\"restart_identity\":true}" : ",\"restart_identity\":false}")
        }
        output.append("}")
    }
}
