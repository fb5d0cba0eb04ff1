"""NAS-Bench-301 (Siems et al., 2020): the DARTS cell space on CIFAR-10.

An architecture is a DARTS :class:`Genotype`: a normal and a reduction cell, each a list of 8
``(op, input)`` pairs, two per intermediate node. Node ``k`` (0..3, i.e. cell state ``k+2``)
sums ``op1(state[i1]) + op2(state[i2])`` over two *distinct* inputs ``i1, i2 in 0..k+1``
(states 0 and 1 are the two preceding cells' outputs); the cell outputs the channel concat of
states 2..5 (``*_concat = [2, 3, 4, 5]``, the only concat NB301 has). Ops: ``max_pool_3x3``,
``avg_pool_3x3``, ``skip_connect``, ``sep_conv_3x3``, ``sep_conv_5x5``, ``dil_conv_3x3``,
``dil_conv_5x5``.

Text forms ``parse`` accepts:

* the DARTS/NB301 Genotype string, exactly as ``str(Genotype(...))`` prints it (the
  ``genotype`` column of the NB301 tables): ``Genotype(normal=[('sep_conv_5x5', 0), ...],
  normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5])``; ``range(2, 6)``
  is accepted for a concat. Read with :mod:`ast` (no ``eval``);
* NASLib's compact form (``naslib_compact`` column): ``([(input, op_code), ...8],
  [(input, op_code), ...8])`` for (normal, reduce), pairs in the same order as the
  Genotype's. The op codes, derived by comparing both columns on all 10,725 rows of the two
  NB301 tables (every code maps to exactly one op name): 0 ``max_pool_3x3``, 1
  ``avg_pool_3x3``, 2 ``skip_connect``, 3 ``sep_conv_3x3``, 4 ``sep_conv_5x5``, 5
  ``dil_conv_3x3``, 6 ``dil_conv_5x5`` (:data:`OPS` order);
* a :class:`Genotype` or a dict with its four fields.

:meth:`NB301Space.format` gives the Genotype string with the pairs in the given order
(``parse(format(a)) == a``). :meth:`NB301Space.key` is the Genotype string with each node's
two pairs sorted by ``(input, op)``: the order of the two summands of a node does not change
the network, and :meth:`~NB301Space.to_cg` builds the canonical order, so key-equal
genotypes give identical CGs. Node permutations that give the same function (with the concat channels
permuted) are *not* merged: they are different networks (the channel order feeding the next
cell differs).

The network is DARTS's ``NetworkCIFAR`` as NAS-Bench-301 trained it (``init_channels`` C=32,
``layers`` 8, 10 classes, input 3x32x32), evaluation form: the auxiliary head (a training
device) and drop-path (identity at inference) are not part of the graph.

* stem: Conv3x3(3 -> 3C, pad 1, no bias) -> BN; both first cell inputs are the stem output;
* cells i = 0..layers-1, reduction at ``layers//3`` and ``2*layers//3`` with channels doubled;
  ``preprocess0`` = FactorizedReduce(C_pp, C) after a reduction cell, else ReLUConvBN(C_pp, C,
  1x1); ``preprocess1`` = ReLUConvBN(C_p, C, 1x1); op stride 2 in reduction cells on inputs
  0 and 1; cell output = concat of states 2..5 (4C channels);
* ops: ``avg_pool_3x3`` = AvgPool(3, stride, pad 1, count_include_pad=False);
  ``max_pool_3x3`` = MaxPool(3, stride, pad 1); ``skip_connect`` = identity (no node) or
  FactorizedReduce(C, C) at stride 2; ``sep_conv_kxk`` = (ReLU, depthwise kxk, 1x1, BN) twice,
  stride on the first depthwise conv; ``dil_conv_kxk`` = ReLU, depthwise kxk dilation 2 pad
  k-1, 1x1, BN; FactorizedReduce(Ci, Co) = ReLU, concat(1x1/2 (Ci -> Co/2) of x, 1x1/2 of
  ``x[:, :, 1:, 1:]``), BN; all convs without bias, BN affine;
* head: global average pool -> Linear(16C, 10).

Check (``benchmarks/check_networks_nb301_ofa.py``, ``tests/test_space_nb301.py``): DARTS V2
with C=36, layers=20 has 3,349,342 parameters, the "param size = 3.349342MB" of DARTS's
CIFAR-10 training log (which excludes the auxiliary head).

Sampling follows NASLib/NB301: for each node of each cell two distinct inputs (random order)
and an op for each, uniformly. ``size`` counts genotypes up to the within-node pair order:
``(C(2,2) C(3,2) C(4,2) C(5,2) * 7^8)^2`` ~ 1.08e18.
"""

