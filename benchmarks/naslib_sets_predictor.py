"""The transferred predictor on NASLib's Suite-Zero sets, beside NASLib's own proxy values.

The issue's reference numbers for zero-cost proxies (NB101 flops 0.72, NB201 nwot 0.79,
NB301 nwot 0.56, ...) are Spearman correlations on NASLib's 500/725-architecture sets against
their ``val_accuracy``; ``benchmarks/naslib_sets.py`` shows that on NB101 that set is another
population than the 30k table of the transfer experiment. This script scores the predictor
where those numbers were measured: for each seed, the source predictor (before any target
label) is fine-tuned on the first k architectures of a seeded permutation of the set, with
the set's own labels, and every method is ranked against ``val_accuracy`` on the
architectures outside the first 100, as in the transfer experiment; the proxies are NASLib's
published values for the same architectures. Rows of one architecture (same canonical key)
count once, with their labels and proxy values averaged.

    python benchmarks/naslib_sets_predictor.py --space nb101 --k 20,50 --seeds 0,1,2,3,4 --cache-dir /tmp/cgcache
    python benchmarks/naslib_sets_predictor.py --space nb201 --blend nwot,synflow --cache-dir /tmp/cgcache
    python benchmarks/naslib_sets_predictor.py --space nb201 --ensemble all --cache-dir /tmp/cgcache

The source predictor is ``--predictor`` or the one ``cgnas search --method cl`` (``--method``)
uses, loaded from ``<cache>/predictors/`` or built there (one model for every seed: the
seeds vary the labeled sample and the fine-tuning). One JSON line per (k, seed), then the
mean of each column.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cgnas  # noqa: E402
from cgnas.data.graphset import GraphSet  # noqa: E402
from cgnas.experiments.search import SearchConfig, source_predictor  # noqa: E402
from cgnas.model.predictor import FINETUNE_DEFAULT  # noqa: E402
from cgnas.protocol import split_order  # noqa: E402
from cgnas.ranking import gated_blend, rank_scores, selected_blend  # noqa: E402
from cgnas.zcp.naslib import naslib_reference  # noqa: E402

NOT_PROXIES = {"dataset", "naslib_op_tuple", "arch_str", "val_accuracy", "naslib_tuple", "hash", "adjacency_pruned",
               "ops_pruned", "naslib_idx", "naslib_compact", "genotype"}
HELD_OUT_FROM = 100
"""Every k is scored on the architectures after the first 100 of the permutation, so that all
k see the same held-out set."""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="nb101")
    ap.add_argument("--k", default="20,50")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--method", default="cl", help="which cached search source predictor (cl or gnn)")
    ap.add_argument("--predictor", help="a source predictor checkpoint instead of the cached one")
    ap.add_argument("--blend", default="", help="NASLib proxy columns to blend with the fine-tuned predictor, "
                                                "each under the gate of `cgnas transfer --proxies` (DECISIONS 27)")
    ap.add_argument("--ensemble", default="", help="NASLib proxy columns ('all': every one) offered to the rows zc "
                                                   "and <method>+zc: the rank ensembles that forward selection on "
                                                   "the k labels picks (`cgnas transfer --ensemble`, DECISIONS 28)")
    ap.add_argument("--cache-dir")
    ap.add_argument("--data-dir")
    args = ap.parse_args()
    config = SearchConfig(args.space, args.method, queries=1, seeds=(0,), predictor=args.predictor)
    source = source_predictor(config, args.cache_dir, args.data_dir, progress=False,
                              log=lambda msg: print(msg, file=sys.stderr))
    specs, table = naslib_reference(args.space, args.data_dir)
    space = cgnas.space(args.space)
    archs = [space.parse(s) for s in specs]
    rows_of: dict[str, list[int]] = {}
    for row, arch in enumerate(archs):
        rows_of.setdefault(space.key(arch), []).append(row)
    # NASLib's NB101 set lists 48 cells several times (500 rows, 292 distinct cells): one row
    # per cell, label and proxies averaged, or a held-out copy of a fine-tuning cell would leak
    groups = list(rows_of.values())
    graphs = GraphSet.from_cgs((space.to_cg(archs[g[0]]) for g in groups), args.space, keys=list(rows_of))
    labels = np.array([table["val_accuracy"].to_numpy(float)[g].mean() for g in groups])
    proxies = {c: np.array([table[c].to_numpy(float)[g].mean() for g in groups])
               for c in table.columns if c not in NOT_PROXIES}
    proxies = {c: v for c, v in proxies.items() if np.isfinite(v).sum() > 1}  # NB301's zen column is empty
    offered = list(proxies) if args.ensemble == "all" else list(filter(None, args.ensemble.split(",")))
    # a proxy undefined for an architecture ranks it last, as in `cgnas transfer`
    filled = {c: np.where(np.isfinite(proxies[c]), proxies[c], np.nanmin(proxies[c]) - 1) for c in offered}
    print(f"{args.space}: {len(table)} rows, {len(groups)} distinct architectures", file=sys.stderr)
    rows = []
    for k in [int(x) for x in args.k.split(",")]:
        for seed in [int(s) for s in args.seeds.split(",")]:
            order = split_order(len(labels), seed)
            train, held = order[:k], order[HELD_OUT_FROM:]
            base = source.copy(seed)
            model = base.copy().finetune(graphs.subset(train), labels[train], FINETUNE_DEFAULT, progress=False)
            pred = model.predict(graphs.subset(held))
            row = {"space": args.space, "k": k, "seed": seed, "held_out": len(held),
                   args.method: round(rank_scores(pred, labels[held])[0], 4),
                   f"{args.method}_k0": round(rank_scores(source.predict(graphs.subset(held)), labels[held])[0], 4)}
            source_on_train = source.predict(graphs.subset(train))
            for name in filter(None, args.blend.split(",")):
                blend, joined = gated_blend(pred, proxies[name][held], source_on_train, proxies[name][train],
                                            labels[train])
                row[f"{args.method}+{name}"] = round(rank_scores(blend, labels[held])[0], 4)
                row[f"{name}_joined"] = int(joined)
            if filled:
                oof = base.cross_val_predict(graphs.subset(train), labels[train], FINETUNE_DEFAULT)
                for name, scores, anchor in (("zc", None, None), (f"{args.method}+zc", pred, oof)):
                    blend, chosen = selected_blend(scores, {c: v[held] for c, v in filled.items()}, anchor,
                                                   {c: v[train] for c, v in filled.items()}, labels[train])
                    row[name] = round(rank_scores(blend, labels[held])[0], 4)
                    row[f"{name}_chosen"] = chosen
            for name, values in proxies.items():
                finite = np.isfinite(values[held])
                row[name] = round(rank_scores(values[held][finite], labels[held][finite])[0], 4)
            rows.append(row)
            print(json.dumps(row), flush=True)
    for k in sorted({r["k"] for r in rows}):
        at_k = [r for r in rows if r["k"] == k]
        print(json.dumps({"space": args.space, "k": k, "seeds": len(at_k), "mean": {
            c: round(float(np.mean([r[c] for r in at_k])), 4) for c in at_k[0]
            if c not in ("space", "k", "seed") and not c.endswith("_chosen")}}))


if __name__ == "__main__":
    main()
