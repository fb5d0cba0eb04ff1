"""Experiment 1: transfer rank correlation (DESIGN.md section 4).

For a target family T, per seed ``s``:

1. ``cl``: pre-train the encoder contrastively on the unlabeled CGs of T, train it with the
   head on ``source_per_family`` labeled CGs of each other family, fine-tune on k labeled
   CGs of T.
2. ``gnn``: the same network and schedule without contrastive pre-training.
3. ``target_only``: the same network trained from scratch on the k target labels (k >= 2).
4. ``params`` / ``flops``: the real network's parameter count / MACs as the score.
   ``ridge``: ridge regression from fixed-length CG descriptors to the k labels
   (:class:`~cgnas.model.ridge.RidgeLOO` on :meth:`GraphSet.descriptors`, k >= 3): a
   target-only model that costs milliseconds and knows no graph wiring.
5. ``proxies``: zero-cost proxies of the real networks (``cgnas.zcp``, synthetic batch of seed
   0, cached per architecture under ``<cache>/zcp/``) as the score; a network whose proxy
   fails ranks last. Each transferred method is also scored blended with each proxy
   (``cl+synflow``, ...: :func:`rank_blend`), where the proxy joins only if it ranks the k
   labeled architectures at least as well as the un-fine-tuned predictor
   (:func:`~cgnas.ranking.proxy_joins_blend`; no extra label used). ``target_only`` is blended
   the same way (``target_only+synflow``, ...), against a source that knows nothing: the proxy
   joins if it ranks the k labels at all (Spearman ≥ 0), so that a blend row is never compared
   with an unblended baseline.
6. ``ensemble`` (with several proxies): ``zc``, the rank blend of the proxies that greedy
   forward selection on the k labels picks (:func:`~cgnas.ranking.forward_select`), and
   ``cl+zc``, ``gnn+zc``, ``target_only+zc``: each predictor blended with the proxies that
   forward selection picks against the predictor's out-of-fold predictions on the k labels
   (:meth:`~cgnas.model.predictor.Predictor.cross_val_predict`, ``ENSEMBLE_FOLDS`` more
   fine-tunings per k; DECISIONS 28).

The k target samples are nested (the first k of one seeded permutation), and every method
and k is scored on the same evaluation set: all target architectures outside the largest
sample. Scores are Spearman's ρ (SRCC) and Kendall's τ against the target metric; rows
report mean and standard deviation over seeds.

The protocol (families, metrics, split, source and pre-training sets, the source predictor)
is :mod:`cgnas.protocol`'s. Target ``ofa_mbv3`` (experiment 3,
:class:`~cgnas.protocol.OFATransferConfig`): the labels are the 364
measured OFA-MBv3 subnets (ImageNet top-1, w1.0, r=224), the sources all three NAS-Bench
families, and since there is no unlabeled OFA table, ``cl`` pre-trains on a seeded sample of
each NAS-Bench table plus CGs sampled from the OFA space (:func:`~cgnas.protocol.pretrain_set`).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import numpy as np

from cgnas.data.cache import labeled_graphs
from cgnas.errors import CgnasError
from cgnas.graph.descriptor import varying_columns
from cgnas.model.predictor import Predictor
from cgnas.model.ridge import MIN_SAMPLES, RidgeLOO
from cgnas.protocol import (FAMILIES, METHODS, TARGET_METRIC, TransferConfig, pretrain_set, proxy_scores,
                            source_graphs, split_order, transferred_predictor)
from cgnas.ranking import gated_blend, rank_scores, selected_blend
from cgnas.train.supervised import TrainConfig
from cgnas.utils import atomic_write_text

ENSEMBLE_FOLDS = 5


def finished_seeds(out: str | os.PathLike | None, config: TransferConfig) -> dict[str, Any] | None:
    """The result in ``out`` if a run of the same ``config`` (up to the number of seeds) wrote
    it, keeping only the seeds that ``config`` asks for; else None."""
    if out is None or not Path(out).is_file():
        return None
    try:
        previous = json.loads(Path(out).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    settings = json.loads(json.dumps({**asdict(config), "seeds": None}))
    # settings added since the file was written count as their defaults
    defaults = json.loads(json.dumps(asdict(type(config)(target=config.target))))
    if {**defaults, **previous.get("config", {}), "seeds": None} != settings or "runs" not in previous:
        return None
    previous["runs"] = [r for r in previous["runs"] if r["seed"] < config.seeds]
    return previous


def run_transfer(config: TransferConfig, cache_root: str | os.PathLike | None = None,
                 data_dir: str | os.PathLike | None = None, progress: bool = True,
                 log: Callable[[str], None] = lambda msg: None,
                 out: str | os.PathLike | None = None) -> dict[str, Any]:
    """Run the experiment; returns the ``transfer`` JSON of DESIGN.md section 5 (+ per-seed raw rows).

    With ``out``, the result so far is written there (atomically) after every seed, and a rerun
    with the same config resumes after the last finished seed instead of starting over.
    """
    config.validate()
    target = config.target
    metric = config.metric or TARGET_METRIC[target]
    graphs, labels = labeled_graphs(target, metric, cache_root, data_dir, progress, config.table_limit)
    k_max = max(config.samples)
    if k_max >= len(graphs):
        raise CgnasError(f"--samples {k_max} leaves no {target} architecture to evaluate on")
    baselines = [m for m in ("params", "flops") if m in config.methods]
    baselines += [p for p in config.proxies if p not in baselines]
    scores = proxy_scores(target, graphs, baselines, cache_root, data_dir, progress)
    proxies = {p: scores[p] for p in config.proxies}  # blended with each transferred predictor
    descriptors = varying_columns(graphs.descriptors()) if "ridge" in config.methods else None
    previous = finished_seeds(out, config)
    raw: list[dict[str, Any]] = previous["runs"] if previous else []
    scatter: dict[str, Any] = previous["scatter"] if previous else {}
    done = {r["seed"] for r in raw}
    if done:
        log(f"resuming from {out}: seeds {sorted(done)} already done")

    def result() -> dict[str, Any]:
        return {"target": target, "metric": metric, "rows": summarize(raw), "runs": raw,
                "eval_size": len(graphs) - k_max, "config": asdict(config), "scatter": scatter}

    for seed in range(config.seeds):
        if seed in done:
            continue
        start = time.perf_counter()
        order = split_order(len(graphs), seed)
        eval_idx = order[k_max:]
        eval_graphs, eval_y = graphs.subset(eval_idx), labels[eval_idx]

        def score(method: str, k: int, pred: np.ndarray, **extra: Any) -> None:
            rho, tau = rank_scores(pred, eval_y)
            raw.append({"method": method, "samples": k, "seed": seed, "spearman": rho, "kendall": tau, **extra})
            if method == "cl" and seed == 0 and k == k_max:  # kept for the predicted-vs-true plot
                show = np.random.default_rng(0).permutation(len(pred))[:2000]
                scatter.update(method=method, samples=k, seed=seed, spearman=rho,
                               predicted=pred[show].round(4).tolist(), true=eval_y[show].round(4).tolist())
            log(f"seed {seed} {method:<17} k={k:<4} SRCC {rho:.3f}  KT {tau:.3f}")

        def score_ensemble(method: str, k: int, pred_k: np.ndarray | None, anchor: np.ndarray | None) -> None:
            blend, chosen = selected_blend(pred_k, {p: v[eval_idx] for p, v in proxies.items()}, anchor,
                                           {p: v[order[:k]] for p, v in proxies.items()}, labels[order[:k]])
            score(method, k, blend, proxies_chosen=chosen)

        ensemble_ks = [k for k in config.samples if config.ensemble and k >= 3]  # out-of-fold needs 2 to fit on

        def score_blends(method: str, k: int, pred_k: np.ndarray, source_on_labeled: np.ndarray,
                         untuned: Predictor, recipe: TrainConfig) -> None:
            """The rows ``<method>+<proxy>`` (gated) and ``<method>+zc`` (out-of-fold
            predictions of ``untuned`` fine-tuned with ``recipe``) of one fine-tuned predictor."""
            labeled_idx, y_k = order[:k], labels[order[:k]]
            for name, values in proxies.items():
                blend, joined = gated_blend(pred_k, values[eval_idx], source_on_labeled, values[labeled_idx], y_k)
                score(f"{method}+{name}", k, blend, proxy_joined=joined)
            if k in ensemble_ks:
                oof = untuned.cross_val_predict(graphs.subset(labeled_idx), y_k, recipe, min(ENSEMBLE_FOLDS, k))
                score_ensemble(f"{method}+zc", k, pred_k, oof)

        for k in config.samples:
            for name, values in scores.items():
                score(name, k, values[eval_idx])
            if k in ensemble_ks:
                score_ensemble("zc", k, None, None)
        transferred = [m for m in ("cl", "gnn") if m in config.methods]
        if transferred:
            src, src_y, src_fam = source_graphs([f for f in FAMILIES if f != target], config.source_per_family,
                                                seed, cache_root, data_dir, progress, config.table_limit)
        pre_graphs, pre_spectra = (pretrain_set(config, seed, graphs, cache_root, data_dir, progress)
                                   if "cl" in transferred else (graphs, None))
        for method in transferred:
            pred = transferred_predictor(method, pre_graphs, pre_spectra, (src, src_y, src_fam), config, seed,
                                         progress)
            for k in config.samples:
                labeled, y_k = graphs.subset(order[:k]), labels[order[:k]]
                model = pred if k < 2 else pred.copy().finetune(labeled, y_k, config.finetune, progress=progress)
                pred_k = model.predict(eval_graphs)
                score(method, k, pred_k)
                source_on_labeled = pred.predict(labeled) if proxies and k >= 2 else np.empty(0)
                score_blends(method, k, pred_k, source_on_labeled, pred, config.finetune)
        if "target_only" in config.methods:
            for k in config.samples:
                if k >= 2:
                    untrained = Predictor(config.predictor, seed=seed)
                    model = untrained.copy().finetune(graphs.subset(order[:k]), labels[order[:k]],
                                                      config.target_only, progress=progress)
                    pred_k = model.predict(eval_graphs)
                    score("target_only", k, pred_k)
                    # gated against a source that knows nothing: the proxy joins if it ranks the k at all
                    score_blends("target_only", k, pred_k, np.zeros(k), untrained, config.target_only)
        if descriptors is not None:
            for k in config.samples:
                if k >= MIN_SAMPLES:
                    ridge = RidgeLOO().fit(descriptors[order[:k]], labels[order[:k]])
                    score("ridge", k, ridge.predict(descriptors[eval_idx]))
        log(f"seed {seed} done in {time.perf_counter() - start:.0f} s")
        if out is not None:
            atomic_write_text(out, json.dumps(result(), indent=1))
    return result()


def summarize(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and std over seeds of each (method, samples); for a blend, the number of seeds
    on which the proxy joined it; for an ensemble, on how many seeds each proxy was chosen."""
    rows = []
    order = list(METHODS) + sorted({r["method"] for r in raw} - set(METHODS))  # then proxies and blends
    keys = sorted({(r["method"], r["samples"]) for r in raw}, key=lambda mk: (order.index(mk[0]), mk[1]))
    for method, k in keys:
        sel = [r for r in raw if r["method"] == method and r["samples"] == k]
        rho = np.array([r["spearman"] for r in sel])
        tau = np.array([r["kendall"] for r in sel])
        rows.append({"method": method, "samples": k, "spearman_mean": round(float(rho.mean()), 4),
                     "spearman_std": round(float(rho.std()), 4), "kendall_mean": round(float(tau.mean()), 4),
                     "kendall_std": round(float(tau.std()), 4), "seeds": len(sel)})
        if "proxy_joined" in sel[0]:  # a predictor + proxy blend: on how many seeds the proxy joined
            rows[-1]["proxy_joined"] = sum(r["proxy_joined"] for r in sel)
        if "proxies_chosen" in sel[0]:  # an ensemble: on how many seeds each proxy was chosen
            chosen = [p for r in sel for p in r["proxies_chosen"]]
            rows[-1]["proxies_chosen"] = {p: chosen.count(p) for p in sorted(set(chosen))}
    return rows