from __future__ import annotations

import ast
import random
from math import comb
from typing import Any, Mapping, NamedTuple, Sequence

from cgnas.errors import InvalidArchitectureError
from cgnas.graph.builder import GraphBuilder
from cgnas.graph.compgraph import CompGraph
from cgnas.spaces import register
from cgnas.spaces.base import SearchSpace

OPS: tuple[str, ...] = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
                        "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
"""The 7 candidate ops; ``OPS[code]`` is NASLib's op code ``code``."""

NUM_NODES = 4
CONCAT: tuple[int, ...] = (2, 3, 4, 5)
CELLS = ("normal", "reduce")

Pair = tuple[str, int]


class Genotype(NamedTuple):
    """A DARTS genotype (same fields as ``darts.genotypes.Genotype``), tuples inside."""

    normal: tuple[Pair, ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[Pair, ...]
    reduce_concat: tuple[int, ...]


DARTS_V2 = Genotype(
    normal=(("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
            ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)),
    normal_concat=CONCAT,
    reduce=(("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
            ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)),
    reduce_concat=CONCAT)
"""DARTS (second order) cell from the DARTS paper/repository (``genotypes.DARTS_V2``)."""

_HINT = ("expected a DARTS Genotype string \"Genotype(normal=[('op', input), ...8 pairs], "
         "normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5])\" or NASLib's "
         "compact form '([(input, op_code), ...8], [(input, op_code), ...8])'")


# --------------------------------------------------------------------------- parsing
def _literal(node: ast.AST, what: str) -> Any:
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"
            and not node.keywords):
        return list(range(*[_literal(a, what) for a in node.args]))
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        raise InvalidArchitectureError(f"nb301: {what} is not a literal value; {_HINT}") from None


def _parse_genotype_string(text: str) -> dict[str, Any]:
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise InvalidArchitectureError(f"nb301: cannot read the genotype ({exc.msg}); {_HINT}") from None
    if not (isinstance(tree, ast.Call) and isinstance(tree.func, (ast.Name, ast.Attribute))):
        raise InvalidArchitectureError(f"nb301: not a Genotype(...) expression; {_HINT}")
    name = tree.func.id if isinstance(tree.func, ast.Name) else tree.func.attr
    if name != "Genotype":
        raise InvalidArchitectureError(f"nb301: expected Genotype(...), got {name}(...); {_HINT}")
    fields = list(Genotype._fields)
    values: dict[str, Any] = {}
    if len(tree.args) > len(fields):
        raise InvalidArchitectureError(f"nb301: Genotype takes 4 fields, got {len(tree.args)} positional")
    for f, a in zip(fields, tree.args):
        values[f] = _literal(a, f)
    for kw in tree.keywords:
        if kw.arg not in fields:
            raise InvalidArchitectureError(
                f"nb301: unknown Genotype field {kw.arg!r}; fields are {', '.join(fields)}")
        if kw.arg in values:
            raise InvalidArchitectureError(f"nb301: Genotype field {kw.arg!r} given twice")
        values[kw.arg] = _literal(kw.value, kw.arg)
    return values


def _from_compact(value: Any) -> dict[str, Any]:
    if not (isinstance(value, (list, tuple)) and len(value) == 2):
        raise InvalidArchitectureError(
            f"nb301: NASLib compact form is a pair (normal, reduce) of lists of (input, op_code); "
            f"got {str(value)[:80]!r}")
    out: dict[str, Any] = {}
    for cell, pairs in zip(CELLS, value):
        if not isinstance(pairs, (list, tuple)):
            raise InvalidArchitectureError(f"nb301: {cell} cell of the compact form is not a list")
        conv = []
        for p, pair in enumerate(pairs):
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
                raise InvalidArchitectureError(
                    f"nb301: {cell} cell pair {p} of the compact form is {pair!r}, not (input, op_code)")
            idx, code = pair
            if not (isinstance(code, int) and 0 <= code < len(OPS)):
                raise InvalidArchitectureError(
                    f"nb301: {cell} cell pair {p}: unknown op code {code!r}; codes are "
                    + ", ".join(f"{i} {o}" for i, o in enumerate(OPS)))
            conv.append((OPS[code], idx))
        out[cell] = conv
        out[f"{cell}_concat"] = list(CONCAT)
    return out


