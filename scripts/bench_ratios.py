#!/usr/bin/env python3
"""Print the benchmark ratio table from criterion's estimates.

Reads <criterion dir>/**/new/{estimates,benchmark}.json as written by
`cargo bench -p rfc6455-bench --bench core` (and `--bench handshake`,
`--bench echo`, `--bench deflate`, `--bench async_echo`; the benchmarks are
the workspace member bench/, writing to the workspace's target/), and
prints, for each workload, our throughput divided by the comparison's throughput (tungstenite's,
fastwebsockets', or a floor's). Both sides of a ratio are functions of the
same criterion group, so they come from the same run. Rows marked as costs
(server CPU per message) print our cost divided by the reference's, and
their target is an upper bound.

`async_echo` also writes <criterion dir>/async_echo_rounds/<baseline>.json:
server CPU per message and messages/s from interleaved rounds (the servers
take turns, so machine load hits them alike), with per-round ratios already
reduced to medians; those rows are marked "(rounds)".

Usage:
    python3 scripts/bench_ratios.py [CRITERION_DIR] [--stat min|median|mean] [--markdown]
                                    [--baselines r1,r2,r3]

With --baselines, reads <group>/<function>/<baseline>/ (as saved by
`cargo bench ... -- --save-baseline r1`) instead of new/, computes each
ratio per baseline (that is, per run) and prints their median with the
min..max spread: on a shared, noisy machine, repeating the runs and taking
the median ratio is what makes the table reproducible.

CRITERION_DIR defaults to $CRITERION_HOME, else $CARGO_TARGET_DIR/criterion,
else target/criterion at the repository root (wherever this is run from).
Rows whose benchmarks have not been run are skipped. Exit status is 1 when a
ratio with a target misses it (so a script can gate on it), 0 otherwise.
"""

import argparse
import glob
import json
import os
import sys

# (workload, group, ours, reference, target or None[, "cost"]): a "cost" row
# prints our time / the reference's time (lower is better, target an upper
# bound); the others print throughput ratios (target a lower bound).
ROWS = [
    ("decode 100k x 16 B text", "decode_small", "rfc6455", "tungstenite", 2.0),
    ("decode 16 x 1 MiB binary", "decode_1mib", "rfc6455", "tungstenite", 1.4),
    ("decode 16 x 1 MiB vs copy+unmask floor", "decode_1mib", "rfc6455", "floor_copy_unmask", 0.95),
    ("  (ceiling: floor vs tungstenite)", "decode_1mib", "floor_copy_unmask", "tungstenite", None),
    ("encode 100k x 16 B text, server", "encode_small_server", "rfc6455", "tungstenite", 1.5),
    ("encode 100k x 16 B text, client", "encode_small_client", "rfc6455", "tungstenite", 2.0),
    ("encode 1 MiB binary, server", "encode_1mib_server", "rfc6455", "tungstenite", None),
    ("encode 1 MiB binary, server vs memcpy", "encode_1mib_server", "rfc6455", "floor_memcpy", 0.95),
    ("encode 1 MiB binary, client", "encode_1mib_client", "rfc6455", "tungstenite", 1.2),
    ("encode 1 MiB binary, client vs memcpy", "encode_1mib_client", "rfc6455", "floor_memcpy", None),
    ("mask 1 MiB vs u64 loop", "mask", "rfc6455", "u64_loop", 0.9),
    ("mask 1 MiB vs memcpy", "mask", "rfc6455", "floor_memcpy", None),
    ("UTF-8 1 MiB ASCII vs from_utf8", "utf8_ascii", "rfc6455", "core_str_from_utf8", None),
    ("UTF-8 1 MiB ASCII, 4093 B pieces", "utf8_ascii", "rfc6455_pieces/4093", "core_str_from_utf8", None),
    ("UTF-8 1 MiB multi-byte vs from_utf8", "utf8_multibyte", "rfc6455", "core_str_from_utf8", None),
    ("UTF-8 1 MiB multi-byte, 4093 B pieces", "utf8_multibyte", "rfc6455_pieces/4093", "core_str_from_utf8", None),
    ("reassemble 1 MiB in 64 fragments", "fragmented", "rfc6455", "tungstenite", None),
    ("handshake: parse + 101 response", "handshake", "rfc6455", "tungstenite", 2.7),
    ("handshake vs tungstenite::accept", "handshake", "rfc6455", "tungstenite_accept", None),
    ("echo 64 B, 1 connection", "echo_1conn", "rfc6455", "tungstenite", None),
    ("echo 64 B, 16 connections", "echo_16conn", "rfc6455", "tungstenite", None),
    ("tokio echo 64 B, 16 conns, window 1", "echo_tokio_16conns", "rfc6455", "fastwebsockets", 1.0),
    ("tokio echo 64 B, 16 conns, window 1", "echo_tokio_16conns", "rfc6455", "fastwebsockets_hyper", None),
    ("tokio echo 64 B, 16 conns, window 8", "echo_tokio_16conns_window8", "rfc6455", "fastwebsockets", None),
    ("tokio echo server CPU/msg (schedstat)", "echo_tokio_16conns_server_cpu", "rfc6455", "fastwebsockets", 0.9, "cost"),
    ("tokio echo server loop CPU/msg, no I/O", "echo_tokio_server_no_io", "rfc6455", "fastwebsockets", None, "cost"),
]

