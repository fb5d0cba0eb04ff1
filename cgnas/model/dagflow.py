r"""DAG-flow graph encoder: states propagate along the data flow through the whole CG.

A whole-network CG is 200-350 nodes and ~50-190 topological levels deep, so the few local
layers of :class:`~cgnas.model.encoder.GraphEncoder` never see a cell's paths. Like GATES,
DAGNN and dense graph flow, :class:`DAGFlowEncoder` visits the nodes in topological order,
so that a node's state summarizes everything upstream of it, then in reverse order with its
own parameters, so that it also summarizes everything downstream:

Input (as :class:`GraphEncoder`): :math:`x_v = E[\mathrm{op}_v] + W_x\,\mathrm{feat}_v`.

Forward pass, in increasing topological level (sources, level 0, get :math:`m_v = 0`):

.. math::
    f(h) = \sigma(W_g h + b_g) \odot h \qquad
    m_v = \frac{1}{|\{u \to v\}|} \sum_{u \to v} f(h_u) \qquad
    h_v = \mathrm{GRU}(\text{input}=x_v,\ \text{hidden}=m_v)

Backward pass, in decreasing level over successors, with parameters of its own (sinks get
:math:`m'_v = 0`; the GRU's input weights are the projection of :math:`[x_v \| h_v]`):

.. math::
    m'_v = \frac{1}{|\{v \to w\}|} \sum_{v \to w} f'(g_w) \qquad
    g_v = \mathrm{GRU}'(\text{input}=[x_v \| h_v],\ \text{hidden}=m'_v) \qquad
    s_v = h_v + g_v

The aggregated message is the GRU's *hidden* state and the node's own features its *input*
(DAGNN's convention): the state is carried along each path like an RNN's along a sequence,
and the update ``h' = (1 - z) n + z m`` gives it (and its gradient) a gated route through
100+ levels. :math:`f` is GATES' softmax-free gate (each input decides per channel how much
of itself to pass on) without GATES' value transform ``W_m h``, and inputs are averaged, not
summed: then every state stays in ``[-1, 1]`` whatever the weights (by induction: ``n`` is a
``tanh`` and ``m`` a gated mean of states), which a recurrence 200 steps deep needs; the GRU's
``W_hh`` transforms ``m`` anyway. :math:`s_v = h_v + g_v` rather than a projected
concatenation: :math:`g_v` already sees :math:`h_v` through its input, so the sum is a
residual connection.

Initialization: gate bias ``b_g = 2`` (gates ~0.88 open) and GRU update-gate bias ``+2``
(``z`` ~ 0.88: carry the message, as the forget-gate bias of an LSTM). Depth is what this
encoder is for and what defeats it at PyTorch's default init: there the gradient of an
NB201 CG's output state wrt its first nodes' features is ~1e-31 (1e-41 with GATES' ``W_m``
and a sum: zero in float32), with this init ~1e-8. A stronger carry (biases 3) or a
``1/sqrt(#inputs)`` sum reach further at init (1e-2-1e-4) but trained worse; sums with
carry diverged (states multiply at every merge, and paths with every cell). NB201, SRCC on
2,000 held-out CGs (one seed, two splits each):

==================================  ============  ==========================  ===========
trained on (mse+pairwise, ranks)    mean encoder  GATES sum, default init     this
==================================  ============  ==========================  ===========
100 CGs, 60 epochs, batch 16        0.768 0.780   0.768 0.773                 0.823 0.840
1,000 CGs, 10 epochs, batch 64      0.878 0.874   0.879 0.871                 0.875 0.867
==================================  ============  ==========================  ===========

Readout: the concatenation of mean pooling and attention pooling of :math:`s_v` (as
:class:`GraphEncoder`), the mean state of the graph's sinks (nodes without successors: the
output, which after the forward pass summarizes the whole network), and (``size_features``)
``batch.size``; then a 2-layer MLP to ``embed_dim``.

``EncoderConfig.num_layers`` is not used: one forward and one backward pass already let
every node's state depend on all of its ancestors and descendants.

Batching: all nodes of one level, across all graphs of the batch, are updated together, so
a batch takes ``2 * (max level + 1)`` sequential steps whatever its size. The states of each
level are kept as separate tensors (a list indexed by level) rather than written into one
``[N, hidden]`` buffer: autograd would then turn every read and write of the buffer into a
full ``[N, hidden]`` gradient in the backward pass (``O(levels * N)``), while reading from a
few small per-level tensors costs only what is read. The index tensors of every step are
computed once per batch by :func:`level_schedule` in a few vectorized operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import AttentionalAggregation, global_mean_pool

from cgnas.data.graphset import GraphBatch
from cgnas.errors import CgnasError
from cgnas.graph.features import NUM_FEATURES
from cgnas.graph.ops import OPS
from cgnas.model.encoder import EncoderConfig


@dataclass
class LevelStep:
    """How the nodes of one level gather the messages of their neighbours in one direction.

    The senders' messages are the concatenation of the message tensors of ``levels`` (in
    that order); edge ``e`` adds row ``sender[e]`` of it into row ``receiver[e]`` of this
    level's message tensor. ``levels`` is empty when no node of this level has a neighbour
    there.
    """

    levels: list[int]
    sender: torch.Tensor
    receiver: torch.Tensor
    scale: torch.Tensor
    """``[n_l, 1]`` float, ``1 / max(1, #senders)`` of each node of the level."""


@dataclass
class LevelSchedule:
    """The per-batch plan of :class:`DAGFlowEncoder`.

    Attributes:
        perm: ``[N]`` long, the batch's nodes sorted by level (stable): level ``l``'s nodes are
            ``perm[start_l : start_l + counts[l]]``. The encoder works in this order.
        counts: number of nodes of each level, ``len(counts) = max level + 1``.
        forward: per level, gathering from predecessors (sender levels < receiver level).
        backward: per level, gathering from successors (sender levels > receiver level).
    """

    perm: torch.Tensor
    counts: list[int]
    forward: list[LevelStep]
    backward: list[LevelStep]


def level_schedule(level: torch.Tensor, edge_index: torch.Tensor) -> LevelSchedule:
    """Plan the level-by-level passes over a batch (``level [N]``, ``edge_index [2, E]``)."""
    n = level.shape[0]
    if n == 0:
        return LevelSchedule(level.new_zeros(0), [], [], [])
    num_levels = int(level.max()) + 1
    perm = torch.argsort(level, stable=True)
    counts_t = torch.bincount(level, minlength=num_levels)
    starts = torch.cumsum(counts_t, 0) - counts_t
    pos = torch.empty_like(level)  # a node's row within its level's tensor
    pos[perm] = torch.arange(n, device=level.device) - starts[level[perm]]
    src, dst = edge_index
    return LevelSchedule(perm, counts_t.tolist(),
                         _direction_steps(level, perm, pos, counts_t, receiver=dst, sender=src),
                         _direction_steps(level, perm, pos, counts_t, receiver=src, sender=dst))


def _direction_steps(level: torch.Tensor, perm: torch.Tensor, pos: torch.Tensor, counts: torch.Tensor,
                     receiver: torch.Tensor, sender: torch.Tensor) -> list[LevelStep]:
    """One :class:`LevelStep` per level for messages ``sender -> receiver`` (one per edge).

    Edges are sorted by (receiver level, sender level); each distinct pair of levels is one
    block of the concatenation the receiver level gathers from, at an offset equal to the
    sizes of the sender levels before it in the same receiver level.
    """
    num_levels = len(counts)
    r_level, s_level = level[receiver], level[sender]
    order = torch.argsort(r_level * num_levels + s_level, stable=True)
    r_level, s_level = r_level[order], s_level[order]
    pairs, inverse = torch.unique_consecutive(r_level * num_levels + s_level, return_inverse=True)
    pair_r, pair_s = pairs // num_levels, pairs % num_levels
    size = counts[pair_s]
    before = torch.cumsum(size, 0) - size  # exclusive cumsum over all pairs ...
    first = torch.searchsorted(pair_r, pair_r)  # ... minus its value at the receiver level's first pair
    offset = before - before[first]
    edges_per_level = torch.bincount(r_level, minlength=num_levels).tolist()
    sender_row = (offset[inverse] + pos[sender[order]]).split(edges_per_level)
    receiver_row = pos[receiver[order]].split(edges_per_level)
    degree = torch.bincount(receiver, minlength=level.shape[0])[perm]  # in level order, like the states
    scale = (1.0 / degree.clamp(min=1).to(torch.float32)).unsqueeze(1).split(counts.tolist())
    pair_levels = pair_s.tolist()
    pair_bounds = torch.cumsum(torch.bincount(pair_r, minlength=num_levels), 0).tolist()
    steps, a = [], 0
    for lvl in range(num_levels):
        b = pair_bounds[lvl]
        steps.append(LevelStep(pair_levels[a:b], sender_row[lvl], receiver_row[lvl], scale[lvl]))
        a = b
    return steps


GATE_BIAS = 2.0
"""Added to the message gates' bias at initialization (gates ~0.88 open; module doc)."""
UPDATE_GATE_BIAS = 2.0
"""Added to the GRUs' update-gate bias at initialization (``z`` ~ 0.88: carry the message)."""


class GatedMessage(nn.Module):
    """``f(h) = sigmoid(W_g h + b_g) * h``: ``[n, hidden] -> [n, hidden]``."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.gate = nn.Linear(hidden, hidden)
        with torch.no_grad():
            self.gate.bias += GATE_BIAS

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.gate(h)) * h


def carry_gru_cell(input_size: int, hidden: int) -> nn.GRUCell:
    """``nn.GRUCell`` whose update gate initially keeps most of the hidden state."""
    cell = nn.GRUCell(input_size, hidden)
    with torch.no_grad():
        cell.bias_hh[hidden:2 * hidden] += UPDATE_GATE_BIAS
    return cell


def gru_from_gates(gi_rz: torch.Tensor, gi_n: torch.Tensor, hx: torch.Tensor, cell: nn.GRUCell) -> torch.Tensor:
    """``cell(x, hx)`` (PyTorch's GRU) given the input side ``W_ih x + b_ih`` computed
    beforehand for all nodes in one matmul, as its reset/update part ``gi_rz [n, 2 hidden]``
    and its candidate part ``gi_n [n, hidden]``; ``hx [n, hidden]`` -> ``[n, hidden]``."""
    gh = F.linear(hx, cell.weight_hh, cell.bias_hh)
    k = hx.shape[1]
    r, z = torch.sigmoid(gi_rz + gh[:, :2 * k]).chunk(2, dim=1)
    n = torch.tanh(gi_n + r * gh[:, 2 * k:])
    return n + z * (hx - n)


def _sweep(x: torch.Tensor, counts: list[int], steps: list[LevelStep], order: range,
           cell: nn.GRUCell, message: GatedMessage) -> list[torch.Tensor]:
    """One pass: for each level ``l`` in ``order``, ``state_l = GRU(x_l, m_l)`` with ``m_l`` the
    mean of ``f(sender state)`` (module doc).

    ``x [N, input]`` is in level order; the result is a list of ``[n_l, hidden]`` indexed by level.
    """
    hidden = cell.hidden_size
    # the input side of the GRU for all nodes at once, cut into levels once (one split, whose
    # backward is one cat, instead of a slice per level whose backward is a full-size copy)
    gi_rz, gi_n = F.linear(x, cell.weight_ih, cell.bias_ih).split([2 * hidden, hidden], dim=1)
    gi_rz, gi_n = gi_rz.split(counts), gi_n.split(counts)
    states: list[torch.Tensor | None] = [None] * len(counts)
    messages: list[torch.Tensor | None] = [None] * len(counts)
    for lvl in order:
        step = steps[lvl]
        m = x.new_zeros(counts[lvl], hidden)
        if step.levels:
            pool = (messages[step.levels[0]] if len(step.levels) == 1
                    else torch.cat([messages[k] for k in step.levels]))
            # in place on a fresh tensor that needs no gradient: saves a copy, autograd-safe
            m.index_add_(0, step.receiver, pool.index_select(0, step.sender))
            m = m * step.scale
        states[lvl] = gru_from_gates(gi_rz[lvl], gi_n[lvl], m, cell)
        messages[lvl] = message(states[lvl])
    return states


class DAGFlowEncoder(nn.Module):
    """:class:`GraphBatch` -> graph embeddings ``[B, embed_dim]`` (see the module doc).

    Needs ``batch.level`` (filled by :meth:`GraphSet.batch`).
    """

    def __init__(self, config: EncoderConfig = EncoderConfig(kind="dagflow")) -> None:
        super().__init__()
        self.config = config
        h = config.hidden
        self.op_embedding = nn.Embedding(len(OPS), h)
        self.feature_proj = nn.Linear(NUM_FEATURES, h)
        self.forward_cell = carry_gru_cell(h, h)
        self.forward_message = GatedMessage(h)
        self.backward_cell = carry_gru_cell(2 * h, h)
        self.backward_message = GatedMessage(h)
        self.attention_pool = AttentionalAggregation(gate_nn=nn.Linear(h, 1))
        pooled = 3 * h + (2 if config.size_features else 0)
        self.readout = nn.Sequential(nn.Linear(pooled, config.embed_dim), nn.ReLU(),
                                     nn.Linear(config.embed_dim, config.embed_dim))

    def node_states(self, batch: GraphBatch, schedule: LevelSchedule) -> torch.Tensor:
        """``[N, hidden]`` node states ``s_v`` in level order (``schedule.perm``)."""
        perm, counts = schedule.perm, schedule.counts
        # permute the inputs (no gradient) rather than the states: everything below is in level order
        x = self.op_embedding(batch.op[perm]) + self.feature_proj(batch.x[perm])
        levels = range(len(counts))
        h = torch.cat(_sweep(x, counts, schedule.forward, levels, self.forward_cell, self.forward_message))
        g = _sweep(torch.cat([x, h], dim=1), counts, schedule.backward, levels[::-1],
                   self.backward_cell, self.backward_message)
        return h + torch.cat(g)

    def schedule(self, batch: GraphBatch) -> LevelSchedule:
        """The batch's :class:`LevelSchedule`; raises :class:`CgnasError` without levels."""
        if batch.level.shape[0] != batch.op.shape[0]:
            raise CgnasError("DAGFlowEncoder needs the nodes' topological levels (GraphBatch.level); "
                             "make batches with GraphSet.batch")
        return level_schedule(batch.level, batch.edge_index)

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        schedule = self.schedule(batch)
        s = self.node_states(batch, schedule)
        graph = batch.batch[schedule.perm]
        out_degree = torch.bincount(batch.edge_index[0], minlength=batch.op.shape[0])
        sink = (out_degree == 0)[schedule.perm]
        parts = [global_mean_pool(s, graph, batch.num_graphs),
                 self.attention_pool(s, graph, dim_size=batch.num_graphs),
                 global_mean_pool(s[sink], graph[sink], batch.num_graphs)]
        if self.config.size_features:
            parts.append(batch.size)
        return self.readout(torch.cat(parts, dim=1))
