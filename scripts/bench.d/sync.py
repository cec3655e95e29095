# Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.
"""The sync workload: how fast `siphon sync` applies a backlog of changes to the same table in a second cluster, side
by side with PostgreSQL's own logical replication (CREATE SUBSCRIPTION) applying the same backlog in the same run, and
how far behind each keeps the target while a writer commits single-row transactions at a steady rate.

Every contender reads its own slot, created before the backlog is written, and applies into its own target database
of the second cluster, so both apply exactly the same changes and neither sees the other's rows. Rounds are
interleaved and the median of each contender is reported, as in the snapshot workload. After every drain the target
table must equal the source's (row count and a digest of every row): a fast wrong answer is not a result.
"""

import os
import statistics
import subprocess
import time

from bench import (Child, Database, PgRecvLogical, command_text, fresh_directory, log, lsn_value, number,
                   pgbench_script, process_cpu_seconds, siphon_command_problem)

CONTENDERS = [("siphon", "Siphon (`siphon sync`)"), ("subscription", "CREATE SUBSCRIPTION")]
# Each contender applies into a database of its own on the target cluster: both need the source's table name.
TARGET_DATABASES = {"siphon": "sync_siphon", "subscription": "sync_subscription"}
PUBLICATION = "bench_sync"  # the subscriptions' publication; siphon sync makes its own
ROWS_PER_TRANSACTION = 1000
NOTE_REPEAT = 3  # ~200-byte rows, like the throughput workloads'
POLL_SECONDS = 0.01
BACKENDS_REFRESH_SECONDS = 0.5
# Every row, in key order, as to_jsonb() renders it: a per-row md5 keeps the aggregate small for a million rows.
DIGEST_SQL = ("SELECT count(*), md5(coalesce(string_agg(md5(to_jsonb(t)::text), '' ORDER BY id), '')) "
              "FROM {table} t")
ROW_SQL = "SELECT md5(to_jsonb(t)::text) FROM {table} t WHERE id = %s"

# Updates rows [first_id, first_id + total) in transactions of `per_transaction` rows, one COMMIT each.
UPDATE_PROCEDURE = """
    CREATE OR REPLACE PROCEDURE bench_update(tbl regclass, first_id bigint, total bigint, per_transaction bigint)
    LANGUAGE plpgsql AS $$
    DECLARE
        low bigint := first_id;
    BEGIN
        WHILE low < first_id + total LOOP
            EXECUTE format('UPDATE %s SET amount = amount + 1, active = NOT active,
                    attrs = attrs || jsonb_build_object(''updated'', true) WHERE id BETWEEN $1 AND $2', tbl)
                USING low, least(low + per_transaction, first_id + total) - 1;
            COMMIT;
            low := low + per_transaction;
        END LOOP;
    END $$"""


class SyncWorkload:
    """A backlog: `steps` are the CALLs that write it, `last_id` the key of the row its last transaction changes
    (applied in commit order, that row's final state on the target means everything before it is there too)."""

    def __init__(self, key, title, changes, transactions, steps, last_id):
        self.key = key
        self.title = title
        self.changes = changes
        self.transactions = transactions
        self.steps = steps
        self.last_id = last_id

    def sql(self, table):
        return "; ".join(step.replace("%s", table, 1) % arguments for step, arguments in self.steps)


def make_workloads(sizes):
    rows, single = sizes["sync_batch"], sizes["sync_single"]
    batch = SyncWorkload(
        "batch", f"{number(rows)} rows inserted, then updated, in {ROWS_PER_TRANSACTION:,}-row transactions",
        2 * rows, 2 * rows // ROWS_PER_TRANSACTION,
        [("CALL bench_fill(%s, 1, %s, %s, %s)", (rows, ROWS_PER_TRANSACTION, NOTE_REPEAT)),
         ("CALL bench_update(%s, 1, %s, %s)", (rows, ROWS_PER_TRANSACTION))], rows)
    single = SyncWorkload("single", f"{number(single)} single-row inserts, one transaction each", single, single,
                          [("CALL bench_fill(%s, 1, %s, %s, %s)", (single, 1, NOTE_REPEAT))], single)
    return [batch, single]


# --------------------------------------------------------------------------------------------------------------------
# The contenders


