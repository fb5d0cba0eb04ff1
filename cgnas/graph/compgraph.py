"""``CompGraph``: a network as a DAG of primitive operators (see DESIGN.md section 1).

Nodes are operators, edges are tensors flowing from producer to consumer. A graph is stored
column-wise (one list per attribute) because builders create thousands of graphs per
second and the encoder only needs arrays; :meth:`CompGraph.node` gives a row view.

Shapes exclude the batch dimension: a conv feature map is ``(C, H, W)``, the input of a
classifier ``(D,)``, a token sequence ``(L, D)``. Nodes are in topological order (every
input index is smaller than the node's own), and builders create them deterministically,
so two builds of one architecture give identical graphs.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any, Iterator, NamedTuple

from cgnas.errors import CgnasError, ShapeError
from cgnas.graph.ops import VOCAB, WEIGHTED_OPS

FORMAT_VERSION = 1
"""Version of the CG format; caches and checkpoints made with another version are rebuilt."""

Shape = tuple[int, ...]


class Node(NamedTuple):
    """One operator of a :class:`CompGraph` (a row view; graphs are stored column-wise)."""

    index: int
    op: str
    inputs: tuple[int, ...]
    shape: Shape
    attrs: dict[str, Any]
    in_shapes: tuple[Shape, ...]

    @property
    def weighted(self) -> bool:
        return self.op in WEIGHTED_OPS


class CompGraph:
    """A computational graph.

    Args:
        ops: op name of each node (from :data:`cgnas.graph.ops.VOCAB`).
        inputs: for each node, the indices of the nodes whose outputs it consumes, in
            argument order (order matters for ``concat``, ``sub``, ``matmul``).
        shapes: output shape of each node, batch dimension excluded.
        attrs: hyper-parameters of each node (kernel, stride, padding, ...).
        name: free text naming the architecture, e.g. ``"nb201:|nor_conv_3x3~0|..."``.
    """

    __slots__ = ("ops", "inputs", "shapes", "attrs", "name")

    def __init__(self, ops: list[str], inputs: list[tuple[int, ...]], shapes: list[Shape],
                 attrs: list[dict[str, Any]], name: str = "") -> None:
        if not (len(ops) == len(inputs) == len(shapes) == len(attrs)):
            raise CgnasError("CompGraph columns have different lengths")
        self.ops = ops
        self.inputs = inputs
        self.shapes = shapes
        self.attrs = attrs
        self.name = name

    # ----------------------------------------------------------------- views
    def __len__(self) -> int:
        return len(self.ops)

    def __repr__(self) -> str:
        return (f"CompGraph({self.name!r}, nodes={len(self)}, edges={self.num_edges}, "
                f"params={self.num_params():,})")

    def node(self, i: int) -> Node:
        ins = self.inputs[i]
        return Node(i, self.ops[i], ins, self.shapes[i], self.attrs[i],
                    tuple(self.shapes[j] for j in ins))

    def __iter__(self) -> Iterator[Node]:
        return (self.node(i) for i in range(len(self)))

    @property
    def num_edges(self) -> int:
        return sum(len(ins) for ins in self.inputs)

    def edges(self) -> list[tuple[int, int]]:
        """``(source, consumer)`` pairs in node order, one per tensor use."""
        return [(src, dst) for dst, ins in enumerate(self.inputs) for src in ins]

    def input_nodes(self) -> list[int]:
        return [i for i, op in enumerate(self.ops) if op == "input"]

    def output_nodes(self) -> list[int]:
        return [i for i, op in enumerate(self.ops) if op == "output"]

    def op_counts(self) -> Counter:
        return Counter(self.ops)

    # ---------------------------------------------------------------- checks
    def validate(self) -> "CompGraph":
        """Check topological order, known ops and one input/output; returns ``self``."""
        for i, (op, ins) in enumerate(zip(self.ops, self.inputs)):
            if op not in VOCAB:
                raise CgnasError(f"node {i}: op {op!r} is not in the CG vocabulary")
            if any(not 0 <= j < i for j in ins):
                raise CgnasError(f"node {i} ({op}): inputs {ins} break topological order")
        if not self.input_nodes() or not self.output_nodes():
            raise ShapeError("a CompGraph needs at least one input and one output node")
        return self

    # ------------------------------------------------------------ costs
    def num_params(self) -> int:
        """Trainable parameters of the network, counted from the weighted nodes."""
        from cgnas.graph.cost import graph_params
        return graph_params(self)

    def macs(self) -> int:
        """Multiply-accumulates of one forward pass with batch size 1."""
        from cgnas.graph.cost import graph_macs
        return graph_macs(self)

    # ------------------------------------------------------------ identity
    def signature(self) -> str:
        """A hash that is equal for graphs equal up to node order.

        Weisfeiler-Lehman refinement over node labels ``(op, shape, attrs)`` with ordered
        argument lists, as in NAS-Bench-101's graph fingerprint; ``len(self)`` rounds.
        """
        labels = [_md5(repr((op, shape, sorted(a.items()))))
                  for op, shape, a in zip(self.ops, self.shapes, self.attrs)]
        consumers: list[list[int]] = [[] for _ in self.ops]
        for dst, ins in enumerate(self.inputs):
            for src in ins:
                consumers[src].append(dst)
        for _ in range(min(len(self), 64)):
            labels = [_md5("|".join([labels[i], ",".join(labels[j] for j in self.inputs[i]),
                                     ",".join(sorted(labels[j] for j in consumers[i]))]))
                      for i in range(len(self))]
        return _md5(",".join(sorted(labels)))

    def same_as(self, other: "CompGraph") -> bool:
        """Same operator multiset, edges and shapes, up to node order."""
        return (len(self) == len(other) and self.num_edges == other.num_edges
                and self.op_counts() == other.op_counts()
                and sorted(self.shapes) == sorted(other.shapes)
                and self.signature() == other.signature())

    # ------------------------------------------------------------ conversions
    def to_torch(self):
        """A runnable ``torch.fx.GraphModule`` computing this graph (fresh weights)."""
        from cgnas.graph.to_torch import to_torch
        return to_torch(self)

    def to_pyg(self):
        """GNN input: a ``torch_geometric.data.Data`` (see :mod:`cgnas.graph.features`)."""
        from cgnas.graph.features import to_pyg
        return to_pyg(self)

    def draw(self, path: str | os.PathLike, **kwargs: Any) -> Path:
        """Render to PNG, SVG or PDF (by suffix); see :func:`cgnas.graph.draw.draw`."""
        from cgnas.graph.draw import draw
        return draw(self, path, **kwargs)

    def to_dot(self) -> str:
        from cgnas.graph.draw import to_dot
        return to_dot(self)

    def to_dict(self) -> dict[str, Any]:
        return {"format_version": FORMAT_VERSION, "name": self.name,
                "nodes": [{"op": op, "inputs": list(ins), "shape": list(shape),
                           "attrs": {k: _jsonable(v) for k, v in a.items()}}
                          for op, ins, shape, a in zip(self.ops, self.inputs, self.shapes, self.attrs)]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CompGraph":
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise CgnasError(f"CG format version {version} is not supported (expected {FORMAT_VERSION})")
        try:
            nodes = data["nodes"]
            return cls([n["op"] for n in nodes], [tuple(n["inputs"]) for n in nodes],
                       [tuple(n["shape"]) for n in nodes],
                       [{k: _tuplify(v) for k, v in n["attrs"].items()} for n in nodes],
                       name=data.get("name", "")).validate()
        except (KeyError, TypeError) as exc:
            raise CgnasError(f"malformed CG JSON: {exc!r}") from exc

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "CompGraph":
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise CgnasError(f"CG JSON is not valid JSON: {exc}") from exc

    def save(self, path: str | os.PathLike) -> Path:
        """Write JSON atomically."""
        from cgnas.utils import atomic_write_text
        return atomic_write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CompGraph":
        p = Path(path)
        if not p.is_file():
            raise CgnasError(f"CG file not found: {p}")
        return cls.from_json(p.read_text())

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, CompGraph) and self.ops == other.ops
                and self.inputs == other.inputs and self.shapes == other.shapes
                and self.attrs == other.attrs)

    __hash__ = None  # mutable lists inside


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _tuplify(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuplify(v) for v in value)
    return value
