"""Rank statistics shared by evaluation, the transfer experiment and search."""

from __future__ import annotations

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
