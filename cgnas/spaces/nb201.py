"""NAS-Bench-201 (Dong & Yang, ICLR 2020): the cell space of the TinyNetwork.

An architecture is a tuple of 6 op names, one per cell edge, in the order of the official
string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``: edges (1<-0), (2<-0), (2<-1), (3<-0),
(3<-1), (3<-2). Ops: ``none``, ``skip_connect``, ``nor_conv_1x1``, ``nor_conv_3x3``,
``avg_pool_3x3``; 5**6 = 15,625 architectures.

The network is the benchmark's training network (xautodl ``TinyNetwork`` with ``InferCell``,
C=16, N=5, CIFAR-10: 10 classes, input 3x32x32):

* stem: Conv3x3(3->16, pad 1, no bias) -> BN;
* 3 stages of 5 cells with 16, 32, 64 channels; between stages a ``ResNetBasicblock``
  (stride 2): ``conv_a`` = ReLU -> Conv3x3/2 -> BN, ``conv_b`` = ReLU -> Conv3x3 -> BN,
  shortcut = AvgPool2d(2, 2) -> Conv1x1 (no bias, no BN); output ``shortcut + conv_b``;
* cell: ``node0`` = input, ``node_j = sum_i op_ji(node_i)``, output ``node3``; ``nor_conv_kxk``
  = ReLU -> Conv(k, pad k//2, no bias) -> BN; ``avg_pool_3x3`` = AvgPool2d(3, 1, 1,
  count_include_pad=False); ``skip_connect`` = identity (no CG node); ``none`` = ``x * 0``;
* head: BN -> ReLU -> global average pool -> Linear(64, 10).

NASLib's ``naslib_op_tuple`` orders the edges (1,2), (1,3), (1,4), (2,3), (2,4), (3,4)
(1-based nodes, i.e. string edges (1<-0), (2<-0), (3<-0), (2<-1), (3<-1), (3<-2)) and codes
ops 0 skip_connect, 1 none, 2 nor_conv_3x3, 3 nor_conv_1x1, 4 avg_pool_3x3; see
:func:`from_naslib` and :func:`to_naslib`.
"""

from __future__ import annotations

import itertools
import random
from typing import Any, Sequence

from cgnas.errors import InvalidArchitectureError
from cgnas.graph.builder import GraphBuilder
from cgnas.graph.compgraph import CompGraph
from cgnas.spaces import register
from cgnas.spaces.base import SearchSpace

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
"""The five candidate operations."""

EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
"""``(to, from)`` node pairs of the 6 edges, in string (architecture tuple) order."""

NUM_EDGES = len(EDGES)

NASLIB_OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
"""NASLib's op codes: ``NASLIB_OPS[code]`` is the op name."""

NASLIB_ORDER: tuple[int, ...] = (0, 1, 3, 2, 4, 5)
"""``naslib_tuple[k]`` is the op of string edge ``NASLIB_ORDER[k]`` (and the map is an involution)."""

EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"

_FORMAT_HINT = ("a valid NB201 string is |op~0|+|op~0|op~1|+|op~0|op~1|op~2| (3 nodes separated "
                "by '+', node j listing its j input edges 'op~i' in order i = 0..j-1), e.g. "
                + EXAMPLE + f"; ops: {', '.join(OPS)}")

# Network hyper-parameters (NAS-Bench-201 training network).
C = 16
N = 5
NUM_CLASSES = 10
INPUT_SHAPE = (3, 32, 32)



def from_naslib(codes: Sequence[int]) -> tuple[str, ...]:
    """An architecture tuple from NASLib's ``naslib_op_tuple`` (op codes in NASLib edge order)."""
    if isinstance(codes, str):  # the CSV column: "(0, 2, 3, 2, 3, 1)"
        codes = codes.strip().strip("()[]").split(",")
    try:
        codes = tuple(int(c) for c in codes)
    except (TypeError, ValueError):
        raise InvalidArchitectureError(
            f"nb201: a NASLib op tuple has 6 integer codes in 0..4, got {codes!r}") from None
    if len(codes) != NUM_EDGES or not all(0 <= c < len(NASLIB_OPS) for c in codes):
        raise InvalidArchitectureError(
            f"nb201: a NASLib op tuple has 6 codes in 0..4, got {codes!r}")
    return tuple(NASLIB_OPS[codes[NASLIB_ORDER[k]]] for k in range(NUM_EDGES))


def to_naslib(arch: Sequence[str]) -> tuple[int, ...]:
    """NASLib's ``naslib_op_tuple`` of an architecture tuple."""
    return tuple(NASLIB_OPS.index(arch[NASLIB_ORDER[k]]) for k in range(NUM_EDGES))


