"""Agreement of the three ways into a CG on benchmark networks.

For a seeded sample of each space: the builder's CG vs ``from_torch(cg.to_torch())``, and
``from_onnx(export_onnx(...))`` vs ``from_torch`` (same operator multiset, same edges up to
node order, same shapes: ``CompGraph.same_as``); also the parameter count of
``cg.to_torch()`` vs ``cg.num_params()``.

    python benchmarks/roundtrip.py [--n 200] [--spaces nb101,nb201,nb301,ofa_mbv3] [--no-onnx] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import cgnas
from cgnas.graph.from_torch import from_torch
from cgnas.graph.onnx_io import export_onnx, from_onnx


def check_space(space_name: str, n: int, onnx: bool, seed: int) -> dict:
    space = cgnas.space(space_name)
    rng = random.Random(seed)
    archs = [space.sample(rng) for _ in range(n)]
    if space_name == "ofa_mbv3":  # keep ONNX export affordable: the smallest OFA resolution
        archs = [space.parse({**space.to_dict(a), "r": 128}) if onnx else a for a in archs]
    stats = {"space": space_name, "archs": n, "torch_agree": 0, "onnx_agree": 0, "params_agree": 0,
             "failures": []}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for k, arch in enumerate(archs):
            cg = space.to_cg(arch)
            net = cg.to_torch()
            shape = (1,) + cg.shapes[0]
            stats["params_agree"] += sum(p.numel() for p in net.parameters()) == cg.num_params()
            traced = from_torch(net, shape)
            ok = traced.same_as(cg)
            stats["torch_agree"] += ok
            if not ok:
                stats["failures"].append(("torch", space.format(arch)))
            if onnx:
                path = export_onnx(net, shape, Path(tmp) / f"{k}.onnx")
                ok = from_onnx(path).same_as(traced)
                stats["onnx_agree"] += ok
                if not ok:
                    stats["failures"].append(("onnx", space.format(arch)))
    stats["seconds"] = round(time.perf_counter() - start, 1)
    stats["failures"] = stats["failures"][:5]
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--spaces", default="nb101,nb201,nb301,ofa_mbv3")
    parser.add_argument("--no-onnx", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [check_space(s, args.n, not args.no_onnx, args.seed) for s in args.spaces.split(",")]
    if args.json:
        print(json.dumps({"seed": args.seed, "rows": rows}))
        return
    for r in rows:
        print(f"{r['space']:<9} builder==from_torch {r['torch_agree']}/{r['archs']}  "
              f"from_onnx==from_torch {r['onnx_agree']}/{r['archs']}  "
              f"params {r['params_agree']}/{r['archs']}  ({r['seconds']} s)")
        for kind, arch in r["failures"]:
            print(f"    {kind} disagrees: {arch}")


if __name__ == "__main__":
    main()
