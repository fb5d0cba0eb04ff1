"""Print the headline transfer table of docs/RESULTS.md from the committed result files.

    python benchmarks/transfer_table.py            # reads docs/results/transfer_<target>{,_ridge}.json

One row per target and method, the mean SRCC (± std over seeds) at k = 0, 20, 50 and 100,
on every target architecture outside the largest sample. A stand-in for the `cgnas report`
command that issue 24 asks for.
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"
TARGETS = ("nb201", "nb301", "nb101", "ofa_mbv3")
METHODS = ("cl", "gnn", "target_only", "ridge", "params")
KS = (0, 20, 50, 100)


def main() -> None:
    print("| target | method | " + " | ".join(f"k={k}" for k in KS) + " | seeds |")
    print("|---|---|" + "---|" * (len(KS) + 1))
    for target in TARGETS:
        rows = {}
        for name in (f"transfer_{target}.json", f"transfer_{target}_ridge.json"):
            for r in json.loads((RESULTS / name).read_text())["rows"]:
                rows.setdefault((r["method"], r["samples"]), r)
        for method in METHODS:
            cells = [rows.get((method, k)) for k in KS]
            if not any(cells):
                continue
            seeds = max(c["seeds"] for c in cells if c)
            print(f"| {target} | {method} | "
                  + " | ".join(f"{c['spearman_mean']:.3f} ± {c['spearman_std']:.3f}" if c else "–" for c in cells)
                  + f" | {seeds} |")


if __name__ == "__main__":
    main()
