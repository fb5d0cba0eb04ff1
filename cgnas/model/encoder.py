"""Graph encoder: CG node features -> graph embedding.

Node input: ``h_v^0 = E[op_v] + W_x x_v`` (op-type embedding plus a projection of the 12
shape/attribute features of :mod:`cgnas.graph.features`).

Layers (``num_layers`` of :class:`DirectedMeanLayer`) pass messages both along and against
the data flow, because a node's role depends on what feeds it and on what consumes it:

    h_v' = h_v + ReLU(LayerNorm(W_self h_v + W_in mean_{u->v} h_u + W_out mean_{v->w} h_w))

The two means are products with row-normalized sparse adjacency matrices (CSR), which on a
CPU is several times faster than scatter-based message passing on these long, thin graphs.

Readout: the concatenation of mean pooling, attention pooling
``Σ_v softmax_v(a^T h_v) h_v`` over each graph's nodes and (``size_features``) the network's
``log2(1 + [params, MACs]) / 32``, then a 2-layer MLP to ``embed_dim``. Both poolings are
averages, blind to how big the network is; the size features give that back (parameter
count alone ranks NB201 with Spearman 0.75).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch_geometric.nn import AttentionalAggregation, global_mean_pool

from cgnas.data.graphset import GraphBatch
from cgnas.errors import CgnasError
from cgnas.graph.features import NUM_FEATURES
from cgnas.graph.ops import OPS

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


ENCODER_KINDS = ("mean", "dagflow")
"""``EncoderConfig.kind``: ``"mean"`` is :class:`GraphEncoder`, ``"dagflow"`` is
:class:`cgnas.model.dagflow.DAGFlowEncoder` (the classes are looked up in
:data:`cgnas.model.predictor_net.ENCODERS`)."""


@dataclass(frozen=True)
class EncoderConfig:
    hidden: int = 64
    num_layers: int = 4
    embed_dim: int = 64
    size_features: bool = True
    kind: str = "mean"

    def __post_init__(self) -> None:
        if self.kind not in ENCODER_KINDS:
            raise CgnasError(f"EncoderConfig.kind must be one of {', '.join(map(repr, ENCODER_KINDS))}; "
                             f"got {self.kind!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def mean_adjacency(src: torch.Tensor, dst: torch.Tensor, n: int) -> torch.Tensor:
    """``[n, n]`` sparse CSR ``A`` with ``A[v, u] = 1/indeg(v)`` for each edge ``u -> v``."""
    deg = torch.bincount(dst, minlength=n).clamp(min=1).to(torch.float32)
    adj = torch.sparse_coo_tensor(torch.stack([dst, src]), 1.0 / deg[dst], (n, n),
                                  check_invariants=False).coalesce()
    return adj.to_sparse_csr()


class DirectedMeanLayer(nn.Module):
    """One bidirectional mean-aggregation layer with a residual connection (see module doc).

    Shapes: ``h [N, hidden]``, ``a_in, a_out [N, N]`` sparse -> ``[N, hidden]``.
    """

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.self_lin = nn.Linear(hidden, hidden)
        self.in_lin = nn.Linear(hidden, hidden, bias=False)
        self.out_lin = nn.Linear(hidden, hidden, bias=False)
        self.norm = nn.LayerNorm(hidden)

    def forward(self, h: torch.Tensor, a_in: torch.Tensor, a_out: torch.Tensor) -> torch.Tensor:
        update = self.self_lin(h) + self.in_lin(a_in @ h) + self.out_lin(a_out @ h)
        return h + torch.relu(self.norm(update))


class GraphEncoder(nn.Module):
    """:class:`GraphBatch` -> graph embeddings ``[B, embed_dim]``."""

    def __init__(self, config: EncoderConfig = EncoderConfig()) -> None:
        super().__init__()
        self.config = config
        h = config.hidden
        self.op_embedding = nn.Embedding(len(OPS), h)
        self.feature_proj = nn.Linear(NUM_FEATURES, h)
        self.layers = nn.ModuleList(DirectedMeanLayer(h) for _ in range(config.num_layers))
        self.attention_pool = AttentionalAggregation(gate_nn=nn.Linear(h, 1))
        pooled = 2 * h + (2 if config.size_features else 0)
        self.readout = nn.Sequential(nn.Linear(pooled, config.embed_dim), nn.ReLU(),
                                     nn.Linear(config.embed_dim, config.embed_dim))

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        n = batch.op.shape[0]
        src, dst = batch.edge_index
        a_in, a_out = mean_adjacency(src, dst, n), mean_adjacency(dst, src, n)
        h = self.op_embedding(batch.op) + self.feature_proj(batch.x)
        for layer in self.layers:
            h = layer(h, a_in, a_out)
        parts = [global_mean_pool(h, batch.batch, batch.num_graphs),
                 self.attention_pool(h, batch.batch, dim_size=batch.num_graphs)]
        if self.config.size_features:
            parts.append(batch.size)
        return self.readout(torch.cat(parts, dim=1))
