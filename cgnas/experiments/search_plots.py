"""Experiment 2 (search) across methods: summary table and plots from the search logs.

Every ``cgnas search`` run leaves ``<log_dir>/<space>_<method>_seed<seed>.json`` (see
:mod:`cgnas.experiments.search`). From the logs of one space this module computes, per method,
over seeds:

* the best-so-far label after each query (the best label among the first n queries), its
  rank in the pool and, where the benchmark has one, the test label of that architecture;
  median and interquartile range over seeds (:func:`curves`, :func:`plot_search`);
* the number of queries a run needs to reach a goal (:func:`queries_to`): the pool's best
  label (rank 1), the pool's top 0.1 %, or (NB201) the benchmark's best test accuracy, for
  the best-so-far architecture or for any queried one; medians in :func:`summarize`.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from cgnas.errors import CgnasError

Run = list[dict[str, Any]]
"""The queries of one run, in order (dicts with ``query``, ``arch``, ``label``, ``test``, ``rank``)."""


def load_logs(log_dir: str | os.PathLike, space: str) -> tuple[dict[str, list[Run]], dict[str, Any]]:
    """``({method: [run, ...]}, pool facts)`` from the search logs of ``space`` in ``log_dir``.

    Pool facts (from the logs): ``metric``, ``test_metric``, ``pool_size``, ``pool_best``
    (best label) and ``test_best`` (best test label, ``None`` where there is none), and
    ``max_macs``, the MACs budget (millions) of the searches (``None`` without one).

    Raises:
        CgnasError: no logs, or logs of searches under different MACs budgets (one directory
            per budget).
    """
    runs: dict[str, list[Run]] = {}
    pool: dict[str, Any] = {}
    budgets = set()
    for path in sorted(Path(log_dir).glob(f"{space}_*_seed*.json"), key=_seed_order):
        data = json.loads(path.read_text())
        runs.setdefault(data["settings"]["method"], []).append(data["queries"])
        pool = {k: data[k] for k in ("metric", "test_metric", "pool_size", "pool_best", "test_best")}
        budgets.add(data["settings"].get("max_macs"))
    if not runs:
        raise CgnasError(f"no search logs of {space} in {log_dir} (expected {space}_<method>_seed<n>.json)")
    if len(budgets) > 1:
        raise CgnasError(f"the search logs in {log_dir} mix MACs budgets {sorted(map(str, budgets))}; "
                         "give each budget its own --out directory")
    pool["max_macs"] = budgets.pop()
    return runs, pool


def _seed_order(path: Path) -> tuple[str, int]:
    stem, _, seed = path.stem.rpartition("_seed")
    return stem, int(seed) if seed.isdigit() else -1


def finished(runs: dict[str, list[Run]], budget: int) -> dict[str, list[Run]]:
    """The runs with at least ``budget`` queries (unfinished ones are left out), per method."""
    done = {method: [r for r in method_runs if len(r) >= budget] for method, method_runs in runs.items()}
    return {method: method_runs for method, method_runs in done.items() if method_runs}


def best_so_far(run: Run, budget: int) -> list[dict[str, Any]]:
    """After each of the first ``budget`` queries, the query with the best label so far."""
    out, best = [], None
    for q in run[:budget]:
        if best is None or q["label"] > best["label"]:
            best = q
        out.append(best)
    return out


def curves(runs: Sequence[Run], budget: int, field: str) -> np.ndarray:
    """``[runs, budget]``: ``field`` (``label``, ``rank`` or ``test``) of the best-so-far
    architecture after 1..budget queries; NaN past the end of a shorter run."""
    out = np.full((len(runs), budget), np.nan)
    for i, run in enumerate(runs):
        values = [q[field] for q in best_so_far(run, budget)]
        out[i, :len(values)] = [np.nan if v is None else v for v in values]
    return out


def queries_to(run: Run, goal: Callable[[dict[str, Any]], bool], track: str = "best") -> float:
    """Queries until ``goal`` holds for the best-so-far architecture (``track="best"``) or for
    any queried one (``track="any"``); ``inf`` if it never does within the run."""
    steps = best_so_far(run, len(run)) if track == "best" else run
    for n, q in enumerate(steps, start=1):
        if goal(q):
            return float(n)
    return math.inf


def median_queries(runs: Sequence[Run], goal: Callable[[dict[str, Any]], bool], track: str = "best") -> float:
    """Median over runs of :func:`queries_to` (``inf`` when half the runs or more never get there)."""
    return float(np.median([queries_to(r, goal, track) for r in runs]))


def summarize(runs: dict[str, list[Run]], pool: dict[str, Any], budget: int) -> list[dict[str, Any]]:
    """One row per method, over its runs of at least ``budget`` queries.

    After ``budget`` queries, median over seeds (and IQR) of the best label, its rank and its
    test label. Over the whole logged runs (which may be longer than ``budget``, e.g. random
    search run until it finds the best), median queries until the best-so-far architecture is
    the pool's best (``queries_to_best``) or in its top 0.1 % (``queries_to_top<n>``), and
    with test labels until the best-so-far architecture (``queries_to_test_best``) or any
    queried one (``queries_to_test_best_any``) has the benchmark's best test label. An
    oracle without a pool (ofa_mbv3) has no ranks: its rows have the label figures only.
    """
    top = None if pool["pool_size"] is None else max(1, math.ceil(0.001 * pool["pool_size"]))

    def has_best_test(q: dict[str, Any]) -> bool:
        return q["test"] is not None and q["test"] >= pool["test_best"] - 1e-6

    rows = []
    for method, method_runs in finished(runs, budget).items():
        label = curves(method_runs, budget, "label")[:, -1]
        row = {"method": method, "seeds": len(method_runs), "budget": budget,
               "best_label_median": _round(np.nanmedian(label)),
               "best_label_iqr": [_round(v) for v in np.nanpercentile(label, [25, 75])]}
        if top is not None:  # rank figures in the order of a pool's row
            row["best_rank_median"] = _round(np.nanmedian(curves(method_runs, budget, "rank")[:, -1]))
        row["logged_queries_min"] = min(len(r) for r in method_runs)
        if top is not None:
            row["queries_to_best"] = median_queries(method_runs, lambda q: q["rank"] == 1)
            row[f"queries_to_top{top}"] = median_queries(method_runs, lambda q: q["rank"] <= top)
        if pool.get("test_best") is not None:
            row["best_test_median"] = _round(np.nanmedian(curves(method_runs, budget, "test")[:, -1]))
            row["queries_to_test_best"] = median_queries(method_runs, has_best_test)
            row["queries_to_test_best_any"] = median_queries(method_runs, has_best_test, "any")
        rows.append(row)
    return rows


def _round(value: float) -> float:
    return float(f"{value:.6g}")


def plot_search(runs: dict[str, list[Run]], pool: dict[str, Any], space: str, budget: int,
                out_dir: str | os.PathLike) -> Path:
    """``search_<space>.png``: best-so-far label, its rank in the pool (log scale; with a pool)
    and, with test labels, its test label against the number of queries; median and IQR over
    the runs of at least ``budget`` queries."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cgnas.experiments.plots import _save

    fields = (["label"] + (["rank"] if pool["pool_size"] is not None else [])
              + (["test"] if pool.get("test_best") is not None else []))
    titles = {"label": f"best {pool['metric']}", "rank": f"its rank among {pool['pool_size'] or 0:,}",
              "test": f"its {pool['test_metric']}"}
    fig, axes = plt.subplots(1, len(fields), figsize=(4.6 * len(fields), 3.8), squeeze=False)
    axes = axes[0]
    x = np.arange(1, budget + 1)
    for ax, field in zip(axes, fields):
        for method, method_runs in finished(runs, budget).items():
            values = curves(method_runs, budget, field)
            low, mid, high = np.nanpercentile(values, [25, 50, 75], axis=0)
            ax.plot(x, mid, label=f"{method} ({len(method_runs)} seeds)")
            ax.fill_between(x, low, high, alpha=0.15)
        if field == "rank":
            ax.set_yscale("log")
            ax.invert_yaxis()
        if field == "label" and pool["pool_best"] is not None:
            ax.axhline(pool["pool_best"], color="grey", ls=":", lw=1)
        if field == "test":
            ax.axhline(pool["test_best"], color="grey", ls=":", lw=1)
        ax.set_xlabel("queries")
        ax.set_title(titles[field], fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"search on {space}: median and IQR over seeds", fontsize=10)
    fig.tight_layout()
    return _save(fig, Path(out_dir) / f"search_{space}.png")