def _check_cell(cell: str, pairs: Any) -> tuple[Pair, ...]:
    if not isinstance(pairs, (list, tuple)):
        raise InvalidArchitectureError(f"nb301: {cell} cell must be a list of (op, input) pairs, got {pairs!r}")
    if len(pairs) != 2 * NUM_NODES:
        raise InvalidArchitectureError(
            f"nb301: {cell} cell has {len(pairs)} (op, input) pairs; NB301 cells have "
            f"{NUM_NODES} nodes with exactly 2 inputs each ({2 * NUM_NODES} pairs)")
    out = []
    for p, pair in enumerate(pairs):
        node = p // 2
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
            raise InvalidArchitectureError(f"nb301: {cell} cell pair {p} is {pair!r}, not (op, input)")
        op, idx = pair
        if op not in OPS:
            raise InvalidArchitectureError(
                f"nb301: unknown op {op!r} in the {cell} cell (node {node}); valid ops: {', '.join(OPS)}")
        if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx <= node + 1:
            raise InvalidArchitectureError(
                f"nb301: {cell} cell node {node} (pair {p}) takes input {idx!r}, but node {node} may "
                f"only take inputs 0..{node + 1} (0, 1: previous cells; k >= 2: node k-2)")
        out.append((op, idx))
    for node in range(NUM_NODES):
        if out[2 * node][1] == out[2 * node + 1][1]:
            raise InvalidArchitectureError(
                f"nb301: {cell} cell node {node} takes input {out[2 * node][1]} twice; "
                "each node takes two distinct inputs")
    return tuple(out)


def _check_concat(cell: str, concat: Any) -> tuple[int, ...]:
    try:
        value = tuple(concat)
    except TypeError:
        value = None
    if value != CONCAT:
        raise InvalidArchitectureError(
            f"nb301: {cell}_concat is {concat!r}; NB301 cells concatenate all intermediate "
            f"nodes, [2, 3, 4, 5]")
    return CONCAT


def make_genotype(values: Mapping[str, Any]) -> Genotype:
    """A validated :class:`Genotype` from its four fields."""
    missing = [f for f in Genotype._fields if f not in values]
    if missing:
        raise InvalidArchitectureError(f"nb301: missing Genotype field(s) {', '.join(missing)}")
    extra = [f for f in values if f not in Genotype._fields]
    if extra:
        raise InvalidArchitectureError(f"nb301: unknown Genotype field(s) {', '.join(map(repr, extra))}")
    return Genotype(_check_cell("normal", values["normal"]),
                    _check_concat("normal", values["normal_concat"]),
                    _check_cell("reduce", values["reduce"]),
                    _check_concat("reduce", values["reduce_concat"]))


def to_naslib_compact(g: Genotype) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """NASLib's compact form ``((input, op_code) x 8, (input, op_code) x 8)`` of a genotype."""
    code = {o: i for i, o in enumerate(OPS)}
    return (tuple((i, code[o]) for o, i in g.normal), tuple((i, code[o]) for o, i in g.reduce))


def _fmt_cell(pairs: Sequence[Pair]) -> str:
    return "[" + ", ".join(f"('{o}', {i})" for o, i in pairs) + "]"


def _fmt_list(xs: Sequence[int]) -> str:
    return "[" + ", ".join(map(str, xs)) + "]"


def _sorted_nodes(pairs: Sequence[Pair]) -> tuple[Pair, ...]:
    out: list[Pair] = []
    for k in range(0, len(pairs), 2):
        a, b = pairs[k], pairs[k + 1]
        out.extend(sorted((a, b), key=lambda p: (p[1], p[0])))
    return tuple(out)