def target_url(ctx, key):
    return f"postgres://postgres@127.0.0.1:{ctx.target_port}/{TARGET_DATABASES[key]}?sslmode=disable"


def siphon_argv(ctx, table, name):
    # --no-initial-copy: the slot predates every row, so the stream carries them all; a copy would apply them twice
    # over (harmlessly, but it is not the work being measured).
    return [ctx.siphon, "sync", "--from", ctx.url, "--to", target_url(ctx, "siphon"), "--table", f"public.{table}",
            "--name", name, "--no-initial-copy"]


def siphon_slot(name):
    return f"siphon_sync_{name}"


def subscription_sql(ctx, slot):
    connection = f"host=127.0.0.1 port={ctx.port} user=postgres dbname=bench"
    return (f"CREATE SUBSCRIPTION {slot} CONNECTION '{connection}' PUBLICATION {PUBLICATION} "
            f"WITH (create_slot = false, slot_name = '{slot}', copy_data = false, enabled = false)")


def wait_until(condition, timeout, what, child=None):
    deadline = time.monotonic() + timeout
    while not condition():
        if child is not None and child.poll() is not None:
            raise RuntimeError(f"{what}: siphon exited with {child.status}: {child.log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout:.0f} s" +
                               (f": {child.log_tail()}" if child is not None else ""))
        time.sleep(0.05)


def slot_active(source, slot):
    return source.row("SELECT active FROM pg_replication_slots WHERE slot_name = %s", (slot,)) == (True,)


def slot_released(source, slot):
    return source.row("SELECT active FROM pg_replication_slots WHERE slot_name = %s", (slot,)) in (None, (False,))


def progress_recorded(target, slot):
    if not target.value("SELECT to_regclass('siphon.sync_progress') IS NOT NULL"):
        return False
    return target.value("SELECT count(*) FROM siphon.sync_progress WHERE name = %s", (slot,)) == 1


def prepare_siphon(ctx, source, target, table, name, run_dir):
    """Runs `siphon sync` until it streams (its slot active, its progress row on the target), then stops it: its
    publication, slot, origin and progress row exist, and nothing reads the slot while the backlog is written."""
    slot = siphon_slot(name)
    child = Child(siphon_argv(ctx, table, name), ctx.environment, os.path.join(run_dir, f"prepare-{name}.log"),
                  run_dir, subprocess.DEVNULL)
    try:
        wait_until(lambda: slot_active(source, slot) and progress_recorded(target, slot), 120,
                   f"siphon sync --name {name} streaming", child)
    finally:
        child.stop()
    if child.status != 0:
        raise RuntimeError(f"siphon sync --name {name} exited with {child.status} on SIGTERM: {child.log_tail()}")
    wait_until(lambda: slot_released(source, slot), 30, f"slot {slot} released")


def teardown_siphon(ctx, source, table, name):
    """`siphon sync --teardown` once its slot is free: removes the slot, publication, origin and progress row."""
    wait_until(lambda: slot_released(source, siphon_slot(name)), 30, f"slot {siphon_slot(name)} released")
    run = subprocess.run(siphon_argv(ctx, table, name) + ["--teardown"], capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=120, env=ctx.environment)
    if run.returncode != 0:
        raise RuntimeError(f"siphon sync --name {name} --teardown exited with {run.returncode}: "
                           f"{run.stderr.strip()[-300:]}")


def prepare_subscription(ctx, source, target, slot):
    source.create_slot(slot)
    target.execute(subscription_sql(ctx, slot))


def drop_subscription(source, target, slot):
    """Stops the apply worker and drops the subscription, then its slot (which the subscription does not own)."""
    if target.value("SELECT count(*) FROM pg_subscription WHERE subname = %s", (slot,)):
        target.execute(f"ALTER SUBSCRIPTION {slot} DISABLE")
        target.execute(f"ALTER SUBSCRIPTION {slot} SET (slot_name = NONE)")
        target.execute(f"DROP SUBSCRIPTION {slot}")
    source.drop_slot(slot)


