"""How NASLib's Suite-Zero sets differ from the benchmark tables that cgnas evaluates on.

The issue's reference numbers for zero-cost proxies (e.g. NB101 flops 0.72) are Spearman
correlations on NASLib's 500/725-architecture sets against *their* ``val_accuracy``. cgnas's
transfer tables score every method on (almost) a whole benchmark table against the table's
metric. This script puts the two populations side by side for params (the one proxy both
have without any computation) and, on the architectures in both, compares the two labels:

    python benchmarks/naslib_sets.py --cache-dir /tmp/cgcache [--json]

Columns: Spearman of params against the set's own label, on the NASLib set and on the whole
table; on the overlap, Spearman between NASLib's label and the table's label, and of params
against the table's label.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cgnas.data.cache import labeled_graphs  # noqa: E402
from cgnas.data.tables import benchmark  # noqa: E402
from cgnas.protocol import TARGET_METRIC  # noqa: E402
from cgnas.zcp.naslib import naslib_reference  # noqa: E402


def rho(a: np.ndarray, b: np.ndarray) -> float:
    return round(float(spearmanr(a, b).statistic), 4)


def compare(space: str, cache_dir: str | None, data_dir: str | None) -> dict:
    """params-vs-label Spearman on NASLib's set and on the table, and label agreement on both."""
    specs, ref = naslib_reference(space, data_dir=data_dir)
    graphs, labels = labeled_graphs(space, TARGET_METRIC[space], cache_dir, data_dir, progress=False)
    bench = benchmark(space, metric=TARGET_METRIC[space], data_dir=data_dir)
    sp = bench.space
    row_of = {sp.key(a): i for i, a in enumerate(bench.archs())}
    pairs = [(j, row_of[k]) for j, k in enumerate(sp.key(sp.parse(s)) for s in specs) if k in row_of]
    ref_labels, ref_params = ref["val_accuracy"].to_numpy(float), ref["params"].to_numpy(float)
    out = {"space": space, "naslib_set": len(ref), "table": len(labels), "table_metric": bench.metric,
           "params_vs_label_naslib_set": rho(ref_params, ref_labels),
           "params_vs_label_table": rho(graphs.params, labels),
           "label_quartiles_naslib_set": np.percentile(ref_labels, [25, 50, 75]).round(2).tolist(),
           "label_quartiles_table": np.percentile(labels, [25, 50, 75]).round(4).tolist(),
           "overlap": len(pairs)}
    if len(pairs) >= 10:
        j, i = (np.array(x) for x in zip(*pairs))
        out["naslib_label_vs_table_label_overlap"] = rho(ref_labels[j], labels[i])
        out["params_vs_table_label_overlap"] = rho(graphs.params[i], labels[i])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spaces", default="nb101,nb201,nb301")
    ap.add_argument("--cache-dir")
    ap.add_argument("--data-dir")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    results = [compare(s, args.cache_dir, args.data_dir) for s in args.spaces.split(",")]
    if args.json:
        print(json.dumps(results, indent=1))
        return
    for r in results:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
