#!/usr/bin/env python3
"""Print the benchmark ratio table from criterion's estimates.

Two tables, in this order:

- "front door (public API, default settings)": `--bench front_door`, the
  blocking and tokio adapters at default settings over an in-memory stream,
  beside tungstenite and fastwebsockets through their public APIs (groups
  `front_door/<workload>`), with each row's reads or writes per pass (from
  <criterion dir>/front_door_io/<baseline>.json, written by that bench).
  This is the speed users get.
- "core only (sans-IO Connection, tuned reads)": the other benches, our
  sans-IO `Connection` driven directly, reads sized as tungstenite's.

Reads <criterion dir>/**/new/{estimates,benchmark}.json as written by
`cargo bench -p rfc6455-bench --bench front_door` (and `--bench core`, `--bench handshake`,
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

# The front door: (workload, group, numerator, reference, target or None,
# I/O kind or None, I/O limit or None). The I/O column shows the reads (or
# writes) of one steady-state pass, numerator / reference; a limit applies
# to the numerator's.
FD = "front_door/"
FRONT_DOOR_ROWS = [
    ("decode 100k x 16 B text, blocking read()", FD + "decode_small", "rfc6455_blocking", "tungstenite", 2.0, "reads", 30),
    ("decode 100k x 16 B text, tokio read()", FD + "decode_small", "rfc6455_tokio", "tungstenite", 1.8, "reads", 30),
    ("  blocking read_event() (borrowed)", FD + "decode_small", "rfc6455_blocking_read_event", "tungstenite", None, "reads", 30),
    ("  tokio read_event() (borrowed)", FD + "decode_small", "rfc6455_tokio_read_event", "tungstenite", None, "reads", 30),
    ("  fastwebsockets read_frame()", FD + "decode_small", "fastwebsockets", "tungstenite", None, "reads", None),
    ("  tokio read() vs fastwebsockets", FD + "decode_small", "rfc6455_tokio", "fastwebsockets", None, "reads", None),
    ("decode 1 MiB binary, blocking read()", FD + "decode_1mib", "rfc6455_blocking", "tungstenite", 1.45, "reads", None),
    ("decode 1 MiB binary, tokio read()", FD + "decode_1mib", "rfc6455_tokio", "tungstenite", 1.45, "reads", None),
    ("  blocking read_event() (borrowed)", FD + "decode_1mib", "rfc6455_blocking_read_event", "tungstenite", None, "reads", None),
    ("  tokio read_event() (borrowed)", FD + "decode_1mib", "rfc6455_tokio_read_event", "tungstenite", None, "reads", None),
    ("  fastwebsockets read_frame()", FD + "decode_1mib", "fastwebsockets", "tungstenite", None, "reads", None),
    ("encode 100k x 16 B text, server, blocking", FD + "encode_small_server", "rfc6455_blocking", "tungstenite", 1.5, "writes", 30),
    ("encode 100k x 16 B text, server, tokio feed", FD + "encode_small_server", "rfc6455_tokio", "tungstenite", 1.5, "writes", 30),
    ("  tokio connection_mut().send_text", FD + "encode_small_server", "rfc6455_tokio_queue", "tungstenite", None, "writes", 30),
    ("  fastwebsockets write_frame()", FD + "encode_small_server", "fastwebsockets", "tungstenite", None, "writes", None),
    ("encode 100k x 16 B text, client, blocking", FD + "encode_small_client", "rfc6455_blocking", "tungstenite", 2.0, "writes", 30),
    ("encode 100k x 16 B text, client, tokio feed", FD + "encode_small_client", "rfc6455_tokio", "tungstenite", 2.0, "writes", 30),
    ("  tokio connection_mut().send_text", FD + "encode_small_client", "rfc6455_tokio_queue", "tungstenite", None, "writes", 30),
    ("  fastwebsockets write_frame()", FD + "encode_small_client", "fastwebsockets", "tungstenite", None, "writes", None),
    ("encode 1 MiB binary, server, blocking vs memcpy", FD + "encode_1mib_server", "rfc6455_blocking", "floor_memcpy", 0.95, "writes", None),
    ("encode 1 MiB binary, server, tokio vs memcpy", FD + "encode_1mib_server", "rfc6455_tokio", "floor_memcpy", 0.95, "writes", None),
    ("  blocking vs tungstenite", FD + "encode_1mib_server", "rfc6455_blocking", "tungstenite", None, "writes", None),
    ("  tokio vs tungstenite", FD + "encode_1mib_server", "rfc6455_tokio", "tungstenite", None, "writes", None),
    ("  fastwebsockets vs tungstenite", FD + "encode_1mib_server", "fastwebsockets", "tungstenite", None, "writes", None),
    ("  (tungstenite vs memcpy)", FD + "encode_1mib_server", "tungstenite", "floor_memcpy", None, "writes", None),
    ("encode 1 MiB binary, client, blocking", FD + "encode_1mib_client", "rfc6455_blocking", "tungstenite", 1.5, "writes", None),
    ("encode 1 MiB binary, client, tokio", FD + "encode_1mib_client", "rfc6455_tokio", "tungstenite", 1.5, "writes", None),
    ("  blocking vs memcpy", FD + "encode_1mib_client", "rfc6455_blocking", "floor_memcpy", None, "writes", None),
    ("  fastwebsockets vs tungstenite", FD + "encode_1mib_client", "fastwebsockets", "tungstenite", None, "writes", None),
    ("handshake (Chrome, deflate offered), blocking", FD + "handshake", "rfc6455_blocking", "tungstenite", 3.4, None, None),
    ("  tokio vs tungstenite::accept", FD + "handshake", "rfc6455_tokio", "tungstenite", None, None, None),
]

# The core: (workload, group, ours, reference, target or None[, "cost"]): a "cost" row
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

# (workload, ours, reference, key in ratios_<ours>_over[reference], target or None, "cost" or "throughput")
ROUNDS_ROWS = [
    ("tokio echo 64 B, 16 conns, msg/s (rounds)", "rfc6455", "fastwebsockets", "msgs_per_s", 1.0, "throughput"),
    ("tokio echo server CPU/msg, stat (rounds)", "rfc6455", "fastwebsockets", "server_cpu", 1.0, "cost"),
    ("tokio echo server CPU/msg, schedstat (rounds)", "rfc6455", "fastwebsockets", "server_sched", None, "cost"),
    ("tokio echo 64 B, 16 conns, msg/s (rounds)", "rfc6455", "fastwebsockets_hyper", "msgs_per_s", None, "throughput"),
    ("tokio echo server CPU/msg, stat (rounds)", "rfc6455", "fastwebsockets_hyper", "server_cpu", None, "cost"),
    ("tokio echo 64 B, 16 conns, msg/s (rounds)", "rfc6455", "tungstenite", "msgs_per_s", None, "throughput"),
    ("blocking echo 64 B, 16 conns, msg/s (rounds)", "rfc6455_blocking", "tungstenite", "msgs_per_s", 1.3, "throughput"),
    ("blocking echo server CPU/msg, stat (rounds)", "rfc6455_blocking", "tungstenite", "server_cpu", 0.65, "cost"),
    ("blocking echo server CPU/msg, schedstat (rounds)", "rfc6455_blocking", "tungstenite", "server_sched", None, "cost"),
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


def load_io(root, baseline="new"):
    """front_door's reads/writes per pass for one run, or None."""
    try:
        with open(os.path.join(root, "front_door_io", f"{baseline}.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ratio_row(runs, label, group, ours, ref, target, cost=False):
    """One table row (without an I/O column) and whether it misses its
    target, or None when the benchmarks have not been run."""
    pairs = [(r[f"{group}/{ours}"], r[f"{group}/{ref}"]) for r in runs
             if f"{group}/{ours}" in r and f"{group}/{ref}" in r]
    if not pairs:
        return None

    def ratio_of(p):
        # throughput ratio = inverse time ratio; a cost ratio is the time ratio
        return p[0][0] / p[1][0] if cost else p[1][0] / p[0][0]

    ratios = sorted(ratio_of(p) for p in pairs)
    ratio = median(ratios)
    # Throughputs shown from the run whose ratio is closest to the median.
    a, b = min(pairs, key=lambda p: abs(ratio_of(p) - ratio))
    shown = f"{ratio:.2f}x" if len(ratios) == 1 else f"{ratio:.2f}x ({ratios[0]:.2f}..{ratios[-1]:.2f})"
    verdict, miss = verdict_for(ratio, target, cost)
    if cost:
        label += " (ours / ref, lower is better)"
    fmt = fmt_cost if cost else fmt_thrpt
    vs = ref if ours == "rfc6455" else f"{ours} / {ref}"
    return [label, vs, fmt(*a[:2]), fmt(*b[:2]), shown, verdict], miss


def front_door_rows(runs, io_runs):
    rows = []
    missed = False
    for label, group, ours, ref, target, io_kind, io_limit in FRONT_DOOR_ROWS:
        got = ratio_row(runs, label, group, ours, ref, target)
        if got is None:
            continue
        row, miss = got
        io_cell = ""
        if io_kind:
            # The counts do not vary between runs; the last run's are shown.
            io = io_runs[-1] if io_runs else {}

            def count(fn):
                v = io.get(f"{group}/{fn}", {}).get(io_kind)
                return "-" if v is None else str(v)

            io_cell = f"{count(ours)} / {count(ref)} {io_kind}"
            n = io.get(f"{group}/{ours}", {}).get(io_kind)
            if io_limit is not None and n is not None:
                ok = n <= io_limit
                miss |= not ok
                row[5] = (row[5] + "; " if row[5] else "") + f"{io_kind} <= {io_limit}  {'ok' if ok else 'MISS'}"
        row.insert(5, io_cell)
        rows.append(tuple(row))
        missed |= miss
    return rows, missed


def core_rows(runs, rounds_runs):
    rows = []
    missed = False
    for label, group, ours, ref, target, *kind in ROWS:
        got = ratio_row(runs, label, group, ours, ref, target, cost=kind == ["cost"])
        if got is None:
            continue
        row, miss = got
        rows.append(tuple(row))
        missed |= miss

    for label, ours, ref, key, target, kind in ROUNDS_ROWS:
        cost = kind == "cost"
        over = f"ratios_{ours}_over"
        per_run = [r for r in rounds_runs if key in r.get(over, {}).get(ref, {})]
        if not per_run:
            continue
        ratios = sorted(r[over][ref][key] for r in per_run)
        ratio = median(ratios)
        shown_run = min(per_run, key=lambda r: abs(r[over][ref][key] - ratio))
        field = {"msgs_per_s": "msgs_per_s", "server_cpu": "server_cpu_us_per_msg",
                 "server_sched": "server_sched_us_per_msg"}[key]
        unit = " msg/s" if key == "msgs_per_s" else " µs/msg"
        ours_v = shown_run["servers"].get(ours, {}).get(field)
        ref_v = shown_run["servers"].get(ref, {}).get(field)
        shown = f"{ratio:.2f}x" if len(ratios) == 1 else f"{ratio:.2f}x ({ratios[0]:.2f}..{ratios[-1]:.2f})"
        verdict, miss = verdict_for(ratio, target, cost)
        missed |= miss
        if cost:
            label += " (ours / ref, lower is better)"
        rows.append((label, ref, f"{ours_v:.{0 if unit == ' msg/s' else 2}f}{unit}",
                     f"{ref_v:.{0 if unit == ' msg/s' else 2}f}{unit}", shown, verdict))
    return rows, missed


def print_table(title, header, rows, markdown):
    if markdown:
        print(f"**{title}**\n")
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join(" --- " for _ in header) + "|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        print(f"== {title} ==")
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
        for r in [header] + rows:
            print("  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip())
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    default = os.environ.get("CRITERION_HOME") or os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(repo, "target")), "criterion")
    ap.add_argument("root", nargs="?", default=default)
    ap.add_argument("--stat", choices=["min", "median", "mean"], default="median",
                    help="median (default) or mean: criterion's estimates; min: the fastest sample")
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    ap.add_argument("--baselines", help="comma-separated saved baselines (one per run)")
    args = ap.parse_args()

    names = args.baselines.split(",") if args.baselines else ["new"]
    runs = [load(args.root, args.stat, n) for n in names]
    runs = [r for r in runs if r]
    rounds_runs = [r for r in (load_rounds(args.root, n) for n in names) if r]
    io_runs = [r for r in (load_io(args.root, n) for n in names) if r]
    if not runs and not rounds_runs:
        print(f"no criterion estimates under {args.root} for {names}", file=sys.stderr)
        return 2

    header = ("workload", "vs", "ours (or numerator)", "reference", "ratio", "target")
    fd_rows, fd_missed = front_door_rows(runs, io_runs)
    if fd_rows:
        fd_header = header[:5] + ("I/O per pass",) + header[5:]
        print_table("front door (public API, default settings)", fd_header, fd_rows, args.markdown)
    rows, missed = core_rows(runs, rounds_runs)
    if rows:
        print_table("core only (sans-IO Connection, tuned reads)", header, rows, args.markdown)

    n_runs = max(len(runs), len(rounds_runs))
    runs_note = f"median over {n_runs} runs (min..max)" if n_runs > 1 else "one run"
    stat = "fastest-sample" if args.stat == "min" else args.stat
    print(f"({stat} time per iteration; ratio = numerator's throughput / reference's throughput,"
          f" same group, same run; {runs_note})")
    return 1 if (missed or fd_missed) else 0


if __name__ == "__main__":
    sys.exit(main())