class ApplyBackends:
    """CPU time of the target backends that apply a contender's changes (Siphon's connections, the subscription's
    apply worker): the work each contender leaves to the server. Read from /proc/<pid>/stat while they live."""

    SQL = ("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
           "AND backend_type IN ('client backend', 'logical replication worker')")

    def __init__(self, target):
        self.target = target
        self.cpu = {}
        self.refreshed = 0.0

    def sample(self, refresh=False):
        """Reads every known backend's CPU time; looks for new backends at once while none is known (a contender's
        first connection), then every BACKENDS_REFRESH_SECONDS, and when asked (at the end of a drain)."""
        if refresh or not self.cpu or time.monotonic() - self.refreshed > BACKENDS_REFRESH_SECONDS:
            for (pid,) in self.target.rows(self.SQL):
                self.cpu.setdefault(pid, None)
            self.refreshed = time.monotonic()
        for pid in self.cpu:
            seconds = process_cpu_seconds(pid)
            if seconds is not None:
                self.cpu[pid] = seconds

    def seconds(self):
        return sum(seconds for seconds in self.cpu.values() if seconds is not None)


def drain(ctx, source, target, key, table, slot, name, probe, timeout, run_dir):
    """One contender applying the whole backlog from its slot into its emptied target table: timed from the start of
    the walsender that reads its slot until the row the last transaction changed shows its final state on the target.
    The walsender's backend_start comes from the server, on this machine's clock: a small backlog can be half applied
    by the time a poll sees the slot active."""
    target.execute(f"TRUNCATE {table}")
    target.execute("CHECKPOINT")
    backends = ApplyBackends(target)
    child = None
    launched = time.time()
    if key == "siphon":
        argv = siphon_argv(ctx, table, name)
        child = Child(argv, ctx.environment, os.path.join(run_dir, f"{name}.log"), run_dir, subprocess.DEVNULL)
        command = command_text(ctx, argv)
    else:
        target.execute(f"ALTER SUBSCRIPTION {slot} ENABLE")
        command = f"{subscription_sql(ctx, slot)}; ALTER SUBSCRIPTION {slot} ENABLE"
    walsender_start = None
    try:
        while True:
            if time.time() - launched > timeout:
                raise RuntimeError(f"{key} did not apply the backlog within {timeout:.0f} s" +
                                   (f": {child.log_tail()}" if child else ""))
            if walsender_start is None:
                walsender_start = source.value(
                    "SELECT extract(epoch FROM a.backend_start) FROM pg_replication_slots s "
                    "JOIN pg_stat_activity a ON a.pid = s.active_pid WHERE s.slot_name = %s", (slot,))
            backends.sample()
            if child is not None:
                child.sample_memory()
                if child.poll() is not None:
                    raise RuntimeError(f"siphon sync exited with {child.status} before applying the backlog: "
                                       f"{child.log_tail()}")
            if target.value(ROW_SQL.format(table=table), (probe[0],)) == probe[1]:
                done_at = time.time()
                break
            time.sleep(POLL_SECONDS)
        backends.sample(refresh=True)
        if child is not None:
            clean = child.stop()
            if child.status != 0 or not clean:
                raise RuntimeError(f"siphon sync did not stop cleanly on SIGTERM (status {child.status}): "
                                   f"{child.log_tail()}")
    finally:
        if child is not None and child.status is None:
            child.stop(grace=5)
        if key == "siphon":
            teardown_siphon(ctx, source, table, name)
        else:
            drop_subscription(source, target, slot)
    rows, digest = target.row(DIGEST_SQL.format(table=table))
    # A loaded machine can leave a poll unanswered until a small backlog is applied; then the run is timed from the
    # launch, start-up included, which only makes the contender look slower.
    started = float(walsender_start) if walsender_start is not None else launched
    return dict(seconds=max(done_at - started, 1e-6), startup_seconds=started - launched,
                cpu=child.cpu_seconds() if child else None, rss=child.peak_rss_mb() if child else None,
                target_cpu=backends.seconds(), rows=rows, md5=digest, command=command)


