"""GNN input features of a CG node (DESIGN.md section 1).

For node ``v`` with input shape ``(H_in, W_in, C_in)`` and output shape
``(H_out, W_out, C_out)`` the feature vector is (``NUM_FEATURES`` = 12)::

    [ s(H_in), s(H_out), s(W_in), s(W_out), s(C_in), s(C_out),      s(n) = log2(1 + n) / 10
      k_h / 7, stride / 2, dilation / 2, log2(groups) / 10, bias, weighted ]

so that sizes up to 1024 map into [0, 1]. The op type is given separately as an index into
:data:`cgnas.graph.ops.OPS` for an embedding layer.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from cgnas.graph.compgraph import CompGraph, Shape
from cgnas.graph.ops import OPS, WEIGHTED_OPS, op_index

NUM_FEATURES = 12


def hwc(shape: Shape) -> tuple[int, int, int]:
    """Read ``(H, W, C)`` off a shape without batch dim: ``(C,H,W)``, ``(L,D)`` or ``(D,)``."""
    n = len(shape)
    if n == 3:
        return shape[1], shape[2], shape[0]
    if n == 2:
        return shape[0], 1, shape[1]
    if n == 1:
        return 1, 1, shape[0]
    if n == 0:
        return 1, 1, 1
    return shape[1], math.prod(shape[2:]), shape[0]


RAW_COLUMNS = ("op", "h_in", "h_out", "w_in", "w_out", "c_in", "c_out",
               "kernel", "stride", "dilation", "groups", "bias")
"""Integer attributes of a node from which :func:`features_from_raw` computes the features;
caches store these so that the feature definition can change without a rebuild."""


def raw_node_columns(cg: CompGraph) -> np.ndarray:
    """``[N, len(RAW_COLUMNS)]`` int64 array of the node attributes features are made from."""
    shapes = cg.shapes
    hwcs = [hwc(s) for s in shapes]
    rows = []
    for op, ins, (h_out, w_out, c_out), a in zip(cg.ops, cg.inputs, hwcs, cg.attrs):
        h_in, w_in, c_in = hwcs[ins[0]] if ins else (h_out, w_out, c_out)
        if a:
            rows.append((op_index(op), h_in, h_out, w_in, w_out, c_in, c_out,
                         a.get("kernel", (0,))[0], a.get("stride", (0,))[0],
                         a.get("dilation", (0,))[0], a.get("groups", 1), int(a.get("bias", False))))
        else:
            rows.append((op_index(op), h_in, h_out, w_in, w_out, c_in, c_out, 0, 0, 0, 1, 0))
    return np.asarray(rows, dtype=np.int64).reshape(len(rows), len(RAW_COLUMNS))


_WEIGHTED_MASK = np.zeros(len(OPS), dtype=np.float32)
_WEIGHTED_MASK[[op_index(op) for op in WEIGHTED_OPS]] = 1.0


def features_from_raw(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(op_index [N] int64, features [N, NUM_FEATURES] float32)`` from raw node columns."""
    raw = np.asarray(raw)
    ops = raw[:, 0].astype(np.int64)
    feats = np.empty((len(raw), NUM_FEATURES), dtype=np.float32)
    feats[:, :6] = np.log2(1.0 + raw[:, 1:7]) / 10
    feats[:, 6] = raw[:, 7] / 7
    feats[:, 7] = raw[:, 8] / 2
    feats[:, 8] = raw[:, 9] / 2
    feats[:, 9] = np.log2(np.maximum(raw[:, 10], 1)) / 10
    feats[:, 10] = raw[:, 11]
    feats[:, 11] = _WEIGHTED_MASK[ops]
    return ops, feats


def node_features(cg: CompGraph) -> tuple[np.ndarray, np.ndarray]:
    """``(op_index [N] int64, features [N, NUM_FEATURES] float32)``."""
    return features_from_raw(raw_node_columns(cg))


def edge_index(cg: CompGraph) -> np.ndarray:
    """``[2, E]`` int64 array of (source, consumer) pairs in node order."""
    edges = cg.edges()
    if not edges:
        return np.zeros((2, 0), dtype=np.int64)
    return np.asarray(edges, dtype=np.int64).T.copy()


def to_pyg(cg: CompGraph):
    """A ``torch_geometric.data.Data`` with ``op [N]``, ``x [N, 12]`` and ``edge_index [2, E]``."""
    from torch_geometric.data import Data

    ops, feats = node_features(cg)
    return Data(op=torch.from_numpy(ops), x=torch.from_numpy(feats),
                edge_index=torch.from_numpy(edge_index(cg)), num_nodes=len(cg))
