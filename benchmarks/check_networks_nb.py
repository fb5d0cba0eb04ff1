"""Check the NB101 and NB201 builders against the benchmark tables, and time them.

Usage::

    .venv/bin/python benchmarks/check_networks_nb.py [--space nb101|nb201|both] [--data-dir D] [--json]

NB201 (nb201_all.csv, nb201_zc_naslib_725.csv):
  * string <-> NASLib op tuple for all 15,625 cells;
  * ``cg.num_params()`` and the parameter count of ``cg.to_torch()`` against NASLib's
    ``params`` (millions, 6 decimals) for every CIFAR-10 row;
  * ``cg.macs()`` against NASLib's ``flops``, and the exact relation between them;
  * parse + to_cg throughput over all 15,625 cells.
NB101 (nb101_30k.csv, nb101_zc_naslib_500.csv):
  * ``key`` against the official ``hash`` for all 30,001 rows;
  * trainable parameters (CG and ``to_torch()``) against ``trainable_params``: exact for the
    1,000 original specs, exact / within 1 % for the isomorphic representatives;
  * NASLib's params / flops for its 500 cells;
  * parse + to_cg throughput over the 30,001 cells.

``to_torch()`` parameter counts are taken with modules built on the ``meta`` device (no
weight memory, same parameter shapes).
"""

from __future__ import annotations

import argparse
import ast
import json
import platform
import sys
import time
from math import prod
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from cgnas.data.paths import data_file  # noqa: E402


def torch_params(cg) -> int:
    with torch.device("meta"):
        net = cg.to_torch()
    return sum(p.numel() for p in net.parameters())


def naslib_extra(cg) -> int:
    """What NASLib's flop counter adds to MACs: 2/elem per BN, 1/elem per ReLU, k^2/elem per pool."""
    extra = 0
    for i, op in enumerate(cg.ops):
        n = prod(cg.shapes[i])
        if op == "batchnorm":
            extra += 2 * n
        elif op == "relu":
            extra += n
        elif op in ("maxpool", "avgpool"):
            extra += n * cg.attrs[i]["kernel"][0] ** 2
    return extra


def check_nb201(data_dir) -> dict:
    from cgnas.spaces.nb201 import NB201Space
    space = NB201Space()
    out: dict = {}
    full = pd.read_csv(data_file("nb201/nb201_all.csv", data_dir), usecols=["arch_str", "naslib_op_tuple"])
    out["naslib_tuple_match"] = sum(space.to_naslib(space.parse(s)) == ast.literal_eval(t)
                                    for s, t in zip(full.arch_str, full.naslib_op_tuple))
    out["naslib_tuple_rows"] = len(full)

    zc = pd.read_csv(data_file("nb201/nb201_zc_naslib_725.csv", data_dir))
    zc = zc[zc.dataset == "cifar10"]
    cg_eq = torch_eq = 0
    ratios, diffs = [], []
    for s, p, f in zip(zc.arch_str, zc.params, zc.flops):
        cg = space.to_cg(space.parse(s))
        n = cg.num_params()
        cg_eq += round(n / 1e6, 6) == p
        torch_eq += round(torch_params(cg) / 1e6, 6) == p and torch_params(cg) == n
        macs = cg.macs()
        ratios.append(f * 1e6 / macs)
        diffs.append(round(f * 1e6) - macs - naslib_extra(cg))
    out.update(cifar10_rows=len(zc), params_cg_equal=cg_eq, params_torch_equal=torch_eq,
               naslib_flops_over_macs_min=min(ratios), naslib_flops_over_macs_max=max(ratios),
               naslib_flops_minus_macs_minus_bn_relu_pool=sorted(set(diffs)))

    archs = list(full.arch_str)
    t = time.perf_counter()
    for s in archs:
        space.to_cg(space.parse(s))
    dt = time.perf_counter() - t
    parsed = [space.parse(s) for s in archs]
    t = time.perf_counter()
    for a in parsed:
        space.to_cg(a)
    dt2 = time.perf_counter() - t
    cg = space.to_cg(parsed[0])
    out.update(timed_archs=len(archs), parse_to_cg_per_s=len(archs) / dt,
               to_cg_ms=1e3 * dt2 / len(archs), nodes_example=len(cg), edges_example=cg.num_edges)
    return out


