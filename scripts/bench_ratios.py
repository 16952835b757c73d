#!/usr/bin/env python3
"""Print the benchmark ratio table from criterion's estimates.

Reads <criterion dir>/**/new/{estimates,benchmark}.json as written by
`cargo bench --bench core` (and `--bench handshake`, `--bench echo`), and
prints, for each workload, our throughput divided by the comparison's
throughput (tungstenite's, or a floor's). Both sides of a ratio are
functions of the same criterion group, so they come from the same run.

Usage:
    python3 scripts/bench_ratios.py [CRITERION_DIR] [--stat min|median|mean] [--markdown]
                                    [--baselines r1,r2,r3]

With --baselines, reads <group>/<function>/<baseline>/ (as saved by
`cargo bench ... -- --save-baseline r1`) instead of new/, computes each
ratio per baseline (that is, per run) and prints their median with the
min..max spread: on a shared, noisy machine, repeating the runs and taking
the median ratio is what makes the table reproducible.

CRITERION_DIR defaults to $CARGO_TARGET_DIR/criterion, else target/criterion.
Rows whose benchmarks have not been run are skipped. Exit status is 1 when a
ratio with a target misses it (so a script can gate on it), 0 otherwise.
"""

import argparse
import glob
import json
import os
import sys

# (workload, group, ours, reference, target or None)
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
    default = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")
    ap.add_argument("root", nargs="?", default=default)
    ap.add_argument("--stat", choices=["min", "median", "mean"], default="median",
                    help="median (default) or mean: criterion's estimates; min: the fastest sample")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument("--baselines", help="comma-separated saved baselines (one per run)")
    args = ap.parse_args()

    names = args.baselines.split(",") if args.baselines else ["new"]
    runs = [load(args.root, args.stat, n) for n in names]
    runs = [r for r in runs if r]
    if not runs:
        print(f"no criterion estimates under {args.root} for {names}", file=sys.stderr)
        return 2

    rows = []
    missed = False
    for label, group, ours, ref, target in ROWS:
        pairs = [(r[f"{group}/{ours}"], r[f"{group}/{ref}"]) for r in runs
                 if f"{group}/{ours}" in r and f"{group}/{ref}" in r]
        if not pairs:
            continue
        ratios = sorted(b[0] / a[0] for a, b in pairs)  # throughput ratio = inverse time ratio
        mid = len(ratios) // 2
        ratio = ratios[mid] if len(ratios) % 2 else (ratios[mid - 1] + ratios[mid]) / 2
        # Throughputs shown from the run whose ratio is closest to the median.
        a, b = min(pairs, key=lambda p: abs(p[1][0] / p[0][0] - ratio))
        shown = f"{ratio:.2f}x" if len(ratios) == 1 else f"{ratio:.2f}x ({ratios[0]:.2f}..{ratios[-1]:.2f})"
        if target is None:
            verdict = ""
        elif ratio >= target:
            verdict = f">= {target:g}  ok"
        else:
            verdict = f">= {target:g}  MISS"
            missed = True
        rows.append((label, f"{ours} / {ref}" if ours != "rfc6455" else ref, fmt_thrpt(*a[:2]), fmt_thrpt(*b[:2]), shown, verdict))

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
    runs_note = f"median over {len(runs)} runs (min..max)" if len(runs) > 1 else "one run"
    stat = "fastest-sample" if args.stat == "min" else args.stat
    print(f"\n({stat} time per iteration; ratio = our throughput / reference throughput,"
          f" same group, same run; {runs_note})")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
