"""Mutation that stays inside the oracle's pool.

The child of a parent is ``space.mutate(parent)`` (one local change). When the oracle has a
pool (a benchmark table that covers only part of the space: NB101's 30k cells, NB301's 10k
genotypes) and the mutated architecture is not in it, the child is instead the pool
architecture **nearest to the mutated one**, other than the parent, under the Hamming
distance of a binary encoding of the space (ties broken at random). So the proposal is always
the space's own mutation, and the search never leaves the pool. Without a pool, a child the
oracle can answer goes through :meth:`Oracle.complete` (OFA under a MACs budget: grown to fill
it). Encodings:

* ``nb201``: one-hot op of each of the 6 edges (30 bits);
* ``nb101``: the path encoding of BANANAS (White et al., 2021): one bit per sequence of
  interior ops along an input-to-output path (364 bits); it is invariant to vertex order, so
  isomorphic cells encode alike;
* ``nb301``: one bit per ``(cell, node, input, op)`` that a genotype uses (196 bits); the
  order of a node's two pairs does not matter, as in :meth:`NB301Space.key`.

With NB101's pool (7 % of the space) about one mutated cell in 15 is in the pool; with
NB301's (1e-14 of the space) practically never, so there the child is always the nearest pool
genotype to a one-step mutation of the parent.
"""

from __future__ import annotations

import random
from functools import cached_property
from typing import Any, Callable

import numpy as np

from cgnas.errors import CgnasError
from cgnas.search.oracle import Oracle


def nb201_encoding(arch: tuple[str, ...]) -> np.ndarray:
    from cgnas.spaces.nb201 import OPS
    bits = np.zeros((len(arch), len(OPS)), dtype=bool)
    bits[np.arange(len(arch)), [OPS.index(op) for op in arch]] = True
    return bits.ravel()


_NB101_PATH_OFFSETS = np.cumsum([0] + [3 ** length for length in range(6)])  # paths of 0..5 interior ops


def nb101_encoding(arch: Any) -> np.ndarray:
    from cgnas.spaces.nb101 import OPS
    matrix, ops = arch.matrix, arch.ops
    n = len(ops)
    bits = np.zeros(_NB101_PATH_OFFSETS[-1], dtype=bool)
    stack: list[tuple[int, int, int]] = [(0, 0, 0)]  # (vertex, path length, base-3 code of its ops)
    while stack:
        v, length, code = stack.pop()
        for w in range(v + 1, n):
            if matrix[v][w]:
                if w == n - 1:
                    bits[_NB101_PATH_OFFSETS[length] + code] = True
                else:
                    stack.append((w, length + 1, 3 * code + OPS.index(ops[w])))
    return bits


def nb301_encoding(genotype: Any) -> np.ndarray:
    from cgnas.spaces.nb301 import CELLS, NUM_NODES, OPS
    offsets = np.cumsum([0] + [(node + 2) * len(OPS) for node in range(NUM_NODES)])
    cell_bits = offsets[-1]
    bits = np.zeros(len(CELLS) * cell_bits, dtype=bool)
    for c, cell in enumerate(CELLS):
        for p, (op, idx) in enumerate(getattr(genotype, cell)):
            bits[c * cell_bits + offsets[p // 2] + idx * len(OPS) + OPS.index(op)] = True
    return bits


ENCODINGS: dict[str, Callable[[Any], np.ndarray]] = {
    "nb101": nb101_encoding, "nb201": nb201_encoding, "nb301": nb301_encoding}
"""Binary encoding of each space whose pools the mutation can project onto."""


class PoolMutation:
    """``space.mutate``, projected onto the oracle's pool when the oracle has one (else
    completed by the oracle).

    Args:
        oracle: the oracle searched; a pool oracle needs ``archs`` and ``keys`` (one per pool row).
    """

    def __init__(self, oracle: Oracle) -> None:
        self.oracle = oracle
        self.space = oracle.space
        self.encode: Callable[[Any], np.ndarray] | None = None
        if oracle.pool_size is not None:
            self.encode = ENCODINGS.get(self.space.name)
            if self.encode is None:
                raise CgnasError(f"no encoding to mutate inside a pool of {self.space.name}; "
                                 f"pool searches support {', '.join(ENCODINGS)}")

    @cached_property
    def _pool_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """Bit-packed encodings of the pool rows and the row that answers each row's key
        (computed on the first projection)."""
        codes = np.packbits(np.stack([self.encode(a) for a in self.oracle.archs]), axis=1)
        answering = np.array([self.oracle.index[k] for k in self.oracle.keys])
        return codes, answering

    def __call__(self, parent: Any, rng: random.Random) -> Any:
        child = self.space.mutate(parent, rng)
        if self.encode is None:  # no pool: a child outside the oracle's budget is redrawn by the search
            return self.oracle.complete(child, rng) if self.oracle.contains(child) else child
        if self.oracle.contains(child):
            return child
        codes, answering = self._pool_codes
        distance = np.bitwise_count(codes ^ np.packbits(self.encode(child))).sum(axis=1, dtype=np.int64)
        distance[answering == self.oracle.row(parent)] = np.iinfo(np.int64).max
        nearest = np.flatnonzero(distance == distance.min())
        return self.oracle.archs[int(nearest[rng.randrange(len(nearest))])]
