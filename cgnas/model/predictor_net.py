"""``PredictorNet``: encoder + contrastive projector + regression head.

    embedding  e = Encoder(G)                            [B, embed_dim]  (ENCODERS[config.encoder.kind])
    projection z = W_2 ReLU(W_1 e)                       [B, projection_dim]  (pre-training only)
    score      y = MLP(e) = w^T ReLU(W_h e + b_h) + b    [B]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from cgnas.data.graphset import GraphBatch
from cgnas.model.dagflow import DAGFlowEncoder
from cgnas.model.encoder import EncoderConfig, GraphEncoder

ENCODERS: dict[str, type[nn.Module]] = {"mean": GraphEncoder, "dagflow": DAGFlowEncoder}
"""Encoder class of each ``EncoderConfig.kind``."""


@dataclass(frozen=True)
class PredictorConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    head_hidden: int = 128
    projection_dim: int = 64

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PredictorConfig":
        # checkpoints from before size features existed were trained without them
        encoder = {"size_features": False, **data["encoder"]}
        return cls(encoder=EncoderConfig(**encoder), head_hidden=data["head_hidden"],
                   projection_dim=data["projection_dim"])


class PredictorNet(nn.Module):
    def __init__(self, config: PredictorConfig = PredictorConfig()) -> None:
        super().__init__()
        self.config = config
        e = config.encoder.embed_dim
        self.encoder = ENCODERS[config.encoder.kind](config.encoder)
        self.projector = nn.Sequential(nn.Linear(e, e), nn.ReLU(), nn.Linear(e, config.projection_dim))
        self.head = nn.Sequential(nn.Linear(e, config.head_hidden), nn.ReLU(), nn.Linear(config.head_hidden, 1))

    def embed(self, batch: GraphBatch) -> torch.Tensor:
        return self.encoder(batch)

    def project(self, batch: GraphBatch) -> torch.Tensor:
        return self.projector(self.encoder(batch))

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        return self.head(self.encoder(batch)).squeeze(-1)
