"""Graph encoder: CG node features -> graph embedding.

Node input: ``h_v^0 = E[op_v] + W_x x_v`` (op-type embedding plus a projection of the 12
shape/attribute features of :mod:`cgnas.graph.features`).

Layers (``num_layers`` of :class:`DirectedSAGELayer`) pass messages both along and against
the data flow, because a node's role depends on what feeds it and on what consumes it:

    h_v' = h_v + ReLU(LayerNorm(W_self h_v + W_in mean_{u->v} h_u + W_out mean_{v->w} h_w))

Readout: the concatenation of mean pooling and attention pooling
``Σ_v softmax_v(a^T h_v) h_v`` over each graph's nodes, projected to ``embed_dim``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch_geometric.nn import AttentionalAggregation, MessagePassing, global_mean_pool

from cgnas.graph.features import NUM_FEATURES
from cgnas.graph.ops import OPS


@dataclass(frozen=True)
class EncoderConfig:
    hidden: int = 64
    num_layers: int = 4
    embed_dim: int = 64

    def to_dict(self) -> dict:
        return asdict(self)


class DirectedSAGELayer(MessagePassing):
    """One bidirectional mean-aggregation layer with a residual connection (see module doc).

    Shapes: ``h [N, hidden]``, ``edge_index [2, E]`` -> ``[N, hidden]``.
    """

    def __init__(self, hidden: int) -> None:
        super().__init__(aggr="mean")
        self.self_lin = nn.Linear(hidden, hidden)
        self.in_lin = nn.Linear(hidden, hidden, bias=False)
        self.out_lin = nn.Linear(hidden, hidden, bias=False)
        self.norm = nn.LayerNorm(hidden)

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        from_producers = self.propagate(edge_index, x=h)
        from_consumers = self.propagate(edge_index.flip(0), x=h)
        update = self.self_lin(h) + self.in_lin(from_producers) + self.out_lin(from_consumers)
        return h + torch.relu(self.norm(update))


class GraphEncoder(nn.Module):
    """CG batch -> graph embeddings ``[B, embed_dim]``.

    Input: a PyG ``Batch`` with ``op [N]`` (long), ``x [N, 12]``, ``edge_index [2, E]``, ``batch [N]``.
    """

    def __init__(self, config: EncoderConfig = EncoderConfig()) -> None:
        super().__init__()
        self.config = config
        h = config.hidden
        self.op_embedding = nn.Embedding(len(OPS), h)
        self.feature_proj = nn.Linear(NUM_FEATURES, h)
        self.layers = nn.ModuleList(DirectedSAGELayer(h) for _ in range(config.num_layers))
        self.attention_pool = AttentionalAggregation(gate_nn=nn.Linear(h, 1))
        self.readout = nn.Sequential(nn.Linear(2 * h, config.embed_dim), nn.ReLU(),
                                     nn.Linear(config.embed_dim, config.embed_dim))

    def forward(self, batch) -> torch.Tensor:
        h = self.op_embedding(batch.op) + self.feature_proj(batch.x)
        for layer in self.layers:
            h = layer(h, batch.edge_index)
        pooled = torch.cat([global_mean_pool(h, batch.batch),
                            self.attention_pool(h, batch.batch)], dim=1)
        return self.readout(pooled)
