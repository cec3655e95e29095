// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

/// Builds the SQL of trigger capture from resolved tables. Pure: no I/O, the same input gives the same text, so
/// migrations can be reviewed and diffed.
enum TriggerSQL {
    /// Session settings that change how `to_jsonb()` renders values, as `ServerConnection` pins them at startup
    /// (so logical mode renders this way). The trigger functions render rows with them whatever the writing session
    /// uses: directly when the session already matches (`renderingMatches`), otherwise through a helper function
    /// whose `SET` clauses pin them. Pinning them on every call would cost about a quarter of the writer's
    /// throughput (measured with pgbench), and most sessions match.
    static let renderingSettings: [(name: String, value: String)] = [
        ("timezone", "'UTC'"), ("datestyle", "'ISO'"), ("intervalstyle", "'postgres'"), ("extra_float_digits", "1"),
        ("bytea_output", "'hex'"),
    ]

    /// Time zones that render every `timestamptz` exactly as UTC does (offset zero, no daylight saving time).
    static let utcZones = [
        "UTC", "Etc/UTC", "UCT", "Etc/UCT", "GMT", "Etc/GMT", "GMT0", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0",
        "Greenwich", "Etc/Greenwich", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu",
    ]

    /// SQL that is true when the session renders values as `renderingSettings` do.
    static let renderingMatches =
        "current_setting('TimeZone') IN (" + utcZones.map { SQLQuoting.literal($0) }.joined(separator: ", ") + ")\n"
        + "        AND current_setting('DateStyle') LIKE 'ISO,%' AND current_setting('IntervalStyle') = 'postgres'\n"
        + "        AND current_setting('extra_float_digits')::integer > 0 AND current_setting('bytea_output') = 'hex'"

    /// `to_jsonb()` with `renderingSettings` pinned, for sessions that render values otherwise.
    static func renderingFunction(_ name: String) -> String {
        "CREATE OR REPLACE FUNCTION \(name)(anyelement) RETURNS jsonb\nLANGUAGE sql STABLE\n"
            + "SET search_path = pg_catalog, pg_temp\n"
            + Self.renderingSettings.map { "SET \($0.name) = \($0.value)\n" }.joined()
            + "AS 'SELECT pg_catalog.to_jsonb($1)'"
    }

    /// The complete migration for `specification` over `tables`.
    static func migration(
        _ specification: CaptureSpecification, tables: [CapturedTable], triggersOnly: Bool = false
    ) -> (up: String, down: String) {
        var up: [String] = []
        var down: [String] = []
        switch specification.target {
        case .outbox(let name):
            let names = OutboxNames(schema: specification.schema, name: name)
            if !triggersOnly {
                up += Self.outboxObjects(names, groups: specification.groups)
                up.append(Self.renderingFunction(names.renderingFunction))
                up.append(Self.outboxFunction(names, wakeUpReaders: specification.wakeUpReaders))
                up.append(Self.revokeExecute(names.function))
            }
            for table in tables {
                up += Self.createTriggers(
                    for: table, function: names.function, triggerName: names.trigger, leadingArguments: [],
                    captureOwnWrites: specification.captureOwnWrites)
                down += Self.dropTriggers(on: table.name, triggerName: names.trigger)
            }
            if !triggersOnly {
                // CASCADE also drops triggers on tables that were captured once but are no longer listed.
                down.append("DROP FUNCTION IF EXISTS \(names.function)() CASCADE")
                down.append("DROP FUNCTION IF EXISTS \(names.renderingFunction)(anyelement)")
                down.append("DROP TABLE IF EXISTS \(names.cursorsTable)")
                down.append("DROP TABLE IF EXISTS \(names.table)")
                down.append(Self.dropSchemaIfEmpty(specification.schema))
            }
        case .notify(let channel):
            let names = NotifyNames(schema: specification.schema, channel: channel)
            if !triggersOnly {
                up.append("CREATE SCHEMA IF NOT EXISTS \(SQLQuoting.identifier(specification.schema))")
                up += Self.notifyKeys(names)
                up.append(Self.renderingFunction(names.renderingFunction))
                up.append(Self.notifyFunction(names))
                up.append(Self.revokeExecute(names.function))
            }
            for table in tables {
                up += Self.createTriggers(
                    for: table, function: names.function, triggerName: names.trigger, leadingArguments: [channel],
                    captureOwnWrites: specification.captureOwnWrites)
                down += Self.dropTriggers(on: table.name, triggerName: names.trigger)
            }
            if !triggersOnly {
                down.append(Self.dropChannelTriggers(names))
                down.append(Self.dropChannelKey(names))
                down.append(Self.dropNotifyFunctionIfUnused(names))
                down.append(Self.dropSchemaIfEmpty(specification.schema))
            }
        }
        return (Self.script(up), Self.script(down))
    }