# (workload, reference, key in ratios_rfc6455_over[reference], target or None, "cost" or "throughput")
ROUNDS_ROWS = [
    ("tokio echo 64 B, 16 conns, msg/s (rounds)", "fastwebsockets", "msgs_per_s", 1.0, "throughput"),
    ("tokio echo server CPU/msg, stat (rounds)", "fastwebsockets", "server_cpu", 0.9, "cost"),
    ("tokio echo server CPU/msg, schedstat (rounds)", "fastwebsockets", "server_sched", None, "cost"),
    ("tokio echo 64 B, 16 conns, msg/s (rounds)", "fastwebsockets_hyper", "msgs_per_s", None, "throughput"),
    ("tokio echo server CPU/msg, stat (rounds)", "fastwebsockets_hyper", "server_cpu", None, "cost"),
]


def load(root, stat, baseline="new"):
    """Maps 'group/function[/param]' to (seconds per iteration, throughput dict)."""
    out = {}
    for est_path in glob.glob(os.path.join(root, "**", baseline, "estimates.json"), recursive=True):
        new_dir = os.path.dirname(est_path)
        bench_path = os.path.join(new_dir, "benchmark.json")
        try:
            with open(est_path) as f:
                est = json.load(f)
            with open(bench_path) as f:
                meta = json.load(f)
        except (OSError, ValueError):
            continue
        key = meta.get("full_id") or os.path.relpath(os.path.dirname(new_dir), root)
        if stat == "min":
            # Fastest sample (time per iteration): on a loaded machine
            # preemption only ever adds time, so for CPU-bound workloads the
            # fastest sample is the least disturbed one.
            try:
                with open(os.path.join(new_dir, "sample.json")) as f:
                    smp = json.load(f)
                secs = min(t / i for t, i in zip(smp["times"], smp["iters"])) * 1e-9
            except (OSError, ValueError, KeyError):
                continue
        else:
            secs = est[stat]["point_estimate"] * 1e-9
        out[key] = (secs, meta.get("throughput"), os.path.getmtime(est_path))
    return out


