"""Which weight a zero-cost proxy deserves in a blend with the fine-tuned predictor, and
whether the k labels can tell.

For each seed, a source predictor (not fine-tuned on the target) is fine-tuned on the first k
architectures of the transfer experiment's split, and on every architecture outside the first
100 the script reports the Spearman of the blend ``w·r(pred) + (1 − w)·r(proxy)`` (``r`` =
normalized rank) for w = 0, 0.1, …, 1, and two ways of choosing w from the k labels alone:

* ``cv``: the w whose blend of out-of-fold predictions (``--folds``-fold fine-tuning on the
  k labels) and the proxy ranks the k labels best;
* ``gate`` (what ``cgnas transfer`` does, DECISIONS 27): w = 0.5 if the proxy ranks the k
  labeled architectures at least as well as the source predictor before fine-tuning, else 1.

    python benchmarks/blend_weights.py --target nb201 --proxy synflow --k 50 --seeds 0,1,2,3,4 --cache-dir /tmp/cgcache

``--proxy ridge`` blends with a second model of the same k labels instead of a proxy: ridge
regression on CG descriptors (``cgnas transfer --methods ridge``). On the held-out
architectures it is the ridge fitted on the k; on the k themselves, where that fit would be
overfitted, its out-of-fold predictions on the predictor's folds stand for it (in ``cv`` and
in the gate).

The source predictor is ``--predictor`` or the one ``cgnas search --method cl`` (``--method``)
uses, loaded from ``<cache>/predictors/`` or built there; the proxy is read as the transfer
experiment reads it (``params``/``flops`` off the CGs, others from the ``cgnas zcp`` cache).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cgnas.data.cache import labeled_graphs  # noqa: E402
from cgnas.experiments.search import SearchConfig, source_predictor  # noqa: E402
from cgnas.model.predictor import FINETUNE_DEFAULT  # noqa: E402
from cgnas.model.ridge import RidgeLOO  # noqa: E402
from cgnas.protocol import TARGET_METRIC, proxy_scores, split_order  # noqa: E402
from cgnas.ranking import proxy_joins_blend, rank_blend, rank_scores  # noqa: E402
from cgnas.utils import cross_val_parts  # noqa: E402

WEIGHTS = np.round(np.linspace(0, 1, 11), 1)


def blend(w: float, pred: np.ndarray, proxy: np.ndarray) -> np.ndarray:
    """``w·r(pred) + (1 − w)·r(proxy)``: :func:`rank_blend` with unequal weights."""
    return w * rank_blend(pred) + (1 - w) * rank_blend(proxy)


def rho(a: np.ndarray, b: np.ndarray) -> float:
    return rank_scores(a, b)[0]


def ridge_views(descriptors: np.ndarray, train: np.ndarray, held: np.ndarray, y_train: np.ndarray,
                folds: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(out-of-fold ridge predictions on train, ridge fitted on train predicting held)``; the
    folds are those of :meth:`Predictor.cross_val_predict` with the same seed."""
    out_of_fold = np.zeros(len(train))
    for part, rest in cross_val_parts(len(train), folds, seed):
        out_of_fold[part] = RidgeLOO().fit(descriptors[train[rest]], y_train[rest]).predict(descriptors[train[part]])
    return out_of_fold, RidgeLOO().fit(descriptors[train], y_train).predict(descriptors[held])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="nb201")
    ap.add_argument("--proxy", default="synflow", help="a zero-cost proxy, or ridge (see above)")
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--method", default="cl", help="which cached search source predictor (cl or gnn)")
    ap.add_argument("--predictor", help="a source predictor checkpoint instead of the cached one")
    ap.add_argument("--cache-dir")
    args = ap.parse_args()
    config = SearchConfig(args.target, args.method, queries=1, seeds=(0,), predictor=args.predictor)
    source = source_predictor(config, args.cache_dir, None, progress=False,
                              log=lambda msg: print(msg, file=sys.stderr))
    graphs, labels = labeled_graphs(args.target, TARGET_METRIC[args.target], args.cache_dir, progress=False)
    if args.proxy == "ridge":
        descriptors = graphs.descriptors()
    else:
        proxy = proxy_scores(args.target, graphs, [args.proxy], args.cache_dir, None, progress=False)[args.proxy]
    for seed in [int(s) for s in args.seeds.split(",")]:
        order = split_order(len(graphs), seed)
        train, held = order[:args.k], order[100:]
        y_train = labels[train]

        model = source.copy(seed)
        finetuned = model.copy().finetune(graphs.subset(train), y_train, FINETUNE_DEFAULT, progress=False)
        pred = finetuned.predict(graphs.subset(held))
        out_of_fold = model.cross_val_predict(graphs.subset(train), y_train, FINETUNE_DEFAULT, args.folds)
        if args.proxy == "ridge":
            proxy_train, proxy_held = ridge_views(descriptors, train, held, y_train, args.folds, seed)
        else:
            proxy_train, proxy_held = proxy[train], proxy[held]
        cv = [rho(blend(w, out_of_fold, proxy_train), y_train) for w in WEIGHTS]
        gate = proxy_joins_blend(source.predict(graphs.subset(train)), proxy_train, y_train)
        test = {float(w): round(rho(blend(w, pred, proxy_held), labels[held]), 4) for w in WEIGHTS}
        w_cv = float(WEIGHTS[int(np.argmax(cv))])
        print(json.dumps({"target": args.target, "proxy": args.proxy, "k": args.k, "seed": seed,
                          "predictor": test[1.0], "proxy_alone": test[0.0], "equal": test[0.5],
                          "cv_weight": w_cv, "cv": test[w_cv], "gate_open": gate, "gate": test[0.5 if gate else 1.0],
                          "by_weight": test}), flush=True)


if __name__ == "__main__":
    main()