    static func script(_ statements: [String]) -> String {
        statements.map { $0 + ";\n" }.joined()
    }

    /// Only the owner may create triggers that call `function` (PostgreSQL checks `EXECUTE` when a trigger is
    /// created, not when it fires): otherwise any role that can create a table could attach Siphon's trigger to it
    /// and have its changes delivered as captured ones, signed like genuine ones.
    static func revokeExecute(_ function: String) -> String {
        "REVOKE ALL ON FUNCTION \(function)() FROM PUBLIC"
    }

    // MARK: Outbox

    static func outboxObjects(_ names: OutboxNames, groups: [ConsumerGroup]) -> [String] {
        var statements = [
            "CREATE SCHEMA IF NOT EXISTS \(SQLQuoting.identifier(names.schema))",
            """
            CREATE TABLE IF NOT EXISTS \(names.table) (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                xid bigint NOT NULL DEFAULT txid_current(),
                changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                changed_by text NOT NULL DEFAULT session_user,
                op text NOT NULL,
                schema_name text NOT NULL,
                table_name text NOT NULL,
                key jsonb NOT NULL,
                old jsonb,
                new jsonb,
                origin text
            )
            """,
            // BRIN: xids grow with insertion order, so a block-range index finds a transaction's rows for almost no
            // cost to writers.
            "CREATE INDEX IF NOT EXISTS \(SQLQuoting.identifier(names.xidIndexName)) ON \(names.table) USING brin (xid)",
            "COMMENT ON TABLE \(names.table) IS "
                + SQLQuoting.literal(
                    "Row changes captured by Siphon's triggers, written in the changing transaction. Readers deliver "
                        + "them and delete them (or keep them for the retention period)."),
            """
            CREATE TABLE IF NOT EXISTS \(names.cursorsTable) (
                group_name text NOT NULL,
                partition integer NOT NULL,
                partitions integer NOT NULL,
                delivered txid_snapshot NOT NULL DEFAULT '1:1:',
                window_snapshot txid_snapshot,
                window_lsn pg_lsn NOT NULL DEFAULT '0/0',
                last_id bigint NOT NULL DEFAULT 0,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (group_name, partition)
            )
            """,
            "COMMENT ON TABLE \(names.cursorsTable) IS "
                + SQLQuoting.literal(
                    "How far each consumer group of the outbox has delivered: every change of a transaction visible "
                        + "in `delivered`, and in the open window every change up to `last_id`."),
        ]
        for group in groups {
            statements.append(Self.registerGroup(group, names: names))
        }
        return statements
    }

    /// Adds a group's partitions to the cursors table unless the group exists.
    static func registerGroup(_ group: ConsumerGroup, names: OutboxNames) -> String {
        "INSERT INTO \(names.cursorsTable) (group_name, partition, partitions) SELECT \(SQLQuoting.literal(group.name)), "
            + "p, \(group.partitions) FROM generate_series(0, \(group.partitions - 1)) AS p ON CONFLICT DO NOTHING"
    }

