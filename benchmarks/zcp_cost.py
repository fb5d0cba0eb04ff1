"""Seconds per architecture of each zero-cost proxy, per space, on this machine.

    python benchmarks/zcp_cost.py [--spaces nb201,nb101,nb301] [--archs 5] [--proxies all]
                                  [--threads 1] [--seed 0] [--json]

For each space, ``--archs`` architectures of its benchmark table (the first rows) are built
(``to_cg().to_torch()``, timed as ``build``) and every proxy is computed on its own with
:func:`cgnas.zcp.compute` on the default synthetic batch (32 images), so a proxy's time
includes every pass it needs (snip, grad_norm and fisher each pay for the loss-gradient
pass they share when computed together; ``all`` is the time of all of them in one call).
Reported: the median over architectures, in seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

import cgnas
from cgnas.zcp import PROXIES, compute, synthetic_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", default="nb201,nb101,nb301")
    parser.add_argument("--archs", type=int, default=5)
    parser.add_argument("--proxies", default="all")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    names = list(PROXIES) if args.proxies == "all" else args.proxies.split(",")
    results = {}
    for space_name in args.spaces.split(","):
        space, bench = cgnas.space(space_name), cgnas.benchmark(space_name)
        times: dict[str, list[float]] = {n: [] for n in ["build", *names, "all"]}
        for i in range(args.archs):
            start = time.perf_counter()
            cg = space.to_cg(space.parse(bench.spec(i)))
            torch.manual_seed(args.seed)
            net = cg.to_torch()
            times["build"].append(time.perf_counter() - start)
            batch = synthetic_batch(tuple(cg.shapes[cg.input_nodes()[0]]), cg.shapes[cg.output_nodes()[0]][-1],
                                    args.seed)
            if i == 0:
                compute(net, names, batch)  # warm-up (first-call overheads)
            for name in [*names, "all"]:
                start = time.perf_counter()
                compute(net, names if name == "all" else [name], batch)
                times[name].append(time.perf_counter() - start)
        results[space_name] = {n: round(statistics.median(t), 3) for n, t in times.items()}
    if args.json:
        print(json.dumps({"threads": args.threads, "archs": args.archs, "seconds": results}))
        return
    print(f"median seconds per architecture ({args.archs} archs, {args.threads} thread(s))")
    print(f"{'proxy':<10}" + "".join(f"{s:>9}" for s in results))
    for name in ["build", *names, "all"]:
        print(f"{name:<10}" + "".join(f"{results[s][name]:>9.3f}" for s in results))


if __name__ == "__main__":
    main()