# ---------------------------------------------------------------------------- space
class NB301Space(SearchSpace[Genotype]):
    """The DARTS / NAS-Bench-301 space.

    Args:
        C: initial channels of the network (NB301: 32; DARTS's final CIFAR-10 model: 36).
        layers: number of cells (NB301: 8; DARTS: 20).
        num_classes: classifier outputs (CIFAR-10: 10).
    """

    name = "nb301"
    description = "NAS-Bench-301 / DARTS cells (normal + reduction), CIFAR-10, C=32, 8 cells"
    size = (comb(2, 2) * comb(3, 2) * comb(4, 2) * comb(5, 2) * len(OPS) ** 8) ** 2

    def __init__(self, C: int = 32, layers: int = 8, num_classes: int = 10) -> None:
        if C < 2 or C % 2 or layers < 1:
            raise InvalidArchitectureError(f"nb301: need an even C >= 2 and layers >= 1, got C={C}, layers={layers}")
        self.C = C
        self.layers = layers
        self.num_classes = num_classes

    # ---------------------------------------------------------------- text
    def _parse(self, spec: Any) -> Genotype:
        if isinstance(spec, str):
            if spec.startswith(("(", "[")):
                try:
                    value = ast.literal_eval(spec)
                except (ValueError, SyntaxError, TypeError):
                    raise InvalidArchitectureError(f"nb301: cannot read {spec[:80]!r}; {_HINT}") from None
                return make_genotype(_from_compact(value))
            return make_genotype(_parse_genotype_string(spec))
        if isinstance(spec, Genotype):
            return make_genotype(spec._asdict())
        if isinstance(spec, Mapping):
            return make_genotype(spec)
        if isinstance(spec, (list, tuple)):
            return make_genotype(_from_compact(spec))
        raise InvalidArchitectureError(f"nb301: cannot parse a {type(spec).__name__}; {_HINT}")

    def format(self, g: Genotype) -> str:
        return (f"Genotype(normal={_fmt_cell(g.normal)}, normal_concat={_fmt_list(g.normal_concat)}, "
                f"reduce={_fmt_cell(g.reduce)}, reduce_concat={_fmt_list(g.reduce_concat)})")

    def to_dict(self, g: Genotype) -> dict[str, Any]:
        """The four Genotype fields as lists (``parse`` takes it back)."""
        return {"normal": [list(p) for p in g.normal], "normal_concat": list(g.normal_concat),
                "reduce": [list(p) for p in g.reduce], "reduce_concat": list(g.reduce_concat)}

    def key(self, g: Genotype) -> str:
        """Genotype string with each node's two (op, input) pairs sorted by (input, op)."""
        return self.format(canonical(g))

    # ------------------------------------------------------------ sampling
    def sample(self, rng: random.Random) -> Genotype:
        cells = []
        for _ in CELLS:
            pairs: list[Pair] = []
            for node in range(NUM_NODES):
                for idx in rng.sample(range(node + 2), 2):
                    pairs.append((rng.choice(OPS), idx))
            cells.append(tuple(pairs))
        return Genotype(cells[0], CONCAT, cells[1], CONCAT)

    def mutate(self, g: Genotype, rng: random.Random) -> Genotype:
        """One change in one cell (chosen uniformly): an op, or an input of a node.

        Op: a uniform pair of the cell gets a different op. Input: a uniform pair of nodes
        1..3 (node 0 has no alternative) gets a different input, distinct from the node's
        other input.
        """
        cell = rng.choice(CELLS)
        pairs = list(getattr(g, cell))
        if rng.random() < 0.5:
            p = rng.randrange(len(pairs))
            op, idx = pairs[p]
            pairs[p] = (rng.choice([o for o in OPS if o != op]), idx)
        else:
            p = rng.randrange(2, len(pairs))
            node = p // 2
            other = pairs[p ^ 1][1]
            op, idx = pairs[p]
            pairs[p] = (op, rng.choice([i for i in range(node + 2) if i not in (idx, other)]))
        return g._replace(**{cell: tuple(pairs)})

    # ------------------------------------------------------------- network
    def to_cg(self, g: Genotype) -> CompGraph:
        """The network, built from :func:`canonical` ``(g)``: key-equal genotypes give equal CGs."""
        g = canonical(g)
        return build_cg(g, self.C, self.layers, self.num_classes, name=f"{self.name}:{self.format(g)}")


