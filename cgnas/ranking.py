"""Rank statistics shared by evaluation, the transfer experiment and search."""

from __future__ import annotations

from typing import Mapping

import numpy as np
from scipy.stats import kendalltau, rankdata, spearmanr


def rank_scores(pred: np.ndarray, true: np.ndarray) -> tuple[float, float]:
    """(Spearman ρ, Kendall τ) of ``pred`` against ``true`` (both ``[n]``); 0 for a constant
    prediction."""
    if np.all(pred == pred[0]):
        return 0.0, 0.0
    return float(spearmanr(pred, true).statistic), float(kendalltau(pred, true).statistic)


def rank_blend(*scores: np.ndarray) -> np.ndarray:
    """Mean of the scores' normalized ranks, ``(1/m) Σ_j rank(s_j) / n`` (each ``[n]``, out
    ``[n]``): an unweighted ensemble of scorers on different scales (a predictor and a
    zero-cost proxy). Equal weights, because the k labels that could fit a weight are the ones
    the predictor was fine-tuned on."""
    return np.mean([rankdata(s) / len(s) for s in scores], axis=0)


def proxy_joins_blend(source_scores: np.ndarray, proxy_scores: np.ndarray, labels: np.ndarray) -> bool:
    """Whether a zero-cost proxy should be blended with a predictor fine-tuned on ``labels``:
    if the proxy ranks those labeled architectures (Spearman) at least as well as the source
    predictor did before fine-tuning on them (all three ``[k]``). With fewer than 2 labels
    there is nothing to judge by and the proxy joins.

    The fine-tuned predictor cannot be judged on the labels it was fitted to; its un-fine-tuned
    source is a fair, if low, bar. A proxy below it is much weaker than the fine-tuned
    predictor, and an equal blend would pull the ranking towards the proxy's (DECISIONS 27)."""
    if len(labels) < 2:
        return True
    return rank_scores(proxy_scores, labels)[0] >= rank_scores(source_scores, labels)[0]


def gated_blend(pred: np.ndarray, proxy: np.ndarray, source_on_labeled: np.ndarray, proxy_on_labeled: np.ndarray,
                labels: np.ndarray) -> tuple[np.ndarray, bool]:
    """``(scores, joined)``: the equal rank blend of a fine-tuned predictor's ``pred`` with
    ``proxy`` (both ``[n]``) if :func:`proxy_joins_blend` lets the proxy in on the k labeled
    architectures (``source_on_labeled``, ``proxy_on_labeled``, ``labels``: ``[k]``), else
    ``pred`` unchanged."""
    joined = proxy_joins_blend(source_on_labeled, proxy_on_labeled, labels)
    return (rank_blend(pred, proxy) if joined else pred), joined


def forward_select(labels: np.ndarray, candidates: Mapping[str, np.ndarray],
                   anchor: np.ndarray | None = None) -> list[str]:
    """Greedy forward selection of a rank ensemble on k labeled architectures.

    Starting from ``anchor`` (``[k]``, e.g. a predictor's out-of-fold predictions; None:
    from nothing), repeatedly add the candidate (``{name: [k]}``) whose :func:`rank_blend`
    with the members so far ranks ``labels`` best, while that Spearman strictly improves;
    returns the chosen names in the order they joined. A proxy weak on its own can join if it
    errs where the others do not, which the one-proxy gate cannot see (DECISIONS 28)."""
    members = [] if anchor is None else [anchor]
    best = rank_scores(anchor, labels)[0] if anchor is not None else -np.inf
    chosen: list[str] = []
    while len(chosen) < len(candidates):
        trial = {name: rank_scores(rank_blend(*members, values), labels)[0]
                 for name, values in candidates.items() if name not in chosen}
        name = max(trial, key=trial.__getitem__)
        if trial[name] <= best:
            break
        chosen.append(name)
        members.append(candidates[name])
        best = trial[name]
    return chosen


def selected_blend(pred: np.ndarray | None, proxies: Mapping[str, np.ndarray], anchor: np.ndarray | None,
                   proxies_on_labeled: Mapping[str, np.ndarray], labels: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """``(scores, chosen)``: the equal rank blend of ``pred`` (``[n]``; None: proxies only) with
    the proxies (``{name: [n]}``) that :func:`forward_select` picks on the k labeled
    architectures (``proxies_on_labeled``: ``{name: [k]}``, ``labels``: ``[k]``), starting from
    ``anchor`` (``[k]``: ``pred``'s out-of-fold predictions on them; None with ``pred`` None)."""
    chosen = forward_select(labels, proxies_on_labeled, anchor)
    members = ([] if pred is None else [pred]) + [proxies[name] for name in chosen]
    return rank_blend(*members), chosen
