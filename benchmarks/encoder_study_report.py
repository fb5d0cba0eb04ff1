"""Print the encoder study's table (issue 23) from the committed transfer results.

    python benchmarks/encoder_study_report.py docs/results/encoder_study/nb201_*.json

Each file is the ``--out`` of one ``cgnas transfer`` run (one encoder / source setting,
same target, split and seeds). The table has one row per (method, k) and one column per file:
the mean SRCC over the seeds that every file has, so that columns are paired per seed; the
last column is the per-seed difference of the last file against the first (min..max).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def label(result: dict) -> str:
    cfg = result["config"]
    per = cfg["source_per_family"]
    return f"{cfg['predictor']['encoder'].get('kind', 'mean')}, {'all' if per is None else per}/family"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    results = [json.loads(f.read_text()) for f in args.files]
    seeds = sorted(set.intersection(*({r["seed"] for r in res["runs"]} for res in results)))
    srcc = [{(r["method"], r["samples"], r["seed"]): r["spearman"] for r in res["runs"]} for res in results]
    keys = sorted({(m, k) for m, k, s in srcc[0] if (m, k, seeds[0]) in srcc[-1]},
                  key=lambda mk: (mk[0] not in ("cl", "gnn"), mk[0], mk[1]))
    print(f"target {results[0]['target']} ({results[0]['metric']}), seeds {seeds}, "
          f"evaluated on {results[0]['eval_size']:,}\n")
    print("| method | k | " + " | ".join(label(r) for r in results) + " | last − first, per seed |")
    print("|---|---|" + "---|" * (len(results) + 1))
    for m, k in keys:
        cols = [np.array([s[(m, k, seed)] for seed in seeds]) for s in srcc]
        diff = cols[-1] - cols[0]
        print(f"| {m} | {k} | " + " | ".join(f"{c.mean():.3f}" for c in cols)
              + f" | {diff.mean():+.3f} ({diff.min():+.3f}..{diff.max():+.3f}) |")


if __name__ == "__main__":
    main()
