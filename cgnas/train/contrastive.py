"""Spectrally weighted contrastive loss (DESIGN.md section 3; Han et al. 2023, eq. 1-3).

For a batch of N graphs with L2-normalized projections ``z [N, d]`` and spectral distances
``σ [N, N]``:

* similarity logits ``χ(i, j) = log[ exp(sim(z_i, z_j)/τ) / Σ_{r≠i} exp(sim(z_i, z_r)/τ) ]``
  with ``sim`` the cosine similarity;
* positives ``P(i)``: the ``num_positives`` graphs of the batch spectrally closest to ``i``
  (``i`` itself excluded);
* weights ``α_s^(i) = softmax_{s∈P(i)}(−σ(i, s)/τ_s)`` (closer = heavier), or uniform
  ``1/|P(i)|`` with ``weighting="uniform"``;
* ``L_CL = −(1/N) Σ_i Σ_{s∈P(i)} α_s^(i) χ(i, s)`` (the design's sum over ``i`` divided by N,
  so that the loss scale does not depend on the batch size).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class ContrastiveConfig:
    """Named options of the contrastive loss."""

    temperature: float = 0.1
    """τ: temperature of the similarity softmax."""
    spectral_temperature: float = 0.05
    """τ_s: temperature of the positive weights; smaller favours the closest positive."""
    num_positives: int = 4
    """|P(i)|: spectrally closest graphs of the batch used as positives."""
    weighting: Literal["spectral", "uniform"] = "spectral"


def contrastive_loss(z: torch.Tensor, sigma: torch.Tensor,
                     config: ContrastiveConfig = ContrastiveConfig()) -> torch.Tensor:
    """``L_CL`` for projections ``z [N, d]`` and spectral distances ``sigma [N, N]``."""
    n = z.shape[0]
    if n < 2:
        raise ValueError("the contrastive loss needs a batch of at least 2 graphs")
    k = min(config.num_positives, n - 1)
    z = F.normalize(z, dim=1)
    logits = z @ z.T / config.temperature
    eye = torch.eye(n, dtype=torch.bool, device=z.device)
    chi = logits - torch.logsumexp(logits.masked_fill(eye, float("-inf")), dim=1, keepdim=True)
    dist = sigma.to(z.dtype).masked_fill(eye, float("inf"))
    pos_dist, pos_idx = torch.topk(dist, k, dim=1, largest=False)
    if config.weighting == "spectral":
        alpha = torch.softmax(-pos_dist / config.spectral_temperature, dim=1)
    elif config.weighting == "uniform":
        alpha = torch.full_like(pos_dist, 1.0 / k)
    else:
        raise ValueError(f"unknown weighting {config.weighting!r}; use 'spectral' or 'uniform'")
    return -(alpha * chi.gather(1, pos_idx)).sum(dim=1).mean()
