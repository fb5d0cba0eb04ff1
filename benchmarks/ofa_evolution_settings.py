"""Plain evolution on the OFA oracle under a MACs budget, for several evolution settings.

Used to check whether the 480M budget of RESULTS §5.1 is lost to the evolution settings: each
setting runs ``--queries`` oracle queries per seed (the seeds default to 10..19, not the
reported 0..4, so that picking a setting here does not tune on the reported runs) and prints
the median and per-seed best oracle top-1.

    python benchmarks/ofa_evolution_settings.py --max-macs 480 --seeds 10-19
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cgnas.search.evolution import EvolutionConfig, evolve  # noqa: E402
from cgnas.search.oracle import OFAPredictorOracle  # noqa: E402

SETTINGS = [{}, {"explore": 0.0}, {"explore": 0.1}, {"tournament": 10}, {"tournament": 10, "explore": 0.0},
            {"population": 10}, {"population": 40}, {"per_generation": 5},
            {"population": 40, "tournament": 10, "explore": 0.0}]
"""Changes to the default :class:`EvolutionConfig` (population 20, tournament 5, explore 0.25,
10 queries per generation)."""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-macs", type=float, default=480)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--seeds", default="10-19", help="first-last (inclusive)")
    ap.add_argument("--data-dir")
    args = ap.parse_args()
    first, last = (int(x) for x in args.seeds.split("-"))
    oracle = OFAPredictorOracle(max_macs=args.max_macs, data_dir=args.data_dir)
    for setting in SETTINGS:
        start, best = time.perf_counter(), []
        for seed in range(first, last + 1):
            run = oracle.fresh()
            evolve(run, None, args.queries, seed, EvolutionConfig(**setting))
            best.append(round(max(q.label for q in run.history), 3))
        print(json.dumps({"max_macs": args.max_macs, "setting": setting, "median": statistics.median(best),
                          "best_per_seed": best, "seconds": round(time.perf_counter() - start)}), flush=True)


if __name__ == "__main__":
    main()
