#!/usr/bin/env python3
"""Summarise kosoku (Autobahn) reports for one role.

Usage: autobahn_summary.py ROLE ROLE_DIR

Reads every ROLE_DIR/*/index.json (one per section run by scripts/autobahn.sh)
and ROLE_DIR/problems.txt (runner-level problems noted by the script: a
section that timed out, produced no report, a crashed peer...).

Prints one summary line:
  ROLE: N cases, a OK, b NON-STRICT, c INFORMATIONAL, d UNIMPLEMENTED, e FAILED
then every non-OK case with its two verdicts (behavior / behaviorClose), then
the runner problems. Exits 1 if any case is FAILED or NON-STRICT, or if there
was a runner problem; 0 otherwise. The runner's own exit code is not used (it
is 1 for UNIMPLEMENTED cases too).

A case's category is the worst of its two verdicts, in this order:
FAILED (anything not listed below: FAILED, WRONG CODE, UNCLEAN,
FAILED BY CLIENT, ERROR, ...) > NON-STRICT > UNIMPLEMENTED > INFORMATIONAL > OK.
"""
from __future__ import annotations

import glob
import json
import os
import sys

KNOWN = ["OK", "INFORMATIONAL", "UNIMPLEMENTED", "NON-STRICT"]  # low -> high
CATEGORIES = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"]


def rank(verdict: str) -> int:
    return KNOWN.index(verdict) if verdict in KNOWN else len(KNOWN)


def category(behavior: str, behavior_close: str) -> str:
    worst = max(rank(behavior), rank(behavior_close))
    return KNOWN[worst] if worst < len(KNOWN) else "FAILED"


def case_key(case_id: str) -> list[int]:
    try:
        return [int(p) for p in case_id.split(".")]
    except ValueError:
        return [10**9]


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    role, role_dir = sys.argv[1], sys.argv[2]

    cases: dict[str, tuple[str, str, str]] = {}  # id -> (behavior, close, file)
    for index in sorted(glob.glob(os.path.join(role_dir, "*", "index.json"))):
        with open(index) as f:
            data = json.load(f)
        for agent, entries in data.items():
            for case_id, entry in entries.items():
                cases[case_id] = (
                    str(entry.get("behavior")),
                    str(entry.get("behaviorClose")),
                    os.path.join(os.path.dirname(index), str(entry.get("reportfile", ""))),
                )

    problems: list[str] = []
    problems_file = os.path.join(role_dir, "problems.txt")
    if os.path.exists(problems_file):
        with open(problems_file) as f:
            problems = [line.rstrip("\n") for line in f if line.strip()]

    counts = dict.fromkeys(CATEGORIES, 0)
    non_ok = []
    for case_id in sorted(cases, key=case_key):
        behavior, close, report = cases[case_id]
        cat = category(behavior, close)
        counts[cat] += 1
        if cat != "OK":
            non_ok.append((case_id, cat, behavior, close, report))

    print(
        f"{role}: {len(cases)} cases, {counts['OK']} OK, {counts['NON-STRICT']} NON-STRICT, "
        f"{counts['INFORMATIONAL']} INFORMATIONAL, {counts['UNIMPLEMENTED']} UNIMPLEMENTED, "
        f"{counts['FAILED']} FAILED"
    )
    for case_id, cat, behavior, close, report in non_ok:
        print(f"  {role} {case_id:<8} {cat:<13} behavior={behavior} behaviorClose={close}  ({os.path.relpath(report, role_dir)})")
    for problem in problems:
        print(f"  {role} RUNNER PROBLEM: {problem}")

    bad = counts["FAILED"] + counts["NON-STRICT"]
    return 1 if bad or problems else 0


if __name__ == "__main__":
    sys.exit(main())
