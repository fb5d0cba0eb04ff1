"""Experiment 3, last step: searched OFA-MBv3 sub-networks beside OFA's own published ones.

OFA published specialized MobileNetV3 sub-networks (``ofa/ofa_specialized_50.csv``), three of
them under MACs constraints: flops-595M (80.0 % ImageNet val top-1 after 75 epochs of
fine-tuning), flops-482M (79.6 %) and flops-389M (79.1 %). Each of the 34 MobileNetV3 nets is
evaluated here the way a search evaluates its sub-networks: MACs from its CG (the real network
at its own resolution and width) and accuracy from the same oracle the searches queried,
OFA's accuracy predictor (:class:`~cgnas.search.oracle.OFAPredictorOracle`). Nets at r >= 240
lie outside the predictor's resolution one-hot (112..239); they are scored as if at 224..239
(``clip_resolution``) and marked ``clipped``.

What the numbers mean: the oracle is a model. Its figures are *predicted* top-1 on OFA's 10k
holdout of the ImageNet train set with the supernet's shared weights (about 5 points above the
val set), not measurements and not after fine-tuning. OFA's published figures (val top-1
after fine-tuning each net) are another quantity: they are listed beside, never compared with
the oracle's. A searched sub-network that beats a published one here is better *according to
OFA's predictor*; an ImageNet claim needs it fine-tuned and measured.

The published net of a budget is the flops-constrained one nearest to it in MACs (480M:
flops-482M, 2.4M over; the searched nets are held to the budget, the published one is not).

    result = compare(["runs/ofa_600M", "runs/ofa_480M", "runs/ofa_390M"], queries=100)
    plot_compare(result, "docs/figures")        # ofa_search_vs_specialized.png
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from cgnas.errors import CgnasError
from cgnas.experiments.search_plots import best_so_far, finished, load_logs
from cgnas.search.oracle import OFAPredictorOracle

SPACE = "ofa_mbv3"
ORACLE_NOTE = ("oracle: OFA's published accuracy predictor (predicted ImageNet top-1 on a 10k holdout of the "
               "train set, about 5 points above val; a model, not a measurement). 'published' is OFA's val top-1 "
               "after fine-tuning each net: another quantity, shown for reference only")


def specialized_points(data_dir: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """OFA's 34 published MobileNetV3 nets with their MACs (millions, from the CG), parameters
    and oracle accuracy (percent; ``clipped`` where r >= 240 was scored as 224..239)."""
    from cgnas.data.ofa_tables import read_specialized

    oracle = OFAPredictorOracle(data_dir=data_dir, clip_resolution=True)
    points = []
    for row in read_specialized(data_dir).to_dict("records"):
        arch = row["arch"]
        points.append({"name": row["name"], "hardware": row["hardware"], "constraint": row["constraint"],
                       "r": arch.r, "w": arch.w, "arch": oracle.space.format(arch),
                       "macs_m": round(oracle.macs(arch) / 1e6, 2),
                       "params_m": round(oracle.space.to_cg(arch).num_params() / 1e6, 3),
                       "oracle": round(oracle.fresh().query(arch).label, 3),
                       "clipped": arch.r > 239, "published_top1": float(row["top1_val_finetuned"])})
    return points


def published_for_budget(points: Sequence[dict[str, Any]], max_macs: float) -> dict[str, Any]:
    """The flops-constrained published net nearest to ``max_macs`` (millions) in MACs."""
    flops = [p for p in points if p["hardware"] == "flops"]
    if not flops:
        raise CgnasError("ofa_specialized_50.csv has no flops-constrained MobileNetV3 net to compare with")
    return min(flops, key=lambda p: abs(p["macs_m"] - max_macs))


def searched_best(log_dir: str | os.PathLike, queries: int,
                  data_dir: str | os.PathLike | None = None) -> tuple[float, dict[str, list[dict[str, Any]]]]:
    """``(budget, {method: [best of each run within its first queries, ...]})`` from the
    ofa_mbv3 search logs in ``log_dir`` (runs shorter than ``queries`` are left out); each best
    query carries its ``macs_m`` and ``run`` (the run's position, in seed order)."""
    runs, facts = load_logs(log_dir, SPACE)
    if facts["max_macs"] is None:
        raise CgnasError(f"the ofa_mbv3 searches in {log_dir} ran without --max-macs; compare needs budgets")
    oracle = OFAPredictorOracle(data_dir=data_dir)
    best: dict[str, list[dict[str, Any]]] = {}
    for method, method_runs in finished(runs, queries).items():
        best[method] = []
        for i, run in enumerate(method_runs):
            top = best_so_far(run, queries)[-1]
            best[method].append({**top, "run": i, "macs_m": round(oracle.macs(oracle.space.parse(top["arch"])) / 1e6, 2)})
    if not best:
        raise CgnasError(f"no ofa_mbv3 search in {log_dir} has {queries} queries yet")
    return float(facts["max_macs"]), best


def compare(log_dirs: Sequence[str | os.PathLike], queries: int = 100,
            data_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Per MACs budget (one log directory each), the published net and, per search method, the
    median over seeds (and IQR) of the best oracle accuracy within ``queries`` queries and
    whether that median is above the published net's oracle accuracy."""
    points = specialized_points(data_dir)
    budgets = []
    for log_dir in log_dirs:
        max_macs, best = searched_best(log_dir, queries, data_dir)
        published = published_for_budget(points, max_macs)
        methods = []
        for method, bests in best.items():
            labels = np.array([b["label"] for b in bests])
            median = float(np.median(labels))
            middle = sorted(bests, key=lambda b: b["label"])[(len(bests) - 1) // 2]
            methods.append({"method": method, "seeds": len(bests), "best_median": round(median, 3),
                            "best_iqr": [round(float(v), 3) for v in np.percentile(labels, [25, 75])],
                            "beats_published": bool(median > published["oracle"]),
                            "median_run": {k: middle[k] for k in ("arch", "label", "macs_m", "run")},
                            "runs": bests})
        budgets.append({"max_macs": max_macs, "log_dir": str(log_dir), "published": published,
                        "methods": methods})
    return {"space": SPACE, "queries": queries, "note": ORACLE_NOTE,
            "budgets": sorted(budgets, key=lambda b: -b["max_macs"]), "specialized": points}


def plot_compare(result: dict[str, Any], out_dir: str | os.PathLike) -> Path:
    """``ofa_search_vs_specialized.png``: oracle accuracy against MACs of OFA's published nets
    (grey; hollow where the resolution was clipped; the flops nets named) and of every searched
    run's best sub-network (one colour per method), with the budgets as dotted lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cgnas.experiments.plots import _save

    fig, ax = plt.subplots(figsize=(7.5, 5))
    points = result["specialized"]
    for clipped in (False, True):
        sel = [p for p in points if p["clipped"] == clipped]
        ax.scatter([p["macs_m"] for p in sel], [p["oracle"] for p in sel], s=22, color="grey",
                   facecolors="none" if clipped else "grey",
                   label="OFA published" + (" (r >= 240, clipped)" if clipped else ""))
    for p in points:
        if p["hardware"] == "flops":
            ax.annotate(f"flops-{p['constraint']}", (p["macs_m"], p["oracle"]), fontsize=7,
                        xytext=(4, -10), textcoords="offset points")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    methods = sorted({m["method"] for b in result["budgets"] for m in b["methods"]})
    for i, method in enumerate(methods):
        runs = [r for b in result["budgets"] for m in b["methods"] if m["method"] == method for r in m["runs"]]
        ax.scatter([r["macs_m"] for r in runs], [r["label"] for r in runs], s=16, marker="^",
                   color=colours[i % len(colours)], label=f"searched: {method}")
    for b in result["budgets"]:
        ax.axvline(b["max_macs"], color="black", ls=":", lw=0.8)
    ax.set_xlabel("MACs (millions, from the CG)")
    ax.set_ylabel("oracle top-1 (%, OFA's accuracy predictor)")
    ax.set_title(f"best of {result['queries']} oracle queries per run vs OFA's published nets", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, Path(out_dir) / "ofa_search_vs_specialized.png")
