#!/usr/bin/env python3
"""Print the benchmark ratio table from criterion's estimates.

Reads <criterion dir>/**/new/{estimates,benchmark}.json as written by
`cargo bench --bench core` (and `--bench handshake`, `--bench echo`), and
prints, for each workload, our throughput divided by the comparison's
throughput (tungstenite's, or a floor's). Both sides of a ratio are
functions of the same criterion group, so they come from the same run.

Usage:
    python3 scripts/bench_ratios.py [CRITERION_DIR] [--stat median|mean] [--markdown]

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


def load(root, stat):
    """Maps 'group/function[/param]' to (seconds per iteration, throughput dict)."""
    out = {}
    for est_path in glob.glob(os.path.join(root, "**", "new", "estimates.json"), recursive=True):
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
        out[key] = (est[stat]["point_estimate"] * 1e-9, meta.get("throughput"), os.path.getmtime(est_path))
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
    ap.add_argument("--stat", choices=["median", "mean"], default="median")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args()

    data = load(args.root, args.stat)
    if not data:
        print(f"no criterion estimates under {args.root}", file=sys.stderr)
        return 2

    rows = []
    missed = False
    for label, group, ours, ref, target in ROWS:
        a, b = data.get(f"{group}/{ours}"), data.get(f"{group}/{ref}")
        if a is None or b is None:
            continue
        ratio = b[0] / a[0]  # throughput ratio = inverse time ratio
        if target is None:
            verdict = ""
        elif ratio >= target:
            verdict = f">= {target:g}  ok"
        else:
            verdict = f">= {target:g}  MISS"
            missed = True
        rows.append((label, f"{ours} / {ref}" if ours != "rfc6455" else ref, fmt_thrpt(*a[:2]), fmt_thrpt(*b[:2]), f"{ratio:.2f}x", verdict))

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
    print(f"\n({args.stat} time per iteration; ratio = our throughput / reference throughput, same group, same run)")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
