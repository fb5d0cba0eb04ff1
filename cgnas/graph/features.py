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
from cgnas.graph.ops import WEIGHTED_OPS, op_index

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


def _s(n: int) -> float:
    return math.log2(1 + n) / 10


def node_features(cg: CompGraph) -> tuple[np.ndarray, np.ndarray]:
    """``(op_index [N] int64, features [N, NUM_FEATURES] float32)``."""
    n = len(cg)
    ops = np.fromiter((op_index(op) for op in cg.ops), dtype=np.int64, count=n)
    feats = np.zeros((n, NUM_FEATURES), dtype=np.float32)
    for i in range(n):
        out_shape = cg.shapes[i]
        ins = cg.inputs[i]
        h_in, w_in, c_in = hwc(cg.shapes[ins[0]] if ins else out_shape)
        h_out, w_out, c_out = hwc(out_shape)
        a = cg.attrs[i]
        kernel = a.get("kernel", (0, 0))
        feats[i] = (_s(h_in), _s(h_out), _s(w_in), _s(w_out), _s(c_in), _s(c_out),
                    kernel[0] / 7, a.get("stride", (0, 0))[0] / 2, a.get("dilation", (0, 0))[0] / 2,
                    math.log2(a.get("groups", 1)) / 10, float(a.get("bias", False)),
                    float(cg.ops[i] in WEIGHTED_OPS))
    return ops, feats


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