def canonical(g: Genotype) -> Genotype:
    """The same network with each node's pairs in (input, op) order."""
    return g._replace(normal=_sorted_nodes(g.normal), reduce=_sorted_nodes(g.reduce))


# --------------------------------------------------------------------------- network
def _relu_conv_bn(b: GraphBuilder, x: int, c_out: int) -> int:
    return b.bn(b.conv(b.relu(x), c_out, k=1, padding=0))


def _factorized_reduce(b: GraphBuilder, x: int, c_out: int) -> int:
    x = b.relu(x)
    y1 = b.conv(x, c_out // 2, k=1, stride=2, padding=0)
    y2 = b.conv(b.slice_spatial(x, 1), c_out // 2, k=1, stride=2, padding=0)
    return b.bn(b.concat([y1, y2], axis=1))


def _sep_conv(b: GraphBuilder, x: int, c: int, k: int, stride: int) -> int:
    x = b.conv(b.relu(x), c, k=k, stride=stride, padding=k // 2, groups=c)
    x = b.bn(b.conv(x, c, k=1, padding=0))
    x = b.conv(b.relu(x), c, k=k, stride=1, padding=k // 2, groups=c)
    return b.bn(b.conv(x, c, k=1, padding=0))


def _dil_conv(b: GraphBuilder, x: int, c: int, k: int, stride: int) -> int:
    x = b.conv(b.relu(x), c, k=k, stride=stride, padding=k - 1, dilation=2, groups=c)
    return b.bn(b.conv(x, c, k=1, padding=0))


def _op(b: GraphBuilder, name: str, x: int, c: int, stride: int) -> int:
    if name == "skip_connect":
        return x if stride == 1 else _factorized_reduce(b, x, c)
    if name == "max_pool_3x3":
        return b.maxpool(x, 3, stride, 1)
    if name == "avg_pool_3x3":
        return b.avgpool(x, 3, stride, 1, count_include_pad=False)
    if name == "sep_conv_3x3":
        return _sep_conv(b, x, c, 3, stride)
    if name == "sep_conv_5x5":
        return _sep_conv(b, x, c, 5, stride)
    if name == "dil_conv_3x3":
        return _dil_conv(b, x, c, 3, stride)
    if name == "dil_conv_5x5":
        return _dil_conv(b, x, c, 5, stride)
    raise InvalidArchitectureError(f"nb301: unknown op {name!r}; valid ops: {', '.join(OPS)}")


def _cell(b: GraphBuilder, pairs: Sequence[Pair], concat: Sequence[int], s0: int, s1: int,
          c: int, reduction: bool, reduction_prev: bool) -> int:
    states = [_factorized_reduce(b, s0, c) if reduction_prev else _relu_conv_bn(b, s0, c),
              _relu_conv_bn(b, s1, c)]
    for k in range(0, len(pairs), 2):
        (op1, i1), (op2, i2) = pairs[k], pairs[k + 1]
        h1 = _op(b, op1, states[i1], c, 2 if reduction and i1 < 2 else 1)
        h2 = _op(b, op2, states[i2], c, 2 if reduction and i2 < 2 else 1)
        states.append(b.add(h1, h2))
    return b.concat([states[i] for i in concat], axis=1)


def build_cg(g: Genotype, C: int = 32, layers: int = 8, num_classes: int = 10,
             name: str = "") -> CompGraph:
    """The CG of DARTS's ``NetworkCIFAR(C, num_classes, layers, auxiliary=False, genotype)``."""
    b = GraphBuilder((3, 32, 32), name=name)
    c_curr = 3 * C
    stem = b.bn(b.conv(b.input, c_curr, k=3, padding=1))
    s0 = s1 = stem
    c_curr = C  # channel counts of s0/s1 are read off the graph by the builder
    reduction_prev = False
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        if reduction:
            c_curr *= 2
        pairs, concat = (g.reduce, g.reduce_concat) if reduction else (g.normal, g.normal_concat)
        out = _cell(b, pairs, concat, s0, s1, c_curr, reduction, reduction_prev)
        s0, s1 = s1, out
        reduction_prev = reduction
    y = b.linear(b.global_avgpool(s1), num_classes)
    return b.build(y)


register("nb301", NB301Space)
