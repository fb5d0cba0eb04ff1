"""CG build throughput per space, in one process: architecture text -> parse -> to_cg.

    python benchmarks/cg_build.py [--n 2000] [--spaces nb101,nb201,nb301,ofa_mbv3] [--json]

Architectures are the first N rows of each labeled table (OFA-MBv3: sampled, 364 rows
being too few), so parsing is part of the timing. Prints CGs per second and mean size.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time

import cgnas
from cgnas.data.tables import row_spec


def specs_for(space: str, n: int) -> list:
    if space == "ofa_mbv3":
        sp = cgnas.space(space)
        rng = random.Random(0)
        return [sp.format(sp.sample(rng)) for _ in range(n)]
    bench = cgnas.benchmark(space)
    return [row_spec(space, r) for r in bench.table.head(n).to_dict("records")]


def measure(space: str, n: int) -> dict:
    sp = cgnas.space(space)
    specs = specs_for(space, n)
    sp.to_cg(sp.parse(specs[0]))  # warm-up (imports, caches)
    start = time.perf_counter()
    nodes = 0
    for spec in specs:
        nodes += len(sp.to_cg(sp.parse(spec)))
    seconds = time.perf_counter() - start
    return {"space": space, "graphs": len(specs), "seconds": round(seconds, 3),
            "graphs_per_s": round(len(specs) / seconds, 1), "mean_nodes": round(nodes / len(specs), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--spaces", default="nb101,nb201,nb301,ofa_mbv3")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [measure(s, args.n) for s in args.spaces.split(",")]
    if args.json:
        print(json.dumps({"machine": platform.processor() or platform.machine(), "rows": rows}))
        return
    for r in rows:
        print(f"{r['space']:<9} {r['graphs_per_s']:>8.1f} CG/s  ({r['graphs']} graphs in {r['seconds']} s, "
              f"{r['mean_nodes']} nodes on average)")


if __name__ == "__main__":
    main()
