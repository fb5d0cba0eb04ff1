"""What the training loops need of a network, as a structural type.

The loops of :mod:`cgnas.train` train :class:`cgnas.model.predictor_net.PredictorNet`, and
:class:`cgnas.model.predictor.Predictor` calls them. Typing them against this protocol rather
than the class keeps the dependency one way (model -> train), so the two packages form no
import cycle.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

from cgnas.data.graphset import GraphBatch


class TrainableNet(Protocol):
    """An ``nn.Module`` with an ``encoder`` (graph -> embedding), a contrastive ``projector``
    and a regression ``head``; ``project(batch)`` gives ``[B, projection_dim]`` and calling it
    gives the ``[B]`` scores."""

    encoder: nn.Module
    projector: nn.Module
    head: nn.Module

    def project(self, batch: GraphBatch) -> torch.Tensor: ...

    def __call__(self, batch: GraphBatch) -> torch.Tensor: ...

    def train(self, mode: bool = True) -> nn.Module: ...

    def eval(self) -> nn.Module: ...