def run_workload(ctx, source, targets, workload, rounds):
    table = f"sync_{workload.key}"
    log(f"sync {workload.key}: {workload.title}; {rounds} round(s)")
    for db in [source, *targets.values()]:
        db.execute(f"DROP TABLE IF EXISTS {table}")
        db.create_table(table)
    source.execute(f"CREATE PUBLICATION {PUBLICATION} FOR TABLE {table}")
    run_dir = fresh_directory(ctx, f"sync-{workload.key}")
    names = [f"bench_{workload.key}_{index}" for index in range(1, rounds + 1)]
    slots = {"siphon": [siphon_slot(name) for name in names],
             "subscription": [f"bench_sub_{workload.key}_{index}" for index in range(1, rounds + 1)]}
    warmup_slot = f"bench_sync_{workload.key}_warmup"
    prepared = {"siphon": [], "subscription": []}
    try:
        # Every slot exists before the first change: each contender, in each round, applies the whole backlog.
        for name in names:
            prepare_siphon(ctx, source, targets["siphon"], table, name, run_dir)
            prepared["siphon"].append(name)
        for slot in slots["subscription"]:
            prepare_subscription(ctx, source, targets["subscription"], slot)
            prepared["subscription"].append(slot)
        source.create_slot(warmup_slot)
        start = lsn_value(source.value("SELECT pg_current_wal_lsn()::text"))
        began = time.monotonic()
        for step, arguments in workload.steps:
            source.execute(step, (table, *arguments))
        generated = time.monotonic() - began
        endpos = source.value("SELECT pg_current_wal_lsn()::text")
        wal_bytes = lsn_value(endpos) - start
        source_rows, source_md5 = source.row(DIGEST_SQL.format(table=table))
        probe = (workload.last_id, source.value(ROW_SQL.format(table=table), (workload.last_id,)))
        log(f"  backlog: {number(workload.changes)} changes in {number(workload.transactions)} transactions, "
            f"{wal_bytes / 1e6:.0f} MB of WAL, written in {generated:.1f} s")
        timeout = max(120, workload.changes / 1000)
        # As in the CDC workloads, an unmeasured pass decodes the new WAL first: the first walsender to decode it
        # was seen to need more CPU than later ones, and neither contender should pay for going first.
        subprocess.run(PgRecvLogical(ctx, False).throughput_argv(ctx, warmup_slot, PUBLICATION, endpos, None, None),
                       check=True, timeout=timeout, env=ctx.environment, stdin=subprocess.DEVNULL)
        source.drop_slot(warmup_slot)
        samples = {key: [] for key, _ in CONTENDERS}
        for round_number in range(rounds):
            for key, label in CONTENDERS:
                slot = slots[key][round_number]
                name = names[round_number]
                # drain() removes the contender's sync or subscription itself, whatever happens.
                prepared[key].remove(name if key == "siphon" else slot)
                sample = drain(ctx, source, targets[key], key, table, slot, name, probe, timeout, run_dir)
                if (sample["rows"], sample["md5"]) != (source_rows, source_md5):
                    raise RuntimeError(f"{label} left the target table different from the source: "
                                       f"{sample['rows']} rows, md5 {sample['md5']}; the source has {source_rows} "
                                       f"rows, md5 {source_md5}")
                samples[key].append(sample)
                log(f"  round {round_number + 1}: {label}: {workload.changes / sample['seconds']:,.0f} changes/s, "
                    f"{sample['seconds']:.2f} s, target backend CPU {sample['target_cpu']:.2f} s" +
                    (f", siphon CPU {sample['cpu']:.2f} s, peak RSS {sample['rss'] or 0:.0f} MB"
                     if key == "siphon" else "") + "; target equals the source")
    finally:
        for name in prepared["siphon"]:
            teardown_siphon(ctx, source, table, name)
        for slot in prepared["subscription"]:
            drop_subscription(source, targets["subscription"], slot)
        if source.value("SELECT count(*) FROM pg_replication_slots WHERE slot_name = %s", (warmup_slot,)):
            source.drop_slot(warmup_slot)
        source.execute(f"DROP PUBLICATION IF EXISTS {PUBLICATION}")
    results = []
    for key, label in CONTENDERS:
        runs = samples[key]
        seconds = statistics.median(run["seconds"] for run in runs)
        results.append(dict(
            key=key, label=label, changes_per_second=workload.changes / seconds, seconds=seconds,
            startup_seconds=statistics.median(run["startup_seconds"] for run in runs),
            cpu=statistics.median(run["cpu"] for run in runs) if key == "siphon" else None,
            rss=max(run["rss"] or 0 for run in runs) if key == "siphon" else None,
            target_cpu=statistics.median(run["target_cpu"] for run in runs),
            runs=[workload.changes / run["seconds"] for run in runs],
            rows=[run["rows"] for run in runs], md5=[run["md5"] for run in runs],
            command=runs[0]["command"]))
    ratio = results[0]["changes_per_second"] / results[1]["changes_per_second"]
    log(f"  {workload.key}: Siphon {number(results[0]['changes_per_second'])} changes/s, subscription "
        f"{number(results[1]['changes_per_second'])} changes/s ({ratio:.2f}×)")
    for db in [source, *targets.values()]:
        db.execute(f"DROP TABLE {table}")
    source.execute("CHECKPOINT")
    return dict(key=workload.key, title=workload.title, changes=workload.changes, transactions=workload.transactions,
                wal_bytes=wal_bytes, generate_seconds=generated, sql=workload.sql("table"), source_rows=source_rows,
                source_md5=source_md5, ratio=ratio, results=results,
                teardown=command_text(ctx, siphon_argv(ctx, table, names[0]) + ["--teardown"]))


