"""Figures of the experiments (PNG, matplotlib Agg)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from cgnas.utils import atomic_write


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    finally:
        plt.close(fig)
    return path


def plot_transfer(result: dict[str, Any], out_dir: str | os.PathLike) -> list[Path]:
    """``transfer_<target>_srcc.png`` (SRCC against k, mean ± std over seeds, one line per
    method) and, when the result holds one, ``transfer_<target>_scatter.png`` (predicted
    against true for the CL predictor)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    target = result["target"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for method in dict.fromkeys(r["method"] for r in result["rows"]):
        rows = sorted((r for r in result["rows"] if r["method"] == method), key=lambda r: r["samples"])
        k = np.array([r["samples"] for r in rows])
        mean = np.array([r["spearman_mean"] for r in rows])
        std = np.array([r["spearman_std"] for r in rows])
        ax.plot(k, mean, marker="o", label=method)
        ax.fill_between(k, mean - std, mean + std, alpha=0.15)
    ax.set_xlabel("target samples k")
    ax.set_ylabel("Spearman (SRCC)")
    ax.set_title(f"transfer to {target} ({result['metric']}), {result['eval_size']:,} held-out archs")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    paths = [_save(fig, out / f"transfer_{target}_srcc.png")]
    scatter = result.get("scatter")
    if scatter:
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        ax.scatter(scatter["true"], scatter["predicted"], s=3, alpha=0.4)
        ax.set_xlabel(f"true {result['metric']}")
        ax.set_ylabel("predicted")
        ax.set_title(f"{scatter['method']}, k={scatter['samples']}, seed {scatter['seed']}: "
                     f"SRCC {scatter['spearman']:.3f}", fontsize=9)
        ax.grid(alpha=0.3)
        paths.append(_save(fig, out / f"transfer_{target}_scatter.png"))
    return paths
