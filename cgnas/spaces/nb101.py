"""NAS-Bench-101 (Ying et al., ICML 2019): cells of up to 7 vertices and 9 edges.

An architecture is an :class:`NB101Arch`, the *pruned* model spec: an upper-triangular 0/1
adjacency ``matrix`` (``matrix[i][j] = 1`` is an edge from vertex ``i`` to vertex ``j``) and
the vertex ``ops`` (``input``, then ``conv3x3-bn-relu`` / ``conv1x1-bn-relu`` /
``maxpool3x3``, then ``output``). As in the official ``ModelSpec``, vertices that are not on
a path from input to output are removed before anything else (counting vertices and edges,
hashing, building); a valid cell then has at most 7 vertices and 9 edges.

Text forms accepted by :meth:`NB101Space.parse`:

* a dict ``{"matrix": [[...]], "ops": [...]}`` (also ``module_adjacency`` /
  ``module_operations``; ``ops`` may be a ``|``-separated string as in the data CSV), a
  ``(matrix, ops)`` pair, or an :class:`NB101Arch`;
* the JSON text of that dict; this is what :meth:`NB101Space.format` writes (pruned spec);
* a compact form ``ROWS;OPS``: the matrix rows as 0/1 strings separated by ``,`` and the
  ops separated by ``,``, each either its full name or a short code (``in``, ``c3``, ``c1``,
  ``mp``, ``out``), e.g. ``"0110,0001,0001,0000;in,c3,mp,out"``.
  :meth:`NB101Space.compact` writes it.

:meth:`NB101Space.key` is the official graph fingerprint (``graph_util.hash_module``), equal
for isomorphic cells; it is the ``hash`` column of the benchmark tables.

The network is the official TF model: stem conv3x3 (128, no bias) + BN + ReLU; 3 stacks of
3 cells, a 2x2/2 max-pool and doubled channels before stacks 2 and 3 (128, 256, 512); global
average pool; dense 10 (with bias). Inside a cell (``build_module``), vertex channels come
from ``compute_vertex_channels``; a vertex sums its predecessors (interior ones truncated to
its channel count, the cell input through a 1x1 conv-BN-ReLU projection) and applies its op;
the output concatenates the vertices that feed it and adds a projection of the input when
the input feeds the output directly.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

from cgnas.errors import InvalidArchitectureError
from cgnas.graph.builder import GraphBuilder
from cgnas.graph.compgraph import CompGraph
from cgnas.spaces import register
from cgnas.spaces.base import SearchSpace

INPUT = "input"
OUTPUT = "output"
CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"
OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
"""Interior vertex ops, in the order of the official hash labeling."""

SHORT: dict[str, str] = {"in": INPUT, "c3": CONV3X3, "c1": CONV1X1, "mp": MAXPOOL3X3, "out": OUTPUT}
"""Short op codes of the compact text form."""
_SHORT_OF = {v: k for k, v in SHORT.items()}

MAX_VERTICES = 7
MAX_EDGES = 9

# Network hyper-parameters (NAS-Bench-101 training network).
STEM_CHANNELS = 128
NUM_STACKS = 3
MODULES_PER_STACK = 3
NUM_CLASSES = 10
INPUT_SHAPE = (3, 32, 32)

EXAMPLE = ('{"matrix": [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], '
           '"ops": ["input", "conv3x3-bn-relu", "maxpool3x3", "output"]}')

_FORMAT_HINT = ('give {"matrix": [[...]], "ops": [...]} (as a dict or JSON) or the compact '
                'form ROWS;OPS such as "0110,0001,0001,0000;in,c3,mp,out"')


@dataclass(frozen=True)
class NB101Arch:
    """A pruned NAS-Bench-101 model spec (hashable, immutable)."""

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return sum(map(sum, self.matrix))

    def to_dict(self) -> dict[str, Any]:
        return {"matrix": [list(r) for r in self.matrix], "ops": list(self.ops)}


# --------------------------------------------------------------- validation
def _err(msg: str) -> InvalidArchitectureError:
    return InvalidArchitectureError(f"nb101: {msg}")


def prune(matrix: Sequence[Sequence[int]], ops: Sequence[str]
          ) -> tuple[tuple[tuple[int, ...], ...], tuple[str, ...]] | None:
    """The official ``ModelSpec._prune``: drop vertices not on an input->output path.

    Returns the pruned ``(matrix, ops)``, or ``None`` when the input does not reach the output.
    """
    n = len(ops)
    from_input = {0}
    frontier = [0]
    while frontier:
        top = frontier.pop()
        row = matrix[top]
        for v in range(top + 1, n):
            if row[v] and v not in from_input:
                from_input.add(v)
                frontier.append(v)
    to_output = {n - 1}
    frontier = [n - 1]
    while frontier:
        top = frontier.pop()
        for v in range(0, top):
            if matrix[v][top] and v not in to_output:
                to_output.add(v)
                frontier.append(v)
    keep = sorted(from_input & to_output)
    if len(keep) < 2:  # official: len(extraneous) > num_vertices - 2
        return None
    if len(keep) == n:
        return tuple(tuple(r) for r in matrix), tuple(ops)
    return (tuple(tuple(matrix[i][j] for j in keep) for i in keep),
            tuple(ops[i] for i in keep))


def validate(matrix: Any, ops: Any) -> NB101Arch:
    """Check a spec as the official API does and return the pruned :class:`NB101Arch`."""
    if hasattr(matrix, "tolist"):
        matrix = matrix.tolist()
    if isinstance(ops, str):
        ops = ops.split("|")
    if not isinstance(matrix, (list, tuple)) or not all(isinstance(r, (list, tuple)) for r in matrix):
        raise _err(f"the matrix must be a list of rows (a square 0/1 matrix), got {matrix!r}")
    if not isinstance(ops, (list, tuple)) or not all(isinstance(o, str) for o in ops):
        raise _err(f"ops must be a list of op names, got {ops!r}")
    n = len(matrix)
    if n < 2:
        raise _err(f"a cell needs at least an input and an output vertex; the matrix has {n} row(s)")
    for i, row in enumerate(matrix):
        if len(row) != n:
            raise _err(f"the matrix must be square: it has {n} rows but row {i} has {len(row)} entries")
    if len(ops) != n:
        raise _err(f"len(ops) = {len(ops)} does not match the {n}x{n} matrix (one op per vertex)")
    mat: list[tuple[int, ...]] = []
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            if isinstance(v, str) or v not in (0, 1):
                raise _err(f"matrix[{i}][{j}] = {v!r}; entries must be 0 or 1")
        mat.append(tuple(int(v) for v in row))
    for i in range(n):
        for j in range(i + 1):
            if mat[i][j]:
                what = "a self-loop" if i == j else "an edge from a later vertex back to an earlier one (a cycle or backward edge)"
                raise _err(f"matrix[{i}][{j}] = 1 is {what}; the matrix must be strictly upper "
                           f"triangular (vertices in topological order, a DAG)")
    if ops[0] != INPUT:
        raise _err(f"ops[0] must be 'input', got {ops[0]!r}")
    if ops[-1] != OUTPUT:
        raise _err(f"ops[-1] must be 'output', got {ops[-1]!r}")
    for k, op in enumerate(ops[1:-1], start=1):
        if op not in OPS:
            raise _err(f"ops[{k}] = {op!r} is not an interior op; choose one of {', '.join(OPS)}")
    pruned = prune(mat, ops)
    if pruned is None:
        raise _err("there is no path from the input to the output vertex")
    pm, po = pruned
    if len(po) > MAX_VERTICES:
        raise _err(f"{len(po)} vertices after pruning (removing vertices not on an input->output "
                   f"path); at most {MAX_VERTICES} are allowed")
    edges = sum(map(sum, pm))
    if edges > MAX_EDGES:
        raise _err(f"{edges} edges after pruning (removing vertices not on an input->output "
                   f"path); at most {MAX_EDGES} are allowed")
    return NB101Arch(pm, po)


def _parse_compact(text: str) -> NB101Arch:
    rows_txt, sep, ops_txt = text.partition(";")
    if not sep:
        raise _err(f"cannot parse {text!r}; {_FORMAT_HINT}")
    rows = [r.strip() for r in rows_txt.split(",")]
    matrix: list[list[int]] = []
    for i, r in enumerate(rows):
        if not r or any(ch not in "01" for ch in r):
            raise _err(f"compact form: row {i} {r!r} must be a string of 0s and 1s; {_FORMAT_HINT}")
        matrix.append([int(ch) for ch in r])
    ops = [SHORT.get(o.strip(), o.strip()) for o in ops_txt.split(",")]
    return validate(matrix, ops)


def _parse_dict(d: dict) -> NB101Arch:
    matrix = d.get("matrix", d.get("module_adjacency"))
    ops = d.get("ops", d.get("module_operations"))
    if matrix is None or ops is None:
        raise _err(f"a spec dict needs keys 'matrix' and 'ops', got keys {sorted(d)}")
    return validate(matrix, ops)


# --------------------------------------------------------------------- hash
_LABEL = {INPUT: -1, OUTPUT: -2, CONV3X3: 0, CONV1X1: 1, MAXPOOL3X3: 2}


def _md5(s: str) -> str:
    return hashlib.md5(s.encode("utf-8")).hexdigest()


@lru_cache(maxsize=1 << 16)
def graph_hash(matrix: tuple[tuple[int, ...], ...], ops: tuple[str, ...]) -> str:
    """The official NB101 fingerprint (``nasbench.lib.graph_util.hash_module``)."""
    n = len(ops)
    ins = [[w for w in range(n) if matrix[w][v]] for v in range(n)]
    outs = [[w for w in range(n) if matrix[v][w]] for v in range(n)]
    hashes = [_md5(str((len(outs[v]), len(ins[v]), _LABEL[ops[v]]))) for v in range(n)]
    for _ in range(n):
        hashes = [_md5("".join(sorted([hashes[w] for w in ins[v]])) + "|"
                       + "".join(sorted([hashes[w] for w in outs[v]])) + "|" + hashes[v])
                  for v in range(n)]
    return _md5(str(sorted(hashes)))


# ------------------------------------------------------------------ network
def compute_vertex_channels(input_channels: int, output_channels: int,
                            matrix: Sequence[Sequence[int]]) -> list[int]:
    """Output channels of each vertex (official ``compute_vertex_channels``)."""
    n = len(matrix)
    vc = [0] * n
    vc[0] = input_channels
    vc[n - 1] = output_channels
    if n == 2:
        return vc
    in_degree_out = sum(matrix[v][n - 1] for v in range(1, n))
    interior = output_channels // in_degree_out
    correction = output_channels % in_degree_out
    for v in range(1, n - 1):
        if matrix[v][n - 1]:
            vc[v] = interior
            if correction:
                vc[v] += 1
                correction -= 1
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            for dst in range(v + 1, n - 1):
                if matrix[v][dst]:
                    vc[v] = max(vc[v], vc[dst])
    return vc


def _plan(arch: NB101Arch) -> tuple[tuple[tuple[int, ...], bool, str], ...]:
    """Per interior vertex: (interior sources, input feeds it, op)."""
    m, n = arch.matrix, len(arch.ops)
    return tuple((tuple(s for s in range(1, t) if m[s][t]), bool(m[0][t]), arch.ops[t])
                 for t in range(1, n - 1))


def _projection(b: GraphBuilder, x: int, c: int) -> int:
    return b.relu(b.bn(b.conv(x, c, 1, 1, 0)))


def _module(b: GraphBuilder, arch: NB101Arch, plan, vc: list[int], x: int, c_out: int) -> int:
    m, n = arch.matrix, len(arch.ops)
    tensors = [x]
    final: list[int] = []
    last = n - 1
    for t, (srcs, from_input, op) in enumerate(plan, start=1):
        c = vc[t]
        add_in = [b.slice_channels(tensors[s], c) for s in srcs]
        if from_input:
            add_in.append(_projection(b, x, c))
        y = b.add(*add_in)
        if op == CONV3X3:
            y = b.relu(b.bn(b.conv(y, c, 3, 1, 1)))
        elif op == CONV1X1:
            y = b.relu(b.bn(b.conv(y, c, 1, 1, 0)))
        else:
            y = b.maxpool(y, 3, 1, 1)
        tensors.append(y)
        if m[t][last]:
            final.append(y)
    if not final:
        return _projection(b, x, c_out)
    out = b.concat(final, 1)
    if m[0][last]:
        out = b.add(out, _projection(b, x, c_out))
    return out


def build_network(arch: NB101Arch, name: str = "") -> CompGraph:
    """The CG of the NAS-Bench-101 CIFAR-10 network of a (validated, pruned) spec."""
    plan = _plan(arch)
    b = GraphBuilder(INPUT_SHAPE, name=name)
    x = b.relu(b.bn(b.conv(b.input, STEM_CHANNELS, 3, 1, 1)))
    c_in = STEM_CHANNELS
    c = STEM_CHANNELS
    for stack in range(NUM_STACKS):
        if stack:
            x = b.maxpool(x, 2, 2, 0)
            c *= 2
        for _ in range(MODULES_PER_STACK):
            vc = compute_vertex_channels(c_in, c, arch.matrix)
            x = _module(b, arch, plan, vc, x, c)
            c_in = c
    x = b.linear(b.global_avgpool(x), NUM_CLASSES)
    return b.build(x)


# -------------------------------------------------------------------- space
_PAIRS = tuple((i, j) for i in range(MAX_VERTICES) for j in range(i + 1, MAX_VERTICES))


def _pad(arch: NB101Arch, rng: random.Random) -> tuple[list[list[int]], list[str]]:
    """The spec as a 7-vertex matrix: unconnected vertices with random ops inserted at
    random interior positions (pruning removes them again)."""
    matrix = [list(r) for r in arch.matrix]
    ops = list(arch.ops)
    while len(ops) < MAX_VERTICES:
        pos = rng.randint(1, len(ops) - 1)
        for r in matrix:
            r.insert(pos, 0)
        matrix.insert(pos, [0] * (len(ops) + 1))
        ops.insert(pos, rng.choice(OPS))
    return matrix, ops


def _valid_pruned(matrix: list[list[int]], ops: list[str]) -> NB101Arch | None:
    """The pruned spec of an upper-triangular matrix with valid ops, or None if invalid."""
    pruned = prune(matrix, ops)
    if pruned is None or len(pruned[1]) > MAX_VERTICES or sum(map(sum, pruned[0])) > MAX_EDGES:
        return None
    return NB101Arch(*pruned)
class NB101Space(SearchSpace[NB101Arch]):
    """NAS-Bench-101: DAG cells of <= 7 vertices, <= 9 edges, 3 interior ops."""

    name = "nb101"
    description = "NAS-Bench-101 cell space (CIFAR-10), 423,624 unique cells"
    size = 423624
    ops = OPS
    example = EXAMPLE

    def _parse(self, spec: Any) -> NB101Arch:
        if isinstance(spec, NB101Arch):
            return validate(spec.matrix, spec.ops)
        if isinstance(spec, dict):
            return _parse_dict(spec)
        if isinstance(spec, (tuple, list)) and len(spec) == 2:
            return validate(spec[0], spec[1])
        if isinstance(spec, str):
            if spec.startswith("{"):
                try:
                    d = json.loads(spec)
                except json.JSONDecodeError as exc:
                    raise _err(f"invalid JSON ({exc}); {_FORMAT_HINT}") from None
                if not isinstance(d, dict):
                    raise _err(f"the JSON must be an object; {_FORMAT_HINT}")
                return _parse_dict(d)
            return _parse_compact(spec)
        raise _err(f"cannot parse a {type(spec).__name__}; {_FORMAT_HINT}")

    def format(self, arch: NB101Arch) -> str:
        """JSON of the pruned spec: ``{"matrix": [[...]], "ops": [...]}``."""
        return json.dumps({"matrix": [list(r) for r in arch.matrix], "ops": list(arch.ops)})

    def compact(self, arch: NB101Arch) -> str:
        """The compact form ``ROWS;OPS`` with short op codes (parse takes it back)."""
        return (",".join("".join(map(str, r)) for r in arch.matrix) + ";"
                + ",".join(_SHORT_OF[o] for o in arch.ops))

    def key(self, arch: NB101Arch) -> str:
        """The official NB101 graph fingerprint (equal for isomorphic cells)."""
        return graph_hash(arch.matrix, arch.ops)

    def sample(self, rng: random.Random) -> NB101Arch:
        """NASLib's (and the NB101 tutorial's) sampler: a random 7-vertex upper-triangular
        0/1 matrix and random interior ops, redrawn until the pruned spec is valid.

        Uniform over valid labeled 7-vertex specs, not over unique cells: small cells that
        many specs prune to come up more often (about 10 % of draws are the bare
        input->output cell, ~30 % have at most 3 vertices, <1 % all 7)."""
        n = MAX_VERTICES
        while True:
            matrix = [[0] * n for _ in range(n)]
            for i in range(n):
                for j in range(i + 1, n):
                    matrix[i][j] = rng.getrandbits(1)
            ops = [INPUT] + [rng.choice(OPS) for _ in range(n - 2)] + [OUTPUT]
            new = _valid_pruned(matrix, ops)
            if new is not None:
                return new

    def mutate(self, arch: NB101Arch, rng: random.Random) -> NB101Arch:
        """One local change: flip one edge or change one interior op, such that the pruned
        result is valid and has a different key.

        The spec is first padded to 7 vertices with unconnected vertices (random ops) at
        random interior positions, so that a flip can also revive a pruned vertex. The single
        changes are tried in random order; when none works (e.g. the bare input->output cell,
        which needs two new edges), NASLib's mutation is used instead: flip each edge with
        probability 1/7 and change each interior op with probability 1/5, redrawn until the
        result is valid and different.
        """
        old_key = self.key(arch)
        matrix, ops = _pad(arch, rng)
        n = len(ops)
        moves: list[tuple[int, int, Any]] = [(0, i, j) for i, j in _PAIRS]
        moves += [(1, k, op) for k in range(1, n - 1) for op in OPS if op != ops[k]]
        rng.shuffle(moves)
        for kind, a, b in moves:
            m2, o2 = [list(r) for r in matrix], list(ops)
            if kind == 0:
                m2[a][b] = 1 - m2[a][b]
            else:
                o2[a] = b
            new = _valid_pruned(m2, o2)
            if new is not None and self.key(new) != old_key:
                return new
        for _ in range(100000):
            m2, o2 = [list(r) for r in matrix], list(ops)
            for i, j in _PAIRS:
                if rng.random() < 1 / n:
                    m2[i][j] = 1 - m2[i][j]
            for k in range(1, n - 1):
                if rng.random() < 1 / (n - 2):
                    o2[k] = rng.choice([o for o in OPS if o != o2[k]])
            new = _valid_pruned(m2, o2)
            if new is not None and self.key(new) != old_key:
                return new
        raise _err(f"could not mutate {self.compact(arch)} into a different valid cell")

    def to_cg(self, arch: NB101Arch) -> CompGraph:
        if not isinstance(arch, NB101Arch):
            arch = self.parse(arch)
        return build_network(arch, name="nb101:" + self.compact(arch))


register("nb101", NB101Space)
