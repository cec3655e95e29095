# Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.
"""The snapshot workload: how fast `siphon run --snapshot` delivers the rows a table already holds, side by side with
COPY of the same table (text and binary, through psql into /dev/null) in the same run. Rounds are interleaved and the
median of each contender is reported, so one noisy round cannot flip a verdict."""

import os
import statistics
import time

from bench import Child, command_text, fresh_directory, log, number


def copy_argv(ctx, table, binary):
    options = " WITH (FORMAT binary)" if binary else ""
    return [os.path.join(ctx.pg_bin, "psql"), "-X", "-q", "-d", ctx.dsn, "-c",
            f"\\copy {table} TO /dev/null{options}"]


def siphon_argv(ctx, slot, publication, sink, parallel):
    return [ctx.siphon, "run", "--url", ctx.url, "--slot", slot, "--publication", publication, "--sink", sink,
            "--snapshot", "--snapshot-parallel", str(parallel), "--log-level", "notice"]


def time_copy(ctx, argv, run_dir):
    child = Child(argv, ctx.environment, os.path.join(run_dir, "copy.log"), run_dir, None)
    started = time.monotonic()
    while child.poll() is None:
        child.sample_memory()
        time.sleep(0.01)
    seconds = time.monotonic() - started
    if child.status != 0:
        raise RuntimeError(f"{command_text(ctx, argv)} failed: {child.log_tail()}")
    return dict(seconds=seconds, cpu=child.cpu_seconds(), rss=child.peak_rss_mb())


def snapshots_table_exists(db):
    """Whether `siphon run` made siphon.snapshots yet (a query naming a missing table fails)."""
    return db.value("SELECT to_regclass('siphon.snapshots') IS NOT NULL")


def time_siphon(ctx, db, table, publication, sink, parallel, run_dir, rows, timeout):
    slot = "bench_snapshot"
    if snapshots_table_exists(db):
        db.execute("DELETE FROM siphon.snapshots WHERE slot = %s", (slot,))
    db.create_slot(slot)
    argv = siphon_argv(ctx, slot, publication, sink, parallel)
    child = Child(argv, ctx.environment, os.path.join(run_dir, "siphon.log"), run_dir, None)
    started = time.monotonic()
    try:
        while True:
            if child.poll() is not None:
                raise RuntimeError(f"siphon exited with {child.status}: {child.log_tail()}")
            child.sample_memory()
            state = db.row("SELECT state, rows_done FROM siphon.snapshots WHERE slot = %s", (slot,)) \
                if snapshots_table_exists(db) else None
            if state and state[0] == "done":
                break
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"the snapshot did not finish within {timeout:.0f} s: {child.log_tail()}")
            time.sleep(0.02)
        seconds = time.monotonic() - started
        if state[1] != rows:
            raise RuntimeError(f"siphon delivered {state[1]} rows of {rows}")
    finally:
        child.stop()
        db.drop_slot(slot)
    return dict(seconds=seconds, cpu=child.cpu_seconds(), rss=child.peak_rss_mb(), command=command_text(ctx, argv))


def run_snapshot(ctx, db, rows, rounds):
    table, publication = "snapshot_rows", "snapshot_pub"
    db.execute(f"DROP TABLE IF EXISTS {table}")
    db.create_table(table)
    db.execute(f"DROP PUBLICATION IF EXISTS {publication}")
    db.execute(f"CREATE PUBLICATION {publication} FOR TABLE {table}")
    started = time.monotonic()
    db.execute("CALL bench_fill(%s, 1, %s, %s, %s)", (table, rows, 100_000, 3))
    db.execute(f"VACUUM ANALYZE {table}")
    log(f"snapshot: {number(rows)} rows in {time.monotonic() - started:.1f} s")
    run_dir = fresh_directory(ctx, "snapshot")
    jsonl = os.path.join(run_dir, "snapshot.jsonl")
    contenders = [
        ("copy-text", "COPY text (psql \\copy → /dev/null)", lambda: time_copy(ctx, copy_argv(ctx, table, False), run_dir),
         command_text(ctx, copy_argv(ctx, table, False))),
        ("copy-binary", "COPY binary (psql \\copy → /dev/null)", lambda: time_copy(ctx, copy_argv(ctx, table, True), run_dir),
         command_text(ctx, copy_argv(ctx, table, True))),
        ("siphon-jsonl", "Siphon → jsonl (fsync per batch)", None, None),
        ("siphon-jsonl-2", "Siphon → jsonl, --snapshot-parallel 2", None, None),
        ("siphon-null", "Siphon → null (decode only)", None, None),
    ]
    timeout = max(120, rows / 2_000)
    sinks = {"siphon-jsonl": (f"jsonl:{jsonl}", 1), "siphon-jsonl-2": (f"jsonl:{jsonl}", 2),
             "siphon-null": ("null", 1)}
    samples = {key: [] for key, *_ in contenders}
    commands = {}
    for round_number in range(rounds):
        for key, label, measure, command in contenders:
            if key in sinks:
                for path in (jsonl, jsonl + ".siphon"):
                    if os.path.exists(path):
                        os.remove(path)
                sink, parallel = sinks[key]
                sample = time_siphon(ctx, db, table, publication, sink, parallel, run_dir, rows, timeout)
                commands[key] = sample.pop("command")
            else:
                sample = measure()
                commands[key] = command
            samples[key].append(sample)
            log(f"  snapshot round {round_number + 1}: {label}: {rows / sample['seconds']:,.0f} rows/s")
    results = []
    for key, label, *_ in contenders:
        seconds = statistics.median(s["seconds"] for s in samples[key])
        results.append(dict(key=key, label=label, rows_per_second=rows / seconds, seconds=seconds,
                            cpu=statistics.median(s["cpu"] for s in samples[key]),
                            rss=max((s["rss"] or 0) for s in samples[key]), command=commands[key]))
    db.execute(f"DROP PUBLICATION {publication}")
    db.execute(f"DROP TABLE {table}")
    return dict(rows=rows, rounds=rounds, results=results,
                fill=f"CALL bench_fill(table, 1, {rows}, 100000, 3)")
