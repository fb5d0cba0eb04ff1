"""A fixed-length summary vector of a CG, for models that cannot read a graph (e.g. ridge).

Each node ``v`` falls into one cell ``c(v) = (op, kernel bucket, depthwise, level)``:

* kernel bucket: the node's kernel size if it is 1, 3, 5 or 7, else "other" (no kernel,
  or another size);
* depthwise: ``groups > 1``;
* level: ``clip(round(log2(H_input / H_out(v))), 0, 7)``, the number of halvings of the
  input resolution at the node's output, so that a stage of a network has the same level
  at every input resolution.

For a graph with input height ``H_input`` the descriptor (``DESCRIPTOR_LENGTH`` values) is::

    [ count_c = #{v : c(v) = c}                     for every cell c,
      width_c = Σ_{v : c(v) = c} log2(1 + C_out(v)) for every cell c,
      log2 MACs, log2 params, log2 H_input ]

It counts which operators a network has, where and how wide, without the wiring: two cells
that differ only in topology get the same descriptor, which a graph encoder would tell apart.
"""

from __future__ import annotations

import numpy as np

from cgnas.graph.features import RAW_COLUMNS
from cgnas.graph.ops import OPS

KERNEL_BUCKETS: tuple[int, ...] = (1, 3, 5, 7)
NUM_LEVELS = 8
NUM_CELLS = len(OPS) * (len(KERNEL_BUCKETS) + 1) * 2 * NUM_LEVELS
DESCRIPTOR_LENGTH = 2 * NUM_CELLS + 3

_COL = {name: i for i, name in enumerate(RAW_COLUMNS)}


def descriptors_from_raw(raw: np.ndarray, node_ptr: np.ndarray, params: np.ndarray,
                         macs: np.ndarray) -> np.ndarray:
    """``[G, DESCRIPTOR_LENGTH]`` descriptors of ``G`` packed graphs.

    Args:
        raw: ``[sum N, len(RAW_COLUMNS)]`` node attributes (:func:`~cgnas.graph.features.raw_node_columns`),
            the graphs one after another, each starting with its input node.
        node_ptr: ``[G + 1]`` offsets of each graph's nodes in ``raw``.
        params, macs: ``[G]`` parameters and multiply-accumulates of each network.
    """
    raw = np.asarray(raw, dtype=np.int64)
    node_ptr = np.asarray(node_ptr, dtype=np.int64)
    num_graphs = len(node_ptr) - 1
    graph = np.repeat(np.arange(num_graphs), np.diff(node_ptr))
    input_height = np.maximum(raw[node_ptr[:-1], _COL["h_out"]], 1)
    kernel = raw[:, _COL["kernel"]]
    bucket = np.full(len(raw), len(KERNEL_BUCKETS))
    for i, k in enumerate(KERNEL_BUCKETS):
        bucket[kernel == k] = i
    depthwise = (raw[:, _COL["groups"]] > 1).astype(np.int64)
    halvings = np.log2(input_height[graph] / np.maximum(raw[:, _COL["h_out"]], 1))
    level = np.clip(np.rint(halvings), 0, NUM_LEVELS - 1).astype(np.int64)
    cell = ((raw[:, _COL["op"]] * (len(KERNEL_BUCKETS) + 1) + bucket) * 2 + depthwise) * NUM_LEVELS + level

    out = np.zeros((num_graphs, DESCRIPTOR_LENGTH))
    np.add.at(out, (graph, cell), 1.0)
    np.add.at(out, (graph, NUM_CELLS + cell), np.log2(1.0 + raw[:, _COL["c_out"]]))
    out[:, -3] = np.log2(np.maximum(np.asarray(macs, dtype=np.float64), 1.0))
    out[:, -2] = np.log2(np.maximum(np.asarray(params, dtype=np.float64), 1.0))
    out[:, -1] = np.log2(input_height)
    return out


def varying_columns(descriptors: np.ndarray) -> np.ndarray:
    """``[G, D']`` the columns of ``descriptors [G, D]`` that differ between some two rows.

    A column constant over a whole table is constant on every subset of it, and
    :class:`~cgnas.model.ridge.RidgeLOO` drops the columns constant on its training set, so a
    ridge fits and predicts the same without them. Most cells are empty in any one space (NB101
    keeps 50 of the 5,763 columns), so a table's descriptors shrink a hundredfold.
    """
    return descriptors[:, (descriptors != descriptors[:1]).any(axis=0)]