def _parse_string(text: str) -> tuple[str, ...]:
    nodes = text.split("+")
    if len(nodes) != 3:
        raise InvalidArchitectureError(
            f"nb201: {text!r} has {len(nodes)} node(s) separated by '+', expected 3; {_FORMAT_HINT}")
    ops: list[str] = []
    for j, node in enumerate(nodes, start=1):
        node = node.strip()
        if len(node) < 2 or not node.startswith("|") or not node.endswith("|"):
            raise InvalidArchitectureError(
                f"nb201: node {j} {node!r} must look like '|op~0|...|'; {_FORMAT_HINT}")
        edges = node[1:-1].split("|")
        if len(edges) != j:
            raise InvalidArchitectureError(
                f"nb201: node {j} {node!r} has {len(edges)} edge(s), expected {j}; {_FORMAT_HINT}")
        for i, edge in enumerate(edges):
            op, sep, src = edge.partition("~")
            if not sep:
                raise InvalidArchitectureError(
                    f"nb201: edge {edge!r} of node {j} is not 'op~input'; {_FORMAT_HINT}")
            if src.strip() != str(i):
                raise InvalidArchitectureError(
                    f"nb201: edge {edge!r} of node {j} has input {src!r}, expected {i} "
                    f"(edges of a node list inputs 0..{j - 1} in order); {_FORMAT_HINT}")
            op = op.strip()
            if op not in OPS:
                raise InvalidArchitectureError(
                    f"nb201: unknown op {op!r} on edge {i}->{j}; ops are {', '.join(OPS)}")
            ops.append(op)
    return tuple(ops)


def _check_ops(ops: Sequence[Any]) -> tuple[str, ...]:
    ops = tuple(ops)
    if len(ops) != NUM_EDGES:
        raise InvalidArchitectureError(
            f"nb201: an op sequence has 6 ops (edges 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2), "
            f"got {len(ops)}: {ops!r}")
    for k, op in enumerate(ops):
        if op not in OPS:
            to, frm = EDGES[k]
            raise InvalidArchitectureError(
                f"nb201: unknown op {op!r} on edge {frm}->{to}; ops are {', '.join(OPS)}")
    return ops


def format_arch(arch: Sequence[str]) -> str:
    """The official string of an architecture tuple."""
    a = arch
    return (f"|{a[0]}~0|+|{a[1]}~0|{a[2]}~1|+|{a[3]}~0|{a[4]}~1|{a[5]}~2|")


# ------------------------------------------------------------------- network
def _edge(b: GraphBuilder, op: str, x: int, c: int) -> int:
    if op == "skip_connect":
        return x
    if op == "nor_conv_3x3":
        return b.bn(b.conv(b.relu(x), c, 3, 1, 1))
    if op == "nor_conv_1x1":
        return b.bn(b.conv(b.relu(x), c, 1, 1, 0))
    if op == "avg_pool_3x3":
        return b.avgpool(x, 3, 1, 1, count_include_pad=False)
    return b.zero(x)  # none


def _cell(b: GraphBuilder, arch: Sequence[str], x: int, c: int) -> int:
    e = _edge
    n1 = e(b, arch[0], x, c)
    n2 = b.add(e(b, arch[1], x, c), e(b, arch[2], n1, c))
    return b.add(e(b, arch[3], x, c), e(b, arch[4], n1, c), e(b, arch[5], n2, c))


def _resblock(b: GraphBuilder, x: int, c: int) -> int:
    y = b.bn(b.conv(b.relu(x), c, 3, 2, 1))
    y = b.bn(b.conv(b.relu(y), c, 3, 1, 1))
    s = b.conv(b.avgpool(x, 2, 2, 0), c, 1, 1, 0)
    return b.add(s, y)


def build_network(arch: Sequence[str], name: str = "") -> CompGraph:
    """The CG of the NAS-Bench-201 CIFAR-10 network of a (validated) architecture tuple."""
    b = GraphBuilder(INPUT_SHAPE, name=name)
    x = b.bn(b.conv(b.input, C, 3, 1, 1))
    for stage, c in enumerate((C, 2 * C, 4 * C)):
        if stage:
            x = _resblock(b, x, c)
        for _ in range(N):
            x = _cell(b, arch, x, c)
    x = b.relu(b.bn(x))
    x = b.linear(b.global_avgpool(x), NUM_CLASSES)
    return b.build(x)


class NB201Space(SearchSpace[tuple]):
    """NAS-Bench-201: 6 edges x 5 ops; architectures are 6-tuples of op names."""

    name = "nb201"
    description = "NAS-Bench-201 cell space (TinyNetwork C=16 N=5, CIFAR-10), 5^6 cells"
    size = len(OPS) ** NUM_EDGES
    ops = OPS
    example = EXAMPLE

    def _parse(self, spec: Any) -> tuple:
        if isinstance(spec, str):
            return _parse_string(spec)
        if isinstance(spec, (tuple, list)):
            return _check_ops(spec)
        raise InvalidArchitectureError(
            f"nb201: cannot parse a {type(spec).__name__}; give the string form "
            f"({_FORMAT_HINT}) or a sequence of 6 op names")

    def format(self, arch: tuple) -> str:
        return format_arch(arch)

    def from_naslib(self, codes: Sequence[int]) -> tuple:
        return from_naslib(codes)

    def to_naslib(self, arch: tuple) -> tuple[int, ...]:
        return to_naslib(arch)

    def all_archs(self) -> list[tuple]:
        """Every architecture, in ``itertools.product`` order over :data:`OPS`."""
        return list(itertools.product(OPS, repeat=NUM_EDGES))

    def sample(self, rng: random.Random) -> tuple:
        return tuple(rng.choice(OPS) for _ in range(NUM_EDGES))

    def mutate(self, arch: tuple, rng: random.Random) -> tuple:
        arch = tuple(arch)
        k = rng.randrange(NUM_EDGES)
        new = list(arch)
        new[k] = rng.choice([op for op in OPS if op != arch[k]])
        return tuple(new)

    def to_cg(self, arch: tuple) -> CompGraph:
        if isinstance(arch, str):
            arch = _parse_string(arch.strip())
        return build_network(arch, name="nb201:" + format_arch(arch))


register("nb201", NB201Space)
