"""Wall time of one search run, with the source predictor cached (warm) or built (cold).

    python benchmarks/search_speed.py [--space nb201] [--method cl] [--queries 100] [--seed 0]
                                      [--threads 2] [--cold] --cache-dir /tmp/cgcache [--json]

The CG cache in ``--cache-dir`` must be built (``cgnas cache --space all``). ``--cold``
builds the source predictor from scratch: the run uses a fresh cache root whose space
directories link to ``--cache-dir``, so nothing there is changed. The search log goes to a
temporary directory (no resume).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from cgnas.data.cache import cache_dir
from cgnas.experiments.search import SearchConfig, run_search


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--method", default="cl")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cold", action="store_true", help="build the source predictor instead of loading it")
    parser.add_argument("--cache-dir")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = cache_dir(args.cache_dir)
        if args.cold:
            root, shared = Path(tmp) / "cache", root
            root.mkdir()
            for space_dir in shared.iterdir():
                if space_dir.is_dir() and space_dir.name != "predictors":
                    (root / space_dir.name).symlink_to(space_dir.resolve())
        start = time.perf_counter()
        result = run_search(SearchConfig(args.space, args.method, queries=args.queries, seeds=(args.seed,)),
                            out_dir=Path(tmp) / "logs", cache_root=root, progress=False)
        seconds = time.perf_counter() - start
    best = result["runs"][0]["best"]
    report = {"space": args.space, "method": args.method, "queries": args.queries, "seed": args.seed,
              "threads": args.threads, "cold": args.cold, "seconds": round(seconds, 1), "best": best}
    print(json.dumps(report) if args.json else
          f"{args.space} {args.method}, {args.queries} queries, seed {args.seed}, {args.threads} thread(s), "
          f"{'cold' if args.cold else 'warm'} predictor: {seconds:.1f} s; best {best['label']} "
          f"(rank {best['rank']}, query {best['query']})")


if __name__ == "__main__":
    main()
