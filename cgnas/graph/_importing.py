"""Pieces shared by the model importers (:mod:`~cgnas.graph.from_torch`,
:mod:`~cgnas.graph.onnx_io`), so that both write the same canonical CG:

* :class:`Assembler` collects nodes, then fuses ``x * sigmoid(x)`` into ``silu`` (and
  ``x * hardsigmoid(x)`` into ``hswish``), merges chained transposes (the ONNX exporter does),
  chained reshapes and nested concats along one axis (the exporter flattens them), drops
  pools that return their input, and drops nodes that no output depends on;
* :func:`scalar` stores constants as the shortest decimal of their float32 value;
* :func:`reshape_kind`, :func:`mean_op`, :func:`slice_spec`, :func:`pad_spec` normalize
  shape ops the same way on both paths.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from cgnas.errors import UnknownOperatorError
from cgnas.graph.compgraph import CompGraph, Shape


def scalar(value: Any) -> float:
    """Canonical float of a constant: the shortest decimal that round-trips its float32."""
    return float(str(np.float32(float(value))))


def reciprocal(value: Any) -> float:
    """Canonical ``1 / c`` for ``x / c``: ``c`` is rounded to float32 first, as ONNX stores it."""
    return scalar(1.0 / float(np.float32(float(value))))


ALIAS = "alias"


def scalar_operand(op: str, value: float, const_first: bool) -> str | tuple[str, dict[str, Any]] | None:
    """How an importer represents ``x <op> c`` (or ``c <op> x`` when ``const_first``).

    Returns :data:`ALIAS` for a no-op (``x + 0``, ``x * 1``, ``x - 0``, ``x / 1``), an
    ``(op, attrs)`` pair (``shift``, ``scale`` or ``zero``), or ``None`` when the vocabulary
    has no op for it (``c - x``, ``c / x``).
    """
    if (op == "add" and value == 0) or (op == "mul" and value == 1) or (
            not const_first and ((op == "sub" and value == 0) or (op == "div" and value == 1))):
        return ALIAS
    if op == "add":
        return "shift", {"value": scalar(value)}
    if op == "sub" and not const_first:
        return "shift", {"value": scalar(-value)}
    if op == "mul":
        return ("zero", {}) if value == 0 else ("scale", {"value": scalar(value)})
    if op == "div" and not const_first and value != 0:
        return "scale", {"value": reciprocal(value)}
    return None


def channel_scale(weight_shape: Sequence[int], x_shape: Sequence[int]) -> dict[str, Any] | None:
    """The conv attrs that ``x * w`` (or ``w * x``) is imported as when ``w`` is a learned
    per-channel scale, else None.

    For ``x`` of shape ``[N, C, H, W]`` (batch included) and a parameter ``w`` of shape
    ``[C, 1, 1]`` or ``[1, C, 1, 1]`` (ConvNeXt's layer scale), ``y_c = w_c x_c`` is a depthwise
    1×1 convolution without bias: the same function with the same ``C`` parameters, in the
    vocabulary, and rebuilt by ``to_torch()``.
    """
    w = tuple(int(s) for s in weight_shape)
    if len(x_shape) != 4 or len(w) not in (3, 4) or w[-3:] != (x_shape[1], 1, 1) or w[:-3] not in ((), (1,)):
        return None
    return {"kernel": (1, 1), "stride": (1, 1), "padding": (0, 0), "dilation": (1, 1), "groups": int(x_shape[1]),
            "bias": False}


def unknown_error(kind: str, target: str, node: str, hint: str = "") -> UnknownOperatorError:
    """The error every importer raises for an operator outside the vocabulary."""
    return UnknownOperatorError(
        f"{kind} {target!r} (node {node!r}) is not in the CG vocabulary{hint}; "
        f"pass allow_unknown=True to map it to the 'unknown' token")


_GATED = {"sigmoid": "silu", "hsigmoid": "hswish"}
"""``x * gate(x)`` written out (or exported before opset 14, for hardswish) -> one op."""


_POOLS = ("maxpool", "avgpool", "adaptive_avgpool")


def _is_identity_pool(op: str, attrs: dict[str, Any], in_shape: Sequence[int]) -> bool:
    """A pool that returns its input: a 1x1 window at stride 1 without padding, or an adaptive
    pool to the input's own size (VGG's ``AdaptiveAvgPool2d(7)`` on a 7x7 map, which an ONNX
    exporter writes as a 1x1 ``AveragePool``)."""
    if op == "adaptive_avgpool":
        return tuple(attrs["output_size"]) == tuple(in_shape[-2:])
    return (attrs["kernel"], attrs["stride"], attrs["padding"]) == ((1, 1), (1, 1), (0, 0))


class Assembler:
    """Collects CG nodes in topological order and finishes the graph canonically."""

    def __init__(self, name: str = "") -> None:
        self.ops: list[str] = []
        self.inputs: list[tuple[int, ...]] = []
        self.shapes: list[Shape] = []
        self.attrs: list[dict[str, Any]] = []
        self.name = name

    def add(self, op: str, inputs: Iterable[int], shape: Sequence[int],
            attrs: dict[str, Any] | None = None) -> int:
        self.ops.append(op)
        self.inputs.append(tuple(int(i) for i in inputs))
        self.shapes.append(tuple(int(s) for s in shape))
        self.attrs.append(attrs or {})
        return len(self.ops) - 1

    def finish(self) -> CompGraph:
        """Canonicalize (fuse ``silu``/``hswish``, merge chained transposes, reshapes and
        concats, drop identity pools), drop dead nodes, renumber."""
        n = len(self.ops)
        ops, ins, attrs = self.ops, self.inputs, self.attrs
        consumers = [0] * n
        for xs in ins:
            for j in xs:
                consumers[j] += 1
        alias: dict[int, int] = {}  # node -> the node it is a no-op of
        for i in range(n):
            if ops[i] == "mul" and len(ins[i]) == 2:
                a, b = ins[i]
                for x, s in ((a, b), (b, a)):
                    if (ops[s] in _GATED and ins[s] == (x,) and consumers[s] == 1
                            and self.shapes[x] == self.shapes[i]):
                        ops[i], ins[i], attrs[i] = _GATED[ops[s]], (x,), {}
                        consumers[s] = 0
                        break
            elif ops[i] == "transpose":
                j = ins[i][0]
                if ops[j] == "transpose" and consumers[j] == 1:  # (x^P)^Q = x^(P o Q)
                    pj, pi = attrs[j]["perm"], attrs[i]["perm"]
                    perm = tuple(pj[p] for p in pi)
                    ins[i], attrs[i] = ins[j], {"perm": perm}
                    consumers[j] = 0
                    if perm == tuple(range(len(perm))):
                        alias[i] = ins[j][0]
            elif ops[i] == "concat":  # cat([a, cat([b, c])]) on one axis is cat([a, b, c])
                merged: list[int] = []
                for j in ins[i]:
                    if ops[j] == "concat" and attrs[j]["axis"] == attrs[i]["axis"] and consumers[j] == 1:
                        merged.extend(ins[j])
                        consumers[j] = 0
                    else:
                        merged.append(j)
                ins[i] = tuple(merged)
            elif ops[i] in _POOLS and _is_identity_pool(ops[i], attrs[i], self.shapes[ins[i][0]]):
                alias[i] = ins[i][0]
            elif ops[i] in ("reshape", "flatten"):
                j = ins[i][0]
                if ops[j] in ("reshape", "flatten") and consumers[j] == 1:  # one reshape
                    src = ins[j][0]
                    ins[i] = (src,)
                    consumers[j] = 0
                    kind = reshape_kind((1,) + self.shapes[src], (1,) + self.shapes[i])
                    if kind == "elide":
                        alias[i] = src
                    else:
                        ops[i], attrs[i] = kind, {"start_dim": 1} if kind == "flatten" else {}

        def resolve(j: int) -> int:
            while j in alias:
                j = alias[j]
            return j

        # dead-code elimination: keep inputs and whatever an output depends on
        live = [False] * n
        stack = [i for i, op in enumerate(ops) if op == "output"]
        while stack:
            i = resolve(stack.pop())
            if not live[i]:
                live[i] = True
                stack.extend(ins[i])
        new_index: dict[int, int] = {}
        out_ops, out_ins, out_shapes, out_attrs = [], [], [], []
        for i in range(n):
            if (live[i] or ops[i] == "input") and i not in alias:
                new_index[i] = len(out_ops)
                out_ops.append(ops[i])
                out_ins.append(tuple(new_index[resolve(j)] for j in ins[i]))
                out_shapes.append(self.shapes[i])
                out_attrs.append(attrs[i])
        return CompGraph(out_ops, out_ins, out_shapes, out_attrs, self.name).validate()


def reshape_kind(in_full: Sequence[int], out_full: Sequence[int]) -> str:
    """``'elide'`` (shape unchanged), ``'flatten'`` (``(N, C, H, W...) -> (N, C*H*W)``) or
    ``'reshape'``; shapes include the batch dim."""
    in_full, out_full = tuple(in_full), tuple(out_full)
    if in_full == out_full:
        return "elide"
    if (len(out_full) == 2 and len(in_full) > 2 and in_full[0] == out_full[0]
            and int(np.prod(in_full[1:])) == out_full[1]):
        return "flatten"
    return "reshape"


def mean_op(dims: Iterable[int] | None, ndim: int, keepdim: bool) -> tuple[str, dict[str, Any]]:
    """``global_avgpool`` for the mean over H, W of an NCHW map, else ``mean`` with positive
    torch dims (batch included)."""
    if dims is None:
        norm = tuple(range(ndim))
    else:
        norm = tuple(sorted({int(d) % ndim for d in dims}))
    if ndim == 4 and norm == (2, 3):
        return "global_avgpool", {"keepdim": bool(keepdim)}
    return "mean", {"dims": norm, "keepdim": bool(keepdim)}


def slice_spec(items: Iterable[tuple[int, int | None, int | None, int | None]],
               full_shape: Sequence[int]) -> tuple[tuple[int, int, int, int], ...] | None:
    """Normalize ``(dim, start, stop, step)`` items to the builder's form: positive dims in
    increasing order, start/stop clamped into the dim (Python slice rules), dims left whole
    dropped. ``None`` when a step is not positive (not representable)."""
    out: dict[int, tuple[int, int, int, int]] = {}
    ndim = len(full_shape)
    for dim, start, stop, step in items:
        d = int(dim) % ndim
        size = int(full_shape[d])
        step = 1 if step is None else int(step)
        if step <= 0:
            return None
        begin, end, step = slice(start, stop, step).indices(size)
        end = max(end, begin)
        if (begin, end, step) == (0, size, 1):
            continue
        if d in out:  # a second slice of an already sliced dim
            return None
        out[d] = (d, begin, end, step)
    return tuple(out[d] for d in sorted(out))


def pad_spec(pad: Sequence[int]) -> tuple[int, ...]:
    """``F.pad`` pad list (last dim first) without the trailing ``(0, 0)`` pairs."""
    pad = [int(p) for p in pad]
    while len(pad) >= 2 and pad[-1] == 0 and pad[-2] == 0:
        pad = pad[:-2]
    return tuple(pad)


def pair(value: Any) -> tuple[int, int]:
    """``3 -> (3, 3)``, ``(3, 1) -> (3, 1)``, ``[3] -> (3, 3)``."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value[0], value[0]
    return value[0], value[1]
