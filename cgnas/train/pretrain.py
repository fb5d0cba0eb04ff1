"""Contrastive pre-training of the encoder on unlabeled CGs (DESIGN.md section 3).

One epoch: shuffle the graphs (seeded by ``seed`` and the epoch), cut them into batches,
and for each batch minimise ``L_CL`` (:func:`cgnas.train.contrastive.contrastive_loss`)
between the projections of the graphs and their spectral distances. After every epoch the
caller's ``on_epoch`` callback runs (the ``Predictor`` writes its checkpoint there), which
is what makes an interrupted run resumable.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from tqdm import tqdm

from cgnas.data.graphset import GraphSet
from cgnas.graph.spectrum import pairwise_spectral_distance
from cgnas.train.contrastive import ContrastiveConfig, contrastive_loss
from cgnas.train.network import TrainableNet


@dataclass(frozen=True)
class PretrainConfig:
    epochs: int = 5
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-5
    spectrum_kind: str = "normalized"
    spectrum_length: int = 64
    contrastive: ContrastiveConfig = field(default_factory=ContrastiveConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pretrain(net: TrainableNet, graphs: GraphSet, spectra: np.ndarray, config: PretrainConfig,
             seed: int = 0, start_epoch: int = 0, optimizer_state: dict | None = None,
             on_epoch: Callable[[int, float, dict], None] | None = None,
             progress: bool = True) -> list[float]:
    """Train ``net.encoder`` and ``net.projector`` with the contrastive loss.

    Args:
        graphs: unlabeled CGs. spectra: ``[len(graphs), L]`` resampled Laplacian spectra.
        start_epoch, optimizer_state: where a resumed run continues.
        on_epoch: called as ``on_epoch(epoch, mean_loss, optimizer_state)`` after each epoch.

    Returns: the mean loss of each epoch run.
    """
    if len(graphs) < 2:
        raise ValueError("contrastive pre-training needs at least 2 graphs")
    params = list(net.encoder.parameters()) + list(net.projector.parameters())
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    if optimizer_state:
        optimizer.load_state_dict(optimizer_state)
    spectra_t = torch.as_tensor(spectra, dtype=torch.float32)
    losses = []
    net.train()
    for epoch in range(start_epoch, config.epochs):
        torch.manual_seed(seed * 100_003 + epoch)
        order = np.random.default_rng([seed, epoch]).permutation(len(graphs))
        batches = [order[i:i + config.batch_size] for i in range(0, len(order), config.batch_size)]
        if len(batches) > 1 and len(batches[-1]) < 2:
            batches[-2] = np.concatenate(batches[-2:])
            batches.pop()
        total = 0.0
        bar = tqdm(batches, desc=f"pretrain epoch {epoch + 1}/{config.epochs}", disable=not progress, leave=False)
        for idx in bar:
            s = spectra_t[idx]
            sigma = torch.from_numpy(pairwise_spectral_distance(s.numpy())).float()
            loss = contrastive_loss(net.project(graphs.batch(idx)), sigma, config.contrastive)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
            bar.set_postfix(loss=f"{loss.item():.4f}")
        losses.append(total / len(graphs))
        if on_epoch is not None:
            on_epoch(epoch, losses[-1], optimizer.state_dict())
    net.eval()
    return losses
