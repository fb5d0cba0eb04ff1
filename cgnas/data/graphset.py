"""``GraphSet``: many CGs packed into flat arrays, and ``GraphBatch``: what the encoder eats.

A GraphSet stores, for all its graphs concatenated, the raw node attributes
(:data:`cgnas.graph.features.RAW_COLUMNS`) and the edges with graph-local indices, plus
offsets ``node_ptr``/``edge_ptr`` (``[G + 1]``). It is what the CG cache loads and what the
predictor trains on; :meth:`GraphSet.from_cgs` packs any list of :class:`CompGraph`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch

from cgnas.errors import CgnasError
from cgnas.graph.compgraph import CompGraph
from cgnas.graph.descriptor import descriptors_from_raw
from cgnas.graph.features import edge_index, features_from_raw, raw_node_columns


@dataclass
class GraphBatch:
    """A mini-batch of graphs as one disconnected graph.

    Attributes:
        op: ``[N]`` long, op-type index of each node.
        x: ``[N, NUM_FEATURES]`` float, node features.
        edge_index: ``[2, E]`` long, (source, consumer) with batch-global node indices.
        batch: ``[N]`` long, the graph each node belongs to (0..num_graphs-1).
        num_graphs: B.
        size: ``[B, 2]`` float, ``log2(1 + [params, MACs]) / 32`` of each whole network.
        level: ``[N]`` long, each node's topological level in its graph (see
            :meth:`GraphSet.levels`); empty when the batch was made without levels.
    """

    op: torch.Tensor
    x: torch.Tensor
    edge_index: torch.Tensor
    batch: torch.Tensor
    num_graphs: int
    size: torch.Tensor
    level: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))


@dataclass
class GraphSet:
    """Packed CGs of many architectures.

    ``raw[node_ptr[g]:node_ptr[g+1]]`` are graph ``g``'s node attributes and
    ``edges[:, edge_ptr[g]:edge_ptr[g+1]]`` its edges (local indices).
    """

    space: str
    keys: np.ndarray
    raw: np.ndarray
    edges: np.ndarray
    node_ptr: np.ndarray
    edge_ptr: np.ndarray
    params: np.ndarray
    """``[G]`` trainable parameters of each network (``CompGraph.num_params``)."""
    macs: np.ndarray
    """``[G]`` multiply-accumulates of each network (``CompGraph.macs``)."""
    _features: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _levels: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def from_cgs(cls, cgs: Iterable[CompGraph], space: str = "custom",
                 keys: Sequence[str] | None = None) -> "GraphSet":
        """Pack CGs (e.g. from ``from_torch``); ``keys`` default to the CG names.

        ``cgs`` may be a generator: each graph is reduced to arrays and released before the
        next one is made, which keeps memory (and Python's garbage collector) out of the way
        when packing thousands of graphs.
        """
        raws, edges, params, macs, names = [], [], [], [], []
        for cg in cgs:
            raws.append(raw_node_columns(cg))
            edges.append(edge_index(cg))
            params.append(cg.num_params())
            macs.append(cg.macs())
            names.append(cg.name)
        n_nodes = np.array([len(r) for r in raws], dtype=np.int64)
        n_edges = np.array([e.shape[1] for e in edges], dtype=np.int64)
        return cls(space, np.asarray(keys if keys is not None else names),
                   np.concatenate(raws).astype(np.int32) if raws else np.zeros((0, 12), np.int32),
                   np.concatenate(edges, axis=1).astype(np.int32) if edges else np.zeros((2, 0), np.int32),
                   np.concatenate([[0], np.cumsum(n_nodes)]), np.concatenate([[0], np.cumsum(n_edges)]),
                   np.array(params, dtype=np.int64), np.array(macs, dtype=np.int64))

    @classmethod
    def concat(cls, parts: Sequence["GraphSet"]) -> "GraphSet":
        """One GraphSet holding the graphs of ``parts`` in order."""
        n_nodes = np.concatenate([p.num_nodes for p in parts])
        n_edges = np.concatenate([p.num_edges for p in parts])
        return cls(parts[0].space, np.concatenate([p.keys for p in parts]),
                   np.concatenate([p.raw for p in parts]), np.concatenate([p.edges for p in parts], axis=1),
                   np.concatenate([[0], np.cumsum(n_nodes)]), np.concatenate([[0], np.cumsum(n_edges)]),
                   np.concatenate([p.params for p in parts]), np.concatenate([p.macs for p in parts]))

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def num_nodes(self) -> np.ndarray:
        return np.diff(self.node_ptr)

    @property
    def num_edges(self) -> np.ndarray:
        return np.diff(self.edge_ptr)

    def features(self) -> tuple[np.ndarray, np.ndarray]:
        """``(op [sum N] int64, x [sum N, NUM_FEATURES] float32)`` of all nodes (computed once)."""
        if self._features is None:
            self._features = features_from_raw(self.raw)
        return self._features

    def levels(self) -> np.ndarray:
        """``[sum N]`` int64 topological level of every node (computed once): 0 for a node
        without inputs, else ``1 + max`` over the nodes it consumes, i.e. the length of the
        longest path from a source of its graph. Every edge goes to a strictly higher level.

        Raises:
            CgnasError: an edge that does not go from a lower to a higher node index (the
                nodes of a CG are in topological order).
        """
        if self._levels is None:
            self._levels = _topological_levels(self.node_ptr, self.edges, self.edge_ptr)
        return self._levels

    def graph_arrays(self, g: int) -> tuple[np.ndarray, np.ndarray]:
        """``(raw [N, C], edges [2, E])`` of graph ``g``."""
        return (self.raw[self.node_ptr[g]:self.node_ptr[g + 1]],
                self.edges[:, self.edge_ptr[g]:self.edge_ptr[g + 1]])

    def subset(self, indices: Sequence[int] | np.ndarray) -> "GraphSet":
        """The graphs at ``indices``, in that order."""
        idx = np.asarray(indices, dtype=np.int64)
        nodes = _ranges(self.node_ptr[idx], self.num_nodes[idx])
        edges = _ranges(self.edge_ptr[idx], self.num_edges[idx])
        return GraphSet(self.space, self.keys[idx], self.raw[nodes], self.edges[:, edges],
                        np.concatenate([[0], np.cumsum(self.num_nodes[idx])]),
                        np.concatenate([[0], np.cumsum(self.num_edges[idx])]),
                        self.params[idx], self.macs[idx])

    def batch(self, indices: Sequence[int] | np.ndarray) -> GraphBatch:
        """Collate the graphs at ``indices`` into one :class:`GraphBatch` (vectorized)."""
        idx = np.asarray(indices, dtype=np.int64)
        n_nodes, n_edges = self.num_nodes[idx], self.num_edges[idx]
        nodes = _ranges(self.node_ptr[idx], n_nodes)
        edges = _ranges(self.edge_ptr[idx], n_edges)
        new_start = np.concatenate([[0], np.cumsum(n_nodes)[:-1]])
        ops, x = self.features()
        local = self.edges[:, edges].astype(np.int64) + np.repeat(new_start, n_edges)[None, :]
        size = np.log2(1.0 + np.stack([self.params[idx], self.macs[idx]], axis=1)) / 32
        return GraphBatch(torch.from_numpy(ops[nodes]), torch.from_numpy(x[nodes]),
                          torch.from_numpy(local), torch.from_numpy(np.repeat(np.arange(len(idx)), n_nodes)),
                          len(idx), torch.from_numpy(size.astype(np.float32)),
                          torch.from_numpy(self.levels()[nodes]))

    def descriptors(self) -> np.ndarray:
        """``[G, DESCRIPTOR_LENGTH]`` fixed-length summaries (see :mod:`cgnas.graph.descriptor`)."""
        return descriptors_from_raw(self.raw, self.node_ptr, self.params, self.macs)

    def spectra(self, kind: str = "normalized", length: int = 64) -> np.ndarray:
        """``[G, length]`` resampled Laplacian spectra (see :mod:`cgnas.graph.spectrum`)."""
        from cgnas.graph.spectrum import graph_signature

        out = np.empty((len(self), length), dtype=np.float32)
        for g in range(len(self)):
            _, edges = self.graph_arrays(g)
            out[g] = graph_signature(edges, self.num_nodes[g], kind, length)
        return out

    def pyg(self, g: int):
        """Graph ``g`` as a ``torch_geometric.data.Data`` (same fields as ``CompGraph.to_pyg``)."""
        from torch_geometric.data import Data

        raw, edges = self.graph_arrays(g)
        ops, feats = features_from_raw(raw)
        return Data(op=torch.from_numpy(ops), x=torch.from_numpy(feats),
                    edge_index=torch.from_numpy(edges.astype(np.int64)), num_nodes=len(raw))

    def __iter__(self) -> Iterator:
        return (self.pyg(g) for g in range(len(self)))


def _topological_levels(node_ptr: np.ndarray, edges: np.ndarray, edge_ptr: np.ndarray) -> np.ndarray:
    """Longest-path level of every node of packed graphs (see :meth:`GraphSet.levels`).

    All graphs at once, one step per node position: the edges are grouped by their consumer's
    graph-local index ``i`` (a radix sort of small integers), and since a consumer's sources
    have smaller indices, their levels are final when position ``i`` is reached. ``max(N)``
    vectorized steps instead of one Python step per node.
    """
    src, dst = edges[0].astype(np.int64), edges[1].astype(np.int64)
    level = np.zeros(int(node_ptr[-1]), dtype=np.int64)
    if src.size == 0:
        return level
    bad = np.flatnonzero(src >= dst)
    if bad.size:
        g = int(np.searchsorted(edge_ptr, bad[0], side="right")) - 1
        raise CgnasError(f"graph {g}: edge {src[bad[0]]} -> {dst[bad[0]]} breaks topological order "
                         f"(a CG's nodes must come after the nodes they consume)")
    offset = np.repeat(node_ptr[:-1], np.diff(edge_ptr))
    # local indices are small: a stable sort of int16 keys is a radix sort
    keys = dst.astype(np.int16) if dst.max() < 2 ** 15 else dst
    order = np.argsort(keys, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(dst))])
    src_global, dst_global = (src + offset)[order], (dst + offset)[order]
    for i in range(1, len(bounds) - 1):
        a, b = bounds[i], bounds[i + 1]
        if a < b:
            np.maximum.at(level, dst_global[a:b], level[src_global[a:b]] + 1)
    return level


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + c)`` for each pair, without a Python loop."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + offsets