def load_rounds(root, baseline="new"):
    """async_echo's interleaved-rounds summary for one run, or None."""
    try:
        with open(os.path.join(root, "async_echo_rounds", f"{baseline}.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def median(xs):
    xs = sorted(xs)
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def verdict_for(ratio, target, cost):
    if target is None:
        return "", False
    if cost:
        return (f"<= {target:g}  ok", False) if ratio <= target else (f"<= {target:g}  MISS", True)
    return (f">= {target:g}  ok", False) if ratio >= target else (f">= {target:g}  MISS", True)


def fmt_cost(seconds, thrpt):
    """Time per element (e.g. server CPU per message)."""
    per = seconds / thrpt["Elements"] if thrpt and "Elements" in thrpt else seconds
    return f"{per * 1e6:.2f} µs/msg" if per >= 1e-6 else f"{per * 1e9:.0f} ns/msg"


def fmt_thrpt(seconds, thrpt):
    if not thrpt:
        return f"{seconds * 1e6:.1f} µs"
    if "Bytes" in thrpt:
        return f"{thrpt['Bytes'] / seconds / 2**30:.2f} GiB/s"
    if "Elements" in thrpt:
        return f"{thrpt['Elements'] / seconds / 1e6:.2f} M/s"
    return f"{seconds * 1e6:.1f} µs"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    default = os.environ.get("CRITERION_HOME") or os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(repo, "target")), "criterion")
    ap.add_argument("root", nargs="?", default=default)
    ap.add_argument("--stat", choices=["min", "median", "mean"], default="median",
                    help="median (default) or mean: criterion's estimates; min: the fastest sample")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument("--baselines", help="comma-separated saved baselines (one per run)")
    args = ap.parse_args()

    names = args.baselines.split(",") if args.baselines else ["new"]
    runs = [load(args.root, args.stat, n) for n in names]
    runs = [r for r in runs if r]
    rounds_runs = [r for r in (load_rounds(args.root, n) for n in names) if r]
    if not runs and not rounds_runs:
        print(f"no criterion estimates under {args.root} for {names}", file=sys.stderr)
        return 2

    rows = []
    missed = False
    for label, group, ours, ref, target, *kind in ROWS:
        cost = kind == ["cost"]
        pairs = [(r[f"{group}/{ours}"], r[f"{group}/{ref}"]) for r in runs
                 if f"{group}/{ours}" in r and f"{group}/{ref}" in r]
        if not pairs:
            continue

        def ratio_of(p):
            # throughput ratio = inverse time ratio; a cost ratio is the time ratio
            return p[0][0] / p[1][0] if cost else p[1][0] / p[0][0]

        ratios = sorted(ratio_of(p) for p in pairs)
        ratio = median(ratios)
        # Throughputs shown from the run whose ratio is closest to the median.
        a, b = min(pairs, key=lambda p: abs(ratio_of(p) - ratio))
        shown = f"{ratio:.2f}x" if len(ratios) == 1 else f"{ratio:.2f}x ({ratios[0]:.2f}..{ratios[-1]:.2f})"
        verdict, miss = verdict_for(ratio, target, cost)
        missed |= miss
        if cost:
            label += " (ours / ref, lower is better)"
        fmt = fmt_cost if cost else fmt_thrpt
        rows.append((label, f"{ours} / {ref}" if ours != "rfc6455" else ref, fmt(*a[:2]), fmt(*b[:2]), shown, verdict))

    for label, ref, key, target, kind in ROUNDS_ROWS:
        cost = kind == "cost"
        per_run = [r for r in rounds_runs if key in r.get("ratios_rfc6455_over", {}).get(ref, {})]
        if not per_run:
            continue
        ratios = sorted(r["ratios_rfc6455_over"][ref][key] for r in per_run)
        ratio = median(ratios)
        shown_run = min(per_run, key=lambda r: abs(r["ratios_rfc6455_over"][ref][key] - ratio))
        field = {"msgs_per_s": "msgs_per_s", "server_cpu": "server_cpu_us_per_msg",
                 "server_sched": "server_sched_us_per_msg"}[key]
        unit = " msg/s" if key == "msgs_per_s" else " µs/msg"
        ours_v = shown_run["servers"].get("rfc6455", {}).get(field)
        ref_v = shown_run["servers"].get(ref, {}).get(field)
        shown = f"{ratio:.2f}x" if len(ratios) == 1 else f"{ratio:.2f}x ({ratios[0]:.2f}..{ratios[-1]:.2f})"
        verdict, miss = verdict_for(ratio, target, cost)
        missed |= miss
        if cost:
            label += " (ours / ref, lower is better)"
        rows.append((label, ref, f"{ours_v:.{0 if unit == ' msg/s' else 2}f}{unit}",
                     f"{ref_v:.{0 if unit == ' msg/s' else 2}f}{unit}", shown, verdict))

    header = ("workload", "vs", "ours (or numerator)", "reference", "ratio", "target")
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join(" --- " for _ in header) + "|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
        for r in [header] + rows:
            print("  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip())
    n_runs = max(len(runs), len(rounds_runs))
    runs_note = f"median over {n_runs} runs (min..max)" if n_runs > 1 else "one run"
    stat = "fastest-sample" if args.stat == "min" else args.stat
    print(f"\n({stat} time per iteration; ratio = our throughput / reference throughput,"
          f" same group, same run; {runs_note})")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