    /// The one trigger function of an outbox. Arguments: old-row mode (`key`, `rekey` or `full`), `skip` or `keep`
    /// for Siphon's own writes, then the key columns (none: the whole row is the key).
    ///
    /// The wake-up notification is sent only while a reader is idle, which it shows by holding the outbox's idle
    /// lock: a notifying transaction takes a cluster-wide lock that it holds through its commit, serializing every
    /// such commit, so under load (readers busy) no transaction pays for one. The shared lock a writer takes when no
    /// reader is idle keeps a reader from declaring itself idle until that writer has committed, so the reader sees
    /// the change before it starts waiting.
    static func outboxFunction(_ names: OutboxNames, wakeUpReaders: Bool) -> String {
        let wake =
            wakeUpReaders
            ? """

                IF NOT pg_try_advisory_xact_lock_shared(\(names.idleLockKey), 0) THEN
                    -- Constant payload: PostgreSQL folds identical notifications, so a transaction sends one.
                    PERFORM pg_notify(\(SQLQuoting.literal(names.wakeChannel)), '');
                END IF;
            """ : ""
        let body = """

            DECLARE
                v_origin text := current_setting('siphon.origin', true);
                v_new jsonb;
                v_old jsonb;
                v_key jsonb;
                v_pinned boolean;
                v_index integer;
            BEGIN
            \(Self.ownWritesGuard(skipArgument: 1))
                IF TG_OP = 'TRUNCATE' THEN
                    v_key := '{}';
                ELSE
            \(Self.rowCapture(firstKeyArgument: 2, modeArgument: 0, renderingFunction: names.renderingFunction))
                END IF;
                INSERT INTO \(names.table) (op, schema_name, table_name, key, old, new, origin)
                VALUES (lower(TG_OP), TG_TABLE_SCHEMA, TG_TABLE_NAME, v_key, v_old, v_new, nullif(v_origin, ''));\(wake)
                RETURN NULL;
            END

            """
        // search_path: a SECURITY DEFINER function must not resolve anything in a schema its callers control.
        return "CREATE OR REPLACE FUNCTION \(names.function)() RETURNS trigger\nLANGUAGE plpgsql SECURITY DEFINER\n"
            + "SET search_path = pg_catalog, pg_temp\n"
            + "AS " + Self.dollarQuoted(body)
    }

    /// Returns from a trigger function without capturing when the session marked its writes as Siphon's own and the
    /// trigger was generated to skip them.
    ///
    /// `siphon.origin` is a setting any role may `SET`, so it counts only for sessions whose login role
    /// (`session_user`) is a member of the function's owner, which a `SECURITY DEFINER` function sees as
    /// `current_user`. Such a session can `SET ROLE` to the owner and replace this function or drop the triggers,
    /// so trusting it hides nothing it could not hide already; every other session is captured, its origin recorded.
    /// A replication origin cannot serve instead: on PostgreSQL 15 `pg_replication_origin_session_setup` is
    /// executable by superusers only (unless granted), and no function tells a trigger which origin a session set up.
    static func ownWritesGuard(skipArgument: Int) -> String {
        """
            IF v_origin = 'siphon' AND TG_ARGV[\(skipArgument)] = 'skip' THEN
                IF pg_has_role(session_user, current_user, 'MEMBER') THEN
                    RETURN NULL;
                END IF;
            END IF;
        """
    }

    /// Fills `v_new`, `v_old` and `v_key` for a row trigger, the way logical replication fills `new`, `old` and
    /// `key`. Modes: `full` (old is the whole row), `key` (old is the key for deletes; updates that keep their key
    /// have none, so `to_jsonb(OLD)` is skipped), `rekey` (an update that changed its key: old is the old key). The
    /// generator's `WHEN` clauses choose between `key` and `rekey`, so the function never compares keys itself.
    static func rowCapture(firstKeyArgument: Int, modeArgument: Int, renderingFunction: String) -> String {
        """
                    v_pinned := \(Self.renderingMatches);
                    IF TG_OP <> 'DELETE' THEN
                        v_new := CASE WHEN v_pinned THEN to_jsonb(NEW) ELSE \(renderingFunction)(NEW) END;
                    END IF;
                    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND TG_ARGV[\(modeArgument)] <> 'key') THEN
                        v_old := CASE WHEN v_pinned THEN to_jsonb(OLD) ELSE \(renderingFunction)(OLD) END;
                    END IF;
                    IF TG_NARGS = \(firstKeyArgument) THEN
                        v_key := coalesce(v_old, v_new);
                    ELSIF TG_NARGS = \(firstKeyArgument + 1) THEN
                        v_key := jsonb_build_object(TG_ARGV[\(firstKeyArgument)], coalesce(v_old, v_new) -> TG_ARGV[\(firstKeyArgument)]);
                    ELSE
                        v_key := '{}';
                        FOR v_index IN \(firstKeyArgument) .. TG_NARGS - 1 LOOP
                            v_key := v_key || jsonb_build_object(TG_ARGV[v_index], coalesce(v_old, v_new) -> TG_ARGV[v_index]);
                        END LOOP;
                    END IF;
                    IF TG_ARGV[\(modeArgument)] <> 'full' THEN
                        v_old := CASE WHEN TG_OP = 'DELETE' OR TG_ARGV[\(modeArgument)] = 'rekey' THEN v_key END;
                    END IF;
        """
    }

