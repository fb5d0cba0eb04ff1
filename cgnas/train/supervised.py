"""Supervised training of the score head (and encoder) on labeled CGs.

Labels of different families differ in scale (NB101 fractions, NB201 percent on another
range, NB301 surrogate percent), so they are normalized per family before training:

* ``zscore``: ``y' = (y - mean_f) / std_f`` (invertible: predictions can be read back as
  accuracies of the target family once its mean and std are known from fine-tuning labels);
* ``rank``:   ``y' = sqrt(12) * ((rank_f(y) - 0.5) / n_f - 0.5)``, uniform with unit variance,
  insensitive to outliers such as NB201's 10 % (diverged) architectures.

The loss is the mean squared error on normalized labels; a regression head trained this way
ranks well, which is what the rank correlations measure.
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
from cgnas.model.predictor_net import PredictorNet

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


def normalize(y: np.ndarray, kind: LabelNorm) -> tuple[np.ndarray, dict[str, float]]:
    """Normalized labels and the statistics that invert a z-score."""
    mean, std = float(y.mean()), float(y.std())
    if kind == "zscore":
        return (y - mean) / (std if std > 0 else 1.0), {"mean": mean, "std": std if std > 0 else 1.0}
    if kind == "rank":
        n = len(y)
        return np.sqrt(12.0) * ((rankdata(y) - 0.5) / n - 0.5), {"mean": mean, "std": std if std > 0 else 1.0}
    raise CgnasError(f"unknown label normalization {kind!r}; use 'zscore' or 'rank'")


def normalize_per_family(y: np.ndarray, families: np.ndarray, kind: LabelNorm) -> np.ndarray:
    out = np.empty_like(y)
    for fam in np.unique(families):
        mask = families == fam
        out[mask], _ = normalize(y[mask], kind)
    return out


def train_regression(net: PredictorNet, graphs: GraphSet, targets: np.ndarray, config: TrainConfig,
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
            loss = torch.mean((net(graphs.batch(idx)) - y[idx]) ** 2)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        losses.append(total / len(graphs))
    net.encoder.requires_grad_(True)
    net.eval()
    return losses


@torch.no_grad()
def predict_scores(net: PredictorNet, graphs: GraphSet, batch_size: int = 512) -> np.ndarray:
    """``[len(graphs)]`` head outputs, in order."""
    net.eval()
    out = [net(graphs.batch(np.arange(i, min(i + batch_size, len(graphs))))).numpy()
           for i in range(0, len(graphs), batch_size)]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)