# --------------------------------------------------------------------------------------------------------------------
# Lag at a steady rate


def lag_script(ctx, table):
    """One ~200-byte row per transaction; `created_at` is the writer's clock just before its commit, which the lag
    is measured from."""
    return pgbench_script(ctx, table, created_at="clock_timestamp()")


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure_lag(ctx, source, target, key, label, rate, seconds, warmup, run_dir):
    """One contender running live while pgbench commits single-row inserts at `rate` per second. Every 10 ms the
    harness asks the target how old its newest row is (clock_timestamp() - max(created_at); both clusters share this
    machine's clock); samples taken after the warm-up while pgbench runs are the lag."""
    table = "sync_lag"
    for db in [source, target]:
        db.execute(f"DROP TABLE IF EXISTS {table}")
        db.create_table(table)
    # Only on the target, where the poller reads it; both contenders maintain it alike.
    target.execute(f"CREATE INDEX ON {table} (created_at)")
    source.execute(f"CREATE PUBLICATION {PUBLICATION} FOR TABLE {table}")
    name, slot = "bench_lag", "bench_sub_lag"
    child = None
    pgbench = None
    samples = []
    try:
        if key == "siphon":
            slot = siphon_slot(name)
            argv = siphon_argv(ctx, table, name)
            child = Child(argv, ctx.environment, os.path.join(run_dir, "lag.log"), run_dir, subprocess.DEVNULL)
            command = command_text(ctx, argv)
            wait_until(lambda: slot_active(source, slot) and progress_recorded(target, slot), 120,
                       f"{label} streaming", child)
        else:
            prepare_subscription(ctx, source, target, slot)
            target.execute(f"ALTER SUBSCRIPTION {slot} ENABLE")
            command = f"{subscription_sql(ctx, slot)}; ALTER SUBSCRIPTION {slot} ENABLE"
            wait_until(lambda: slot_active(source, slot), 120, f"{label} streaming")
        time.sleep(1)  # let it settle into streaming before the writer starts
        script_path = lag_script(ctx, table)
        pgbench_argv = [os.path.join(ctx.pg_bin, "pgbench"), "-n", "-h", "127.0.0.1", "-p", ctx.port, "-U",
                        "postgres", "-c", "4", "-j", "2", "-R", str(rate), "-T", str(warmup + seconds),
                        "-f", script_path, "bench"]
        pgbench = subprocess.Popen(pgbench_argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   env=ctx.environment, text=True)
        measured_from = time.monotonic() + warmup
        lag_sql = f"SELECT extract(epoch FROM clock_timestamp() - max(created_at)) * 1000 FROM {table}"
        while pgbench.poll() is None:
            lag = target.value(lag_sql)
            if lag is not None and time.monotonic() >= measured_from:
                samples.append(float(lag))
            if child is not None:
                child.sample_memory()
                if child.poll() is not None:
                    raise RuntimeError(f"siphon sync exited with {child.status}: {child.log_tail()}")
            time.sleep(POLL_SECONDS)
        writer_done = time.monotonic()
        said = pgbench.stdout.read()
        if pgbench.returncode != 0:
            raise RuntimeError(f"pgbench failed: {said.strip()[-300:]}")
        committed = source.value(f"SELECT count(*) FROM {table}")
        # A contender that keeps up has (nearly) everything when the writer stops; one that falls behind shows it
        # here, which percentiles of a lag that grows over the run would hide.
        wait_until(lambda: target.value(f"SELECT count(*) FROM {table}") == committed, 120,
                   f"{label} applying the last of the writer's rows", child)
        catch_up = time.monotonic() - writer_done
        if target.row(DIGEST_SQL.format(table=table)) != source.row(DIGEST_SQL.format(table=table)):
            raise RuntimeError(f"{label} left the lag table different from the source")
    finally:
        if pgbench is not None and pgbench.poll() is None:
            pgbench.kill()
            pgbench.wait()
        if child is not None:
            child.stop()
        if key == "siphon":
            teardown_siphon(ctx, source, table, name)
        else:
            drop_subscription(source, target, slot)
        source.execute(f"DROP PUBLICATION IF EXISTS {PUBLICATION}")
        for db in [source, target]:
            db.execute(f"DROP TABLE IF EXISTS {table}")
    if not samples:
        raise RuntimeError(f"no lag sample for {label} after the warm-up")
    with open(script_path) as file:
        script = file.read().strip()
    result = dict(key=key, label=label, samples=len(samples), p50_ms=percentile(samples, 0.5),
                  p99_ms=percentile(samples, 0.99), max_ms=max(samples), rows=committed,
                  achieved_rate=committed / (warmup + seconds), catch_up_seconds=catch_up, command=command,
                  pgbench=command_text(ctx, pgbench_argv), script=script)
    log(f"  lag, {label}: p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, max {result['max_ms']:.1f} ms "
        f"({result['samples']} samples), caught up {catch_up:.2f} s after the writer stopped; target equals the "
        "source")
    return result