    // MARK: Notify

    /// The trigger function shared by every notify channel. Arguments: the channel, old-row mode, `skip` or `keep`,
    /// then the key columns.
    static func notifyFunction(_ names: NotifyNames) -> String {
        let body = """

            DECLARE
                v_origin text := current_setting('siphon.origin', true);
                v_new jsonb;
                v_old jsonb;
                v_key jsonb;
                v_pinned boolean;
                v_index integer;
                v_payload text;
                v_inner bytea;
                v_outer bytea;
            BEGIN
            \(Self.ownWritesGuard(skipArgument: 2))
                IF TG_OP = 'TRUNCATE' THEN
                    v_key := '{}';
                ELSE
            \(Self.rowCapture(firstKeyArgument: 3, modeArgument: 1, renderingFunction: names.renderingFunction))
                END IF;
                SELECT k.inner_pad, k.outer_pad INTO v_inner, v_outer FROM \(names.keysTable) AS k
                WHERE k.channel = TG_ARGV[0];
                v_payload := jsonb_build_object('op', lower(TG_OP), 'schema', TG_TABLE_SCHEMA, 'table', TG_TABLE_NAME,
                    'key', v_key, 'old', v_old, 'new', v_new)::text;
                v_payload := \(Self.signed("v_payload"));
                -- pg_notify refuses payloads of 8000 bytes or more, which would fail the user's statement: send the key
                -- and let the listener fetch the row.
                IF octet_length(v_payload) >= 8000 THEN
                    v_payload := jsonb_build_object('op', lower(TG_OP), 'schema', TG_TABLE_SCHEMA, 'table', TG_TABLE_NAME,
                        'key', v_key, 'truncated', true)::text;
                    v_payload := \(Self.signed("v_payload"));
                    IF octet_length(v_payload) >= 8000 THEN
                        RAISE WARNING 'siphon: no notification on channel % for a change of %.%: even its key is larger than the 8000-byte limit',
                            TG_ARGV[0], TG_TABLE_SCHEMA, TG_TABLE_NAME;
                        RETURN NULL;
                    END IF;
                END IF;
                PERFORM pg_notify(TG_ARGV[0], v_payload);
                RETURN NULL;
            END

            """
        // SECURITY DEFINER: the function reads the channel's key, which its callers must not be able to read.
        return "CREATE OR REPLACE FUNCTION \(names.function)() RETURNS trigger\nLANGUAGE plpgsql SECURITY DEFINER\n"
            + "SET search_path = pg_catalog, pg_temp\n"
            + "AS " + Self.dollarQuoted(body)
    }

    /// `payload` (a `jsonb` object's text) with `, "mac": "<HMAC-SHA256 in hex>"` before its closing brace, when the
    /// channel has a key (`v_inner`, `v_outer`); see `NotificationSignature`. The key is as long as SHA-256's block,
    /// so HMAC is `sha256((key XOR opad) || sha256((key XOR ipad) || message))` with both XORs stored with the key.
    static func signed(_ payload: String) -> String {
        "CASE WHEN v_inner IS NULL THEN \(payload) ELSE left(\(payload), -1) || "
            + SQLQuoting.literal(NotificationSignature.memberPrefix)
            + " || encode(sha256(v_outer || sha256(v_inner || convert_to(\(payload), 'UTF8'))), 'hex') || "
            + SQLQuoting.literal(NotificationSignature.memberSuffix) + " END"
    }

