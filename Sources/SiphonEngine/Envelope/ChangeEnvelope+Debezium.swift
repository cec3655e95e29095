// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

extension ChangeEnvelope {
    /// Appends `change` in the payload Debezium's PostgreSQL connector (3.5) produces through Kafka Connect's
    /// JSON converter with `schemas.enable=false`: every field of its envelope and source schemas, in schema
    /// order, `null` where Siphon has no value.
    ///
    /// Differences, all documented in `docs/change-format.md`: values are `to_jsonb()` JSON, not Debezium's type
    /// mapping; `source.lsn` is the commit LSN; `source.sequence`, `source.xmin` and `source.origin_lsn` are `null`;
    /// the top-level `ts_*` fields repeat the commit time so that a change renders the same on every delivery;
    /// `source.change_id` (Siphon's id, for dropping repeats) is an addition.
    static func appendDebezium(_ change: Change, source: DebeziumSource, to output: inout String) {
        let micros = change.commitTime.unixMicroseconds
        let (nanos, overflow) = micros.multipliedReportingOverflow(by: 1000)
        func appendMillis() { EnvelopeText.appendDecimal(change.commitTime.unixMilliseconds, to: &output) }
        func appendMicrosAndNanos() {
            output.append(",\"ts_us\":")
            EnvelopeText.appendDecimal(micros, to: &output)
            output.append(",\"ts_ns\":")
            if overflow {
                output.append("null")  // Past 2262: Debezium's int64 nanoseconds cannot hold it either.
            } else {
                EnvelopeText.appendDecimal(nanos, to: &output)
            }
        }

        output.append("{\"before\":")
        if let old = change.old {
            self.appendObject(old, to: &output)
        } else {
            output.append("null")
        }
        output.append(",\"after\":")
        if let new = change.new {
            self.appendObject(
                new, unavailable: change.unchangedToast, placeholder: self.debeziumUnavailableValue, to: &output)
        } else {
            output.append("null")
        }
        output.append(",\"source\":{\"version\":")
        JSONText.appendString(source.version, to: &output)
        output.append(",\"connector\":\"postgresql\",\"name\":")
        JSONText.appendString(change.id.source, to: &output)
        output.append(",\"ts_ms\":")
        appendMillis()
        // Debezium marks rows its snapshots read with "true" (and "last" on the very last one, which a backfill beside
        // the stream has no way to know in advance).
        output.append(change.operation == .read ? ",\"snapshot\":\"true\",\"db\":" : ",\"snapshot\":\"false\",\"db\":")
        JSONText.appendString(source.database, to: &output)
        output.append(",\"sequence\":null")
        appendMicrosAndNanos()
        output.append(",\"schema\":")
        JSONText.appendString(change.schema, to: &output)
        output.append(",\"table\":")
        JSONText.appendString(change.table, to: &output)
        output.append(",\"txId\":")
        if let xid = change.xid {
            EnvelopeText.appendDecimal(UInt64(xid), to: &output)
        } else {
            output.append("null")
        }
        output.append(",\"lsn\":")
        EnvelopeText.appendDecimal(change.id.commitLSN.rawValue, to: &output)
        output.append(",\"xmin\":null,\"origin\":")
        if let origin = change.origin {
            JSONText.appendString(origin, to: &output)
        } else {
            output.append("null")
        }
        output.append(",\"origin_lsn\":null,\"change_id\":")
        self.appendID(change.id, to: &output)
        switch change.operation {
        case .insert: output.append("},\"op\":\"c\",\"ts_ms\":")
        case .update: output.append("},\"op\":\"u\",\"ts_ms\":")
        case .delete: output.append("},\"op\":\"d\",\"ts_ms\":")
        case .truncate: output.append("},\"op\":\"t\",\"ts_ms\":")
        case .read: output.append("},\"op\":\"r\",\"ts_ms\":")
        }
        appendMillis()
        appendMicrosAndNanos()
        output.append(",\"transaction\":null}")
    }
}