# --------------------------------------------------------------------------------------------------------------------
# The workload


def sync_problem(ctx):
    """Why the sync workload cannot run here, or None."""
    if ctx.target_port is None:
        return "no target cluster (scripts/bench starts one when the sync workload is selected)"
    return siphon_command_problem(ctx, "sync", "this siphon build has no `sync` command")


def run_sync(ctx, db, sizes):
    rounds, rate = sizes["sync_rounds"], sizes["sync_lag_rate"]
    lag_seconds, lag_warmup = sizes["sync_lag_seconds"], sizes["sync_lag_warmup"]
    summary = dict(rounds=rounds, lag_rate=rate, lag_seconds=lag_seconds, lag_warmup=lag_warmup)
    problem = sync_problem(ctx)
    if problem:
        log(f"sync: skipped: {problem}")
        return dict(status="skipped", reason=problem, **summary)
    import psycopg2

    db.execute(UPDATE_PROCEDURE)
    admin = Database(ctx.target_port, "postgres")
    targets = {}
    try:
        for key, database in TARGET_DATABASES.items():
            admin.execute(f"DROP DATABASE IF EXISTS {database}")
            admin.execute(f"CREATE DATABASE {database}")
            targets[key] = Database(ctx.target_port, database)
        target_settings = targets["siphon"].settings()
        workloads = [run_workload(ctx, db, targets, workload, rounds) for workload in make_workloads(sizes)]
        log(f"sync lag at {number(rate)} transactions/s for {lag_warmup} + {lag_seconds} s (single-row inserts, "
            "4 pgbench clients)")
        run_dir = fresh_directory(ctx, "sync-lag")
        lag = [measure_lag(ctx, db, targets[key], key, label, rate, lag_seconds, lag_warmup, run_dir)
               for key, label in CONTENDERS]
    except (psycopg2.Error, subprocess.SubprocessError) as error:
        raise RuntimeError(str(error).strip()) from error
    finally:
        for target in targets.values():
            target.close()
        for database in TARGET_DATABASES.values():
            admin.execute(f"DROP DATABASE IF EXISTS {database}")
        admin.close()
    return dict(status="ok", target_settings=target_settings, workloads=workloads, lag=lag, **summary)