    /// The table of the channels' signing keys, readable only by its owner (who owns the trigger function), and a
    /// key for the channel unless it has one: 64 bytes from `gen_random_uuid()` (built in, from the server's strong
    /// random source; 488 random bits), so no extension is needed.
    static func notifyKeys(_ names: NotifyNames) -> [String] {
        func pad(_ byte: Int) -> String {
            "decode((SELECT string_agg(lpad(to_hex(get_byte(k.key, i) # \(byte)), 2, '0'), '' ORDER BY i) "
                + "FROM generate_series(0, \(NotificationSignature.keyLength - 1)) AS i), 'hex')"
        }
        let uuids = Array(repeating: "pg_catalog.uuid_send(pg_catalog.gen_random_uuid())", count: 4)
        return [
            """
            CREATE TABLE IF NOT EXISTS \(names.keysTable) (
                channel text PRIMARY KEY,
                key bytea NOT NULL CHECK (octet_length(key) = \(NotificationSignature.keyLength)),
                inner_pad bytea NOT NULL,
                outer_pad bytea NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "REVOKE ALL ON TABLE \(names.keysTable) FROM PUBLIC",
            "COMMENT ON TABLE \(names.keysTable) IS "
                + SQLQuoting.literal(
                    "Keys that sign Siphon's change notifications (HMAC-SHA256), one per channel; inner_pad and "
                        + "outer_pad are the key XOR 0x36 and XOR 0x5c. Whoever reads a key can forge that channel's "
                        + "changes: grant nothing on this table."),
            "INSERT INTO \(names.keysTable) (channel, key, inner_pad, outer_pad) "
                + "SELECT \(SQLQuoting.literal(names.channel)), k.key, \(pad(0x36)), \(pad(0x5c)) "
                + "FROM (SELECT \(uuids.joined(separator: " || ")) AS key) AS k ON CONFLICT (channel) DO NOTHING",
        ]
    }

    /// Deletes the channel's key (when the keys table exists).
    static func dropChannelKey(_ names: NotifyNames) -> String {
        let body = """

            BEGIN
                IF to_regclass(\(SQLQuoting.literal(names.keysTable))) IS NOT NULL THEN
                    DELETE FROM \(names.keysTable) WHERE channel = \(SQLQuoting.literal(names.channel));
                END IF;
            END

            """
        return "DO " + Self.dollarQuoted(body)
    }

    static func dropChannelTriggers(_ names: NotifyNames) -> String {
        let triggerNames = TriggerEvent.allCases.map { SQLQuoting.literal(names.trigger($0)) }.joined(separator: ", ")
        let body = """

            DECLARE
                v_trigger record;
            BEGIN
                FOR v_trigger IN
                    SELECT t.tgname, t.tgrelid::regclass AS relation FROM pg_trigger t
                    WHERE t.tgfoid = to_regprocedure(\(SQLQuoting.literal(names.function + "()")))
                        AND t.tgname IN (\(triggerNames))
                LOOP
                    EXECUTE format('DROP TRIGGER %I ON %s', v_trigger.tgname, v_trigger.relation);
                END LOOP;
            END

            """
        return "DO " + Self.dollarQuoted(body)
    }

    static func dropNotifyFunctionIfUnused(_ names: NotifyNames) -> String {
        let function = SQLQuoting.literal(names.function + "()")
        let body = """

            BEGIN
                IF to_regprocedure(\(function)) IS NOT NULL
                    AND NOT EXISTS (SELECT FROM pg_trigger WHERE tgfoid = to_regprocedure(\(function))) THEN
                    DROP FUNCTION \(names.function)();
                    DROP FUNCTION IF EXISTS \(names.renderingFunction)(anyelement);
                    DROP TABLE IF EXISTS \(names.keysTable);
                END IF;
            END

            """
        return "DO " + Self.dollarQuoted(body)
    }

    // MARK: Triggers

    /// The triggers `table` gets, in creation order.
    static func events(for table: CapturedTable) -> [TriggerEvent] {
        TriggerEvent.allCases.filter { event in
            table.capture.operations.contains(event.operation) && (event != .rekey || !table.oldRowIsFull)
        }
    }

    /// Trigger arguments after the leading ones (the channel): old-row mode, own-writes choice, key columns.
    static func arguments(for table: CapturedTable, event: TriggerEvent, captureOwnWrites: Bool) -> [String] {
        let mode = table.oldRowIsFull ? "full" : event == .rekey ? "rekey" : "key"
        return [mode, captureOwnWrites ? "keep" : "skip"] + table.key
    }

    static func createTriggers(
        for table: CapturedTable, function: String, triggerName: (TriggerEvent) -> String, leadingArguments: [String],
        captureOwnWrites: Bool
    ) -> [String] {
        var statements: [String] = []
        let comment = SQLQuoting.literal(Self.triggerComment(for: table))
        let events = Self.events(for: table)
        let keyKept =
            "(" + table.key.map {
                "OLD.\(SQLQuoting.identifier($0)) IS NOT DISTINCT FROM NEW.\(SQLQuoting.identifier($0))"
            }.joined(separator: " AND ") + ")"
        for event in TriggerEvent.allCases {
            let name = SQLQuoting.identifier(triggerName(event))
            statements.append("DROP TRIGGER IF EXISTS \(name) ON \(table.name)")
            guard events.contains(event) else { continue }
            var conditions: [String] = []
            if event.operation == .update && !table.capture.columns.isEmpty {
                conditions.append(
                    "("
                        + table.capture.columns.map {
                            "OLD.\(SQLQuoting.identifier($0)) IS DISTINCT FROM NEW.\(SQLQuoting.identifier($0))"
                        }.joined(separator: " OR ") + ")")
            }
            if event == .update && events.contains(.rekey) { conditions.append(keyKept) }
            if event == .rekey { conditions.append("NOT \(keyKept)") }
            if event != .truncate, let condition = table.capture.condition {
                conditions.append("(\(condition.trimmingWhitespace))")
            }
            let arguments = leadingArguments + Self.arguments(for: table, event: event, captureOwnWrites: captureOwnWrites)
            let argumentList = arguments.map { SQLQuoting.literal($0) }.joined(separator: ", ")
            let when = conditions.isEmpty ? "" : "\n    WHEN (\(conditions.joined(separator: " AND ")))"
            let level = event == .truncate ? "STATEMENT" : "ROW"
            statements.append(
                "CREATE TRIGGER \(name) AFTER \(event.operation.rawValue.uppercased()) ON \(table.name)\n"
                    + "    FOR EACH \(level)\(when)\n    EXECUTE FUNCTION \(function)(\(argumentList))")
            statements.append("COMMENT ON TRIGGER \(name) ON \(table.name) IS \(comment)")
        }
        return statements
    }

    static func dropTriggers(on table: TableName, triggerName: (TriggerEvent) -> String) -> [String] {
        TriggerEvent.allCases.map { "DROP TRIGGER IF EXISTS \(SQLQuoting.identifier(triggerName($0))) ON \(table)" }
    }

    /// Records what a trigger was generated for, so `doctor` can tell when the table changed since.
    static func triggerComment(for table: CapturedTable) -> String {
        var text = "siphon "
        text += "{\"columns\":[" + table.columns.map { JSONText.string($0) }.joined(separator: ",") + "]"
        text += ",\"key\":[" + table.key.map { JSONText.string($0) }.joined(separator: ",") + "]}"
        return text
    }

    /// The columns and key a trigger comment recorded, or `nil` when the comment is not Siphon's.
    static func parseTriggerComment(_ comment: String) -> (columns: [String], key: [String])? {
        guard comment.hasPrefix("siphon "),
            let members = try? JSONObjectText.members(of: comment.dropFirst("siphon ".count))
        else { return nil }
        func names(_ member: String) -> [String]? {
            guard let value = members.first(where: { $0.name == member })?.value,
                let elements = try? JSONObjectText.elements(of: value)
            else { return nil }
            let strings = elements.compactMap { try? JSONObjectText.string(fromLiteral: $0) }
            return strings.count == elements.count ? strings : nil
        }
        guard let columns = names("columns"), let key = names("key") else { return nil }
        return (columns, key)
    }

    /// A dollar-quoted body whose tag does not occur in `body`, so nothing inside can end it early.
    ///
    /// The search is on bytes, as PostgreSQL's lexer reads them: a `String` search compares grapheme clusters and
    /// misses `$siphon$` followed by a combining mark, which still ends the quote for the server.
    static func dollarQuoted(_ body: String, tag: String = "siphon") -> String {
        var delimiter = "$\(tag)$"
        var counter = 0
        while body.utf8.firstRange(of: delimiter.utf8) != nil {
            counter += 1
            delimiter = "$\(tag)\(counter)$"
        }
        return delimiter + body + delimiter
    }

    static func dropSchemaIfEmpty(_ schema: String) -> String {
        let body = """

            BEGIN
                DROP SCHEMA IF EXISTS \(SQLQuoting.identifier(schema));
            EXCEPTION WHEN dependent_objects_still_exist THEN
                -- Other objects (Siphon's bookkeeping, or yours) still live in it: keep it.
                NULL;
            END

            """
        return "DO " + Self.dollarQuoted(body)
    }
}
