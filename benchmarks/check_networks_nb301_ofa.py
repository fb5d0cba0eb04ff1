"""Check the NB301 and OFA-MBv3 networks and the OFA accuracy oracle against published numbers.

    python benchmarks/check_networks_nb301_ofa.py [--json] [--data-dir DIR]

Prints (figures for docs/RESULTS.md):

* NB301: DARTS V2 (C=36, 20 cells) parameter count vs. DARTS's "param size = 3.349342MB";
  params/MACs of the NB301 network (C=32, 8 cells) over the 10k genotypes; agreement with
  NASLib's ``params``/``flops`` columns of ``nb301_zc_naslib_725.csv`` (NASLib's own
  instantiation: BN without affine parameters inside ops; FLOPs with elementwise ops);
* OFA-MBv3: MACs and params of the 364 measured w1.0 sub-nets vs. the table, the 34 published
  MobileNetV3 specialized nets (MACs vs. their ``flops-NNNM`` names);
* the OFA oracle: the tutorial sub-net's prediction (OFA: 81.71%) and rank correlation with
  the 364 measured top-1;
* parse + to_cg time per CG for both spaces (one process).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from math import prod
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import kendalltau, pearsonr, spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cgnas.data.ofa_oracle import OFAAccuracyOracle  # noqa: E402
from cgnas.data.ofa_tables import read_measured, read_specialized  # noqa: E402
from cgnas.data.paths import data_file  # noqa: E402
from cgnas.graph.cost import node_params  # noqa: E402
from cgnas.spaces.nb301 import DARTS_V2, NB301Space  # noqa: E402
from cgnas.spaces.ofa_mbv3 import TUTORIAL_ARCH, OFAMBv3Space  # noqa: E402

DARTS_V2_PUBLISHED = 3_349_342


def _op_bn_params(cg, c_stem_and_preprocess: int) -> int:
    return sum(node_params(cg, i) for i, op in enumerate(cg.ops) if op == "batchnorm") - c_stem_and_preprocess


def check_nb301(data_dir) -> dict:
    out: dict = {}
    big = NB301Space(C=36, layers=20).to_cg(DARTS_V2)
    torch_params = sum(p.numel() for p in big.to_torch().parameters())
    out["darts_v2_c36_l20"] = {"cg_params": big.num_params(), "torch_params": torch_params,
                               "published": DARTS_V2_PUBLISHED,
                               "exact": big.num_params() == torch_params == DARTS_V2_PUBLISHED}
    space = NB301Space()
    table = pd.read_csv(data_file("nb301/nb301_10k_surrogate.csv", data_dir))
    start = time.perf_counter()
    params, macs = [], []
    for text in table["genotype"]:
        cg = space.to_cg(space.parse(text))
        params.append(cg.num_params())
        macs.append(cg.macs())
    seconds = time.perf_counter() - start
    params, macs = np.array(params), np.array(macs)
    out["c32_l8_10k"] = {
        "genotypes": len(table), "params_min": int(params.min()), "params_median": int(np.median(params)),
        "params_max": int(params.max()), "macs_min": int(macs.min()), "macs_median": int(np.median(macs)),
        "macs_max": int(macs.max()),
        "spearman_params_vs_val_acc": round(float(spearmanr(params, table["val_acc_surrogate"]).statistic), 4)}
    out["time_per_cg_ms"] = round(1e3 * seconds / len(table), 3)
    out["cgs_per_s"] = round(len(table) / seconds, 1)

    z = pd.read_csv(data_file("nb301/nb301_zc_naslib_725.csv", data_dir))
    ours_p, ours_m, no_op_bn, elementwise = [], [], [], []
    # stem BN (2*3C) + two preprocess BNs per cell (2*C_cell each): BN params outside the ops
    cells = [32 * (2 ** sum(i >= r for r in (8 // 3, 16 // 3))) for i in range(8)]
    outside = 2 * 96 + sum(4 * c for c in cells)
    for text in z["genotype"]:
        cg = space.to_cg(space.parse(text))
        ours_p.append(cg.num_params())
        ours_m.append(cg.macs())
        no_op_bn.append(cg.num_params() - _op_bn_params(cg, outside))
        elementwise.append([sum(prod(cg.shapes[i]) for i, o in enumerate(cg.ops) if o in ops)
                            for ops in (("maxpool", "avgpool"), ("batchnorm",), ("relu",), ("add",))])
    ours_p, ours_m = np.array(ours_p), np.array(ours_m)
    naslib_p = z["params"].to_numpy() * 1e6
    naslib_f = z["flops"].to_numpy() * 1e6
    ratio = ours_p / naslib_p
    exact = int(np.sum(np.abs(np.array(no_op_bn) - naslib_p) < 1))
    coef, *_ = np.linalg.lstsq(np.array(elementwise, float), naslib_f - ours_m, rcond=None)
    fit_err = float(np.abs(np.array(elementwise, float) @ coef - (naslib_f - ours_m)).max())
    out["vs_naslib_725"] = {
        "params_ratio_min": round(float(ratio.min()), 4), "params_ratio_max": round(float(ratio.max()), 4),
        "params_pearson": round(float(pearsonr(ours_p, naslib_p).statistic), 6),
        "params_spearman": round(float(spearmanr(ours_p, naslib_p).statistic), 6),
        "rows_where_naslib_params_equal_ours_minus_op_bn_affine": exact,
        "flops_ratio_min": round(float((ours_m / naslib_f).min()), 4),
        "flops_ratio_max": round(float((ours_m / naslib_f).max()), 4),
        "flops_spearman": round(float(spearmanr(ours_m, naslib_f).statistic), 6),
        "naslib_flops_minus_our_macs_per_output_element": {
            "pool": round(float(coef[0]), 3), "batchnorm": round(float(coef[1]), 3),
            "relu": round(float(coef[2]), 3), "add": round(float(coef[3]), 3),
            "max_abs_residual": round(fit_err, 3)},
        "rows": len(z)}
    return out


def check_ofa(data_dir) -> dict:
    out: dict = {}
    space = OFAMBv3Space()
    df = read_measured(data_dir)
    macs_err, params_err, exact = [], [], 0
    for arch, m, p in zip(df["arch"], df["macs"], df["params"]):
        cg = space.to_cg(arch)
        macs_err.append(cg.macs() / m - 1)
        params_err.append(cg.num_params() / p - 1)
        exact += cg.macs() == m and cg.num_params() == p
    first = space.to_cg(df["arch"][0])
    torch_params = sum(p.numel() for p in first.to_torch().parameters())
    out["measured_364"] = {
        "rows": len(df), "max_rel_err_macs": float(np.max(np.abs(macs_err))),
        "max_rel_err_params": float(np.max(np.abs(params_err))), "rows_exact": int(exact),
        "torch_params_row0": torch_params, "table_params_row0": int(df["params"][0])}

    spec = read_specialized(data_dir)
    rows = []
    for _, row in spec.iterrows():
        cg = space.to_cg(row["arch"])
        entry = {"name": row["name"], "w": row["arch"].w, "r": row["arch"].r,
                 "macs_M": round(cg.macs() / 1e6, 1), "params_M": round(cg.num_params() / 1e6, 2)}
        if row["hardware"] == "flops":
            entry["budget_M"] = float(row["constraint"].rstrip("M"))
        rows.append(entry)
    out["specialized_mbv3"] = rows

    rng = random.Random(0)
    specs = [space.format(space.sample(rng)) for _ in range(2000)]
    start = time.perf_counter()
    for s in specs:
        space.to_cg(space.parse(s))
    seconds = time.perf_counter() - start
    out["time_per_cg_ms"] = round(1e3 * seconds / len(specs), 3)
    out["cgs_per_s"] = round(len(specs) / seconds, 1)

    oracle = OFAAccuracyOracle(data_dir)
    tut = float(oracle.predict([TUTORIAL_ARCH])[0])
    pred = oracle.predict(list(df["arch"]))
    out["oracle"] = {
        "tutorial_arch": TUTORIAL_ARCH, "tutorial_pred": round(tut, 6), "tutorial_published": 0.8171,
        "spearman_364": round(float(spearmanr(pred, df["top1"]).statistic), 4),
        "kendall_364": round(float(kendalltau(pred, df["top1"]).statistic), 4),
        "pearson_364": round(float(pearsonr(pred, df["top1"]).statistic), 4),
        "spearman_macs_vs_top1": round(float(spearmanr(df["macs"], df["top1"]).statistic), 4)}
    spec_pred = OFAAccuracyOracle(data_dir, clip_resolution=True).predict(list(spec["arch"]))
    out["oracle"]["specialized_spearman_vs_finetuned_top1"] = round(
        float(spearmanr(spec_pred, spec["top1_val_finetuned"]).statistic), 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    result = {"machine": f"{platform.processor() or platform.machine()}, python {platform.python_version()}",
              "nb301": check_nb301(args.data_dir), "ofa_mbv3": check_ofa(args.data_dir)}
    if args.json:
        print(json.dumps(result, indent=1))
        return
    nb, ofa = result["nb301"], result["ofa_mbv3"]
    d = nb["darts_v2_c36_l20"]
    print("== NB301 / DARTS")
    print(f"DARTS V2, C=36, 20 cells, no auxiliary head: CG {d['cg_params']:,} params, torch "
          f"{d['torch_params']:,}; DARTS log 3.349342MB = {d['published']:,} -> exact: {d['exact']}")
    r = nb["c32_l8_10k"]
    print(f"NB301 network (C=32, 8 cells) over {r['genotypes']:,} genotypes: params "
          f"{r['params_min']:,} / {r['params_median']:,} / {r['params_max']:,} (min/median/max); MACs "
          f"{r['macs_min'] / 1e6:.1f}M / {r['macs_median'] / 1e6:.1f}M / {r['macs_max'] / 1e6:.1f}M; "
          f"Spearman(params, surrogate val acc) {r['spearman_params_vs_val_acc']}")
    v = nb["vs_naslib_725"]
    print(f"vs NASLib (725 rows): params ratio ours/NASLib {v['params_ratio_min']}..{v['params_ratio_max']}, "
          f"Pearson {v['params_pearson']}, Spearman {v['params_spearman']}; NASLib params == ours minus "
          f"the BN affine params inside ops in {v['rows_where_naslib_params_equal_ours_minus_op_bn_affine']}"
          f"/{v['rows']} rows")
    print(f"  flops: ratio our MACs/NASLib {v['flops_ratio_min']}..{v['flops_ratio_max']}, Spearman "
          f"{v['flops_spearman']}; NASLib - ours per output element (least squares): "
          f"{v['naslib_flops_minus_our_macs_per_output_element']}")
    print(f"parse + to_cg: {nb['time_per_cg_ms']} ms per CG ({nb['cgs_per_s']} CGs/s)")
    print("== OFA-MBv3")
    m = ofa["measured_364"]
    print(f"{m['rows']} measured w1.0 sub-nets at r=224: max rel. error MACs {m['max_rel_err_macs']:.2e}, "
          f"params {m['max_rel_err_params']:.2e}; exact on {m['rows_exact']}/{m['rows']}; torch params "
          f"row 0 {m['torch_params_row0']:,} (table {m['table_params_row0']:,})")
    print("specialized MobileNetV3 nets (OFA, net.config):")
    for e in ofa["specialized_mbv3"]:
        budget = f"  budget {e['budget_M']:.0f}M" if "budget_M" in e else ""
        print(f"  {e['name']:42s} w{e['w']} r{e['r']}: {e['macs_M']:7.1f}M MACs, {e['params_M']:.2f}M params{budget}")
    print(f"parse + to_cg: {ofa['time_per_cg_ms']} ms per CG ({ofa['cgs_per_s']} CGs/s)")
    o = ofa["oracle"]
    print("== OFA accuracy oracle")
    print(f"tutorial sub-net {o['tutorial_arch']}: {o['tutorial_pred']:.4f} (OFA tutorial: 81.71%)")
    print(f"364 measured: Spearman {o['spearman_364']}, Kendall {o['kendall_364']}, Pearson "
          f"{o['pearson_364']} (MACs alone: Spearman {o['spearman_macs_vs_top1']})")
    print(f"34 specialized (r clipped to 239, vs fine-tuned top-1): Spearman "
          f"{o['specialized_spearman_vs_finetuned_top1']}")
    print(f"machine: {result['machine']}")


if __name__ == "__main__":
    main()
