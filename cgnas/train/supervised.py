"""Supervised training of the score head (and encoder) on labeled CGs.

Labels of different families differ in scale (NB101 fractions, NB201 percent on another
range, NB301 surrogate percent), so they are normalized per family before training:

* ``zscore``: ``y' = (y - mean_f) / std_f`` (invertible: predictions can be read back as
  accuracies of the target family once its mean and std are known from fine-tuning labels);
* ``rank``:   ``y' = sqrt(12) * ((rank_f(y) - 0.5) / n_f - 0.5)``, uniform with unit variance,
  insensitive to outliers such as NB201's 10 % (diverged) architectures.

Losses (``TrainConfig.loss``):

* ``mse``: ``mean_i (s_i - y'_i)^2`` on normalized labels;
* ``pairwise``: RankNet's logistic loss over the pairs of a batch with different labels,
  ``mean_{i,j: y_i > y_j} log(1 + exp(-(s_i - s_j)))``, which only asks for the right order;
* ``mse+pairwise``: their sum (the order, plus a calibrated scale for reading predictions back
  as accuracies).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, Sequence

import numpy as np
import torch
from scipy.stats import rankdata
from tqdm import tqdm

from cgnas.data.graphset import GraphSet
from cgnas.errors import CgnasError
from cgnas.train.network import TrainableNet

LabelNorm = Literal["zscore", "rank"]


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    encoder_lr_scale: float = 1.0
    """Learning rate of the encoder relative to the head's (0 freezes the encoder)."""
    label_norm: LabelNorm = "zscore"
    loss: Literal["mse", "pairwise", "mse+pairwise"] = "mse"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_labels(labels: Sequence[float] | np.ndarray, n_graphs: int) -> np.ndarray:
    """Labels as float64, with a clear error for NaN/inf or a length mismatch."""
    y = np.asarray(labels, dtype=np.float64)
    if y.ndim != 1 or len(y) != n_graphs:
        raise CgnasError(f"got {y.size} labels for {n_graphs} graphs; give one label per graph")
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise CgnasError(f"{bad.size} labels are NaN or infinite (first at position {bad[0]}); "
                         "remove those architectures or fix their labels")
    return y


def normalize(y: np.ndarray, kind: LabelNorm) -> tuple[np.ndarray, dict[str, Any]]:
    """Normalized labels and what :func:`denormalize` needs to map scores back to labels."""
    if kind == "zscore":
        mean, std = float(y.mean()), float(y.std())
        std = std if std > 0 else 1.0
        return (y - mean) / std, {"kind": kind, "mean": mean, "std": std}
    if kind == "rank":
        z = np.sqrt(12.0) * ((rankdata(y) - 0.5) / len(y) - 0.5)
        knots_z, first = np.unique(z, return_index=True)
        return z, {"kind": kind, "knots": knots_z.tolist(), "values": y[first].tolist()}
    raise CgnasError(f"unknown label normalization {kind!r}; use 'zscore' or 'rank'")


def denormalize(scores: np.ndarray, stats: dict[str, Any]) -> np.ndarray:
    """Scores in normalized units -> label units (monotone, so rankings are unchanged).

    ``zscore``: ``mean + std * s``. ``rank``: piecewise-linear through the fine-tuning labels
    at their normalized ranks, extended linearly past the first and last label.
    """
    if stats["kind"] == "zscore":
        return stats["mean"] + stats["std"] * scores
    knots, values = np.asarray(stats["knots"]), np.asarray(stats["values"])
    if len(knots) == 1:
        return np.full_like(scores, values[0], dtype=np.float64)
    out = np.interp(scores, knots, values)
    lo, hi = scores < knots[0], scores > knots[-1]
    slope_lo = (values[1] - values[0]) / (knots[1] - knots[0])
    slope_hi = (values[-1] - values[-2]) / (knots[-1] - knots[-2])
    out[lo] = values[0] + slope_lo * (scores[lo] - knots[0])
    out[hi] = values[-1] + slope_hi * (scores[hi] - knots[-1])
    return out


def normalize_per_family(y: np.ndarray, families: np.ndarray, kind: LabelNorm) -> np.ndarray:
    out = np.empty_like(y)
    for fam in np.unique(families):
        mask = families == fam
        out[mask], _ = normalize(y[mask], kind)
    return out


def pairwise_logistic(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """RankNet loss ``mean_{i,j: y_i > y_j} softplus(-(s_i - s_j))`` (0 when all labels tie)."""
    better = y[:, None] > y[None, :]
    if not better.any():
        return scores.sum() * 0.0
    return torch.nn.functional.softplus(-(scores[:, None] - scores[None, :]))[better].mean()


def regression_loss(scores: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "mse":
        return torch.mean((scores - y) ** 2)
    if kind == "pairwise":
        return pairwise_logistic(scores, y)
    if kind == "mse+pairwise":
        return torch.mean((scores - y) ** 2) + pairwise_logistic(scores, y)
    raise CgnasError(f"unknown loss {kind!r}; use 'mse', 'pairwise' or 'mse+pairwise'")


def train_regression(net: TrainableNet, graphs: GraphSet, targets: np.ndarray, config: TrainConfig,
                     seed: int = 0, progress: bool = True, desc: str = "train") -> list[float]:
    """Minimise ``mean((net(G) - target)^2)`` over ``graphs``; returns the loss of each epoch."""
    head = list(net.head.parameters())
    groups = [{"params": head, "lr": config.lr}]
    if config.encoder_lr_scale > 0:
        groups.append({"params": list(net.encoder.parameters()), "lr": config.lr * config.encoder_lr_scale})
    else:
        net.encoder.requires_grad_(False)
    optimizer = torch.optim.AdamW(groups, weight_decay=config.weight_decay)
    y = torch.as_tensor(targets, dtype=torch.float32)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    losses = []
    net.train()
    for _ in tqdm(range(config.epochs), desc=desc, disable=not progress, leave=False):
        order = rng.permutation(len(graphs))
        total = 0.0
        for i in range(0, len(order), config.batch_size):
            idx = order[i:i + config.batch_size]
            loss = regression_loss(net(graphs.batch(idx)), y[idx], config.loss)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        losses.append(total / len(graphs))
    net.encoder.requires_grad_(True)
    net.eval()
    return losses


@torch.inference_mode()
def predict_scores(net: TrainableNet, graphs: GraphSet, batch_size: int = 64) -> np.ndarray:
    """``[len(graphs)]`` head outputs, in order (small batches are fastest on a CPU: the sparse
    aggregation stays in cache)."""
    net.eval()
    out = [net(graphs.batch(np.arange(i, min(i + batch_size, len(graphs))))).numpy()
           for i in range(0, len(graphs), batch_size)]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)