def check_nb101(data_dir) -> dict:
    from cgnas.spaces.nb101 import NB101Space
    space = NB101Space()
    out: dict = {}
    df = pd.read_csv(data_file("nb101/nb101_30k.csv", data_dir))
    t = time.perf_counter()
    archs = [space.parse({"matrix": json.loads(a), "ops": o}) for a, o in zip(df.adjacency, df.ops)]
    t_parse = time.perf_counter() - t
    t = time.perf_counter()
    keys = [space.key(a) for a in archs]
    t_hash = time.perf_counter() - t
    out.update(rows=len(df), hash_match=sum(k == h for k, h in zip(keys, df.hash)),
               hash_s=t_hash, parse_s=t_parse)

    orig_n = orig_eq = orig_torch_eq = 0
    oth_n = oth_eq = oth_1pct = 0
    worst = (0.0, "")
    t = time.perf_counter()
    for a, is_orig, tp in zip(archs, df.spec_is_original, df.trainable_params):
        cg = space.to_cg(a)
        n = cg.num_params()
        if is_orig:
            orig_n += 1
            orig_eq += n == tp
            orig_torch_eq += torch_params(cg) == tp
        else:
            oth_n += 1
            oth_eq += n == tp
            rel = abs(n - tp) / tp
            oth_1pct += rel <= 0.01
            if rel > worst[0]:
                worst = (rel, space.compact(a))
    out.update(original_rows=orig_n, original_params_cg_equal=orig_eq,
               original_params_torch_equal=orig_torch_eq, other_rows=oth_n,
               other_params_equal=oth_eq, other_params_equal_frac=oth_eq / oth_n,
               other_params_within_1pct=oth_1pct, other_params_within_1pct_frac=oth_1pct / oth_n,
               other_worst_rel_diff=worst[0], other_worst_arch=worst[1])

    zc = pd.read_csv(data_file("nb101/nb101_zc_naslib_500.csv", data_dir))
    p_eq = h_eq = 0
    ratios, diffs = [], []
    for a, o, h, f, p in zip(zc.adjacency_pruned, zc.ops_pruned, zc.hash, zc.flops, zc.params):
        arch = space.parse({"matrix": json.loads(a), "ops": o})
        h_eq += space.key(arch) == h
        cg = space.to_cg(arch)
        p_eq += round(cg.num_params() / 1e6, 6) == p
        macs = cg.macs()
        ratios.append(f * 1e6 / macs)
        diffs.append(round(f * 1e6) - macs - naslib_extra(cg))
    out.update(naslib_rows=len(zc), naslib_hash_match=h_eq, naslib_params_equal=p_eq,
               naslib_flops_over_macs_min=min(ratios), naslib_flops_over_macs_max=max(ratios),
               naslib_flops_minus_macs_minus_bn_relu_pool=sorted(set(diffs)))

    texts = [{"matrix": json.loads(a), "ops": o} for a, o in zip(df.adjacency, df.ops)]
    t = time.perf_counter()
    for s in texts:
        space.to_cg(space.parse(s))
    dt = time.perf_counter() - t
    t = time.perf_counter()
    for a in archs:
        space.to_cg(a)
    dt2 = time.perf_counter() - t
    sizes = [len(space.to_cg(a)) for a in archs[:1000]]
    out.update(timed_archs=len(texts), parse_to_cg_per_s=len(texts) / dt,
               to_cg_ms=1e3 * dt2 / len(archs), nodes_mean_first1000=sum(sizes) / len(sizes),
               nodes_max_first1000=max(sizes))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--space", choices=["nb101", "nb201", "both"], default="both")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    result: dict = {"machine": f"{platform.processor() or platform.machine()}, "
                               f"python {platform.python_version()}, torch {torch.__version__}"}
    if args.space in ("nb201", "both"):
        result["nb201"] = check_nb201(args.data_dir)
    if args.space in ("nb101", "both"):
        result["nb101"] = check_nb101(args.data_dir)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(result["machine"])
        for name in ("nb201", "nb101"):
            if name in result:
                print(f"[{name}]")
                for k, v in result[name].items():
                    print(f"  {k}: {round(v, 6) if isinstance(v, float) else v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
