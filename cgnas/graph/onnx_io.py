"""ONNX in and out (DESIGN.md section 1, way 3).

:func:`export_onnx` writes a module (or a CG's :meth:`~CompGraph.to_torch` module) with the
TorchScript-based exporter, in eval mode but with ``TrainingMode.PRESERVE`` so that batch
norms stay nodes of their own (the eval-mode exporter folds them into the preceding conv),
and with common-subexpression elimination switched off so that two identical operations
of the network (e.g. two poolings of one tensor) stay two nodes.

:func:`from_onnx` reads any ONNX model into a :class:`CompGraph`:

1. shape computations (``Shape``, ``Gather``, ``Concat``, ... on static shapes) and
   constants are evaluated with numpy; initializers and ``Constant`` nodes are weights or
   constants, never nodes; ONNX shape inference gives every other tensor's shape;
2. ``x * 0.5 * (1 + erf(x / sqrt 2))`` (the pre-opset-20 export of GELU) becomes ``Gelu``
   (``x * sigmoid(x)`` -> ``silu`` and ``x * hardsigmoid(x)`` -> ``hswish`` as in
   :mod:`cgnas.graph._importing`);
3. each remaining node maps onto the vocabulary the way :func:`cgnas.from_torch` maps the
   torch code it came from: ``Conv`` -> ``conv``, ``Gemm`` and ``MatMul`` by a constant
   (+ ``Add`` of a constant bias) -> ``linear``, ``MatMul`` of two tensors -> ``matmul``,
   ``BatchNormalization``, ``LayerNormalization``, activations (``Clip(0, 6)`` ->
   ``relu6``), elementwise ops (a scalar constant operand -> ``shift``/``scale``/``zero``;
   ``Mul`` by a ``[C, 1, 1]`` initializer -> a depthwise 1×1 ``conv``),
   ``Concat``, pools, ``GlobalAveragePool`` and ``ReduceMean`` over H, W ->
   ``global_avgpool``, ``Flatten``/``Reshape``/``Squeeze``/``Unsqueeze`` (no node, ``flatten``
   or ``reshape`` by shape), ``Transpose``, ``Slice`` (consecutive slices of disjoint axes
   merged) and ``Split`` -> ``slice``, ``Pad``, ``Resize``; ``Identity``/``Dropout``/``Cast``
   -> no node. Anything else raises :class:`~cgnas.errors.UnknownOperatorError`, or maps to
   ``unknown`` with ``allow_unknown=True``.

Known limits (where a file cannot tell what the torch code was): a norm's ``affine`` flag
is read from whether its scale is an initializer or an exporter-made constant of ones (with
zero bias); files written by an eval-mode exporter have batch norms folded into convs, and
files whose exporter merged duplicate operations (CSE) or fused transposes cannot be split
again; ``AdaptiveAvgPool2d(k)`` with ``k > 1`` arrives as ``AveragePool`` (the same CG only
where ``k`` is the map's own size, a pool that both importers drop); before opset 17
``LayerNormalization`` is decomposed into primitive ops (``Pow``, ``Sqrt``: unknown); input
dims other than the batch must be static.
"""

from __future__ import annotations

import math
import os
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from cgnas.errors import CgnasError, ModelImportError
from cgnas.graph._importing import (ALIAS, Assembler, channel_scale, mean_op, pad_spec, reshape_kind,
                                    scalar, scalar_operand, slice_spec, unknown_error)
from cgnas.graph.compgraph import CompGraph

__all__ = ["export_onnx", "from_onnx", "DEFAULT_OPSET"]

DEFAULT_OPSET = 20
"""Opset of :func:`export_onnx`: the newest the TorchScript exporter writes; GELU and
LayerNormalization are native ops there."""


# ====================================================================== export
@contextmanager
def _no_cse() -> Iterator[None]:
    """Switch off TorchScript CSE during export (it would merge identical operations)."""
    import torch

    original = torch._C._jit_pass_cse
    torch._C._jit_pass_cse = lambda graph: False
    try:
        yield
    finally:
        torch._C._jit_pass_cse = original


def export_onnx(module_or_cg: Any, input_shape: Sequence[int] | None, path: str | os.PathLike,
                opset: int = DEFAULT_OPSET) -> Path:
    """Write ``module_or_cg`` (an ``nn.Module`` or a :class:`CompGraph`) to ``path`` as ONNX.

    Args:
        module_or_cg: the network; a CompGraph is exported through ``cg.to_torch()``.
        input_shape: input shape with the batch dim, e.g. ``(1, 3, 32, 32)`` (a list of
            shapes for several inputs); ``None`` for a CompGraph means ``(1,) + its input
            shape``.
        path: the ``.onnx`` file, written atomically.
        opset: ONNX opset, 17 to 20 (LayerNormalization needs 17).

    Returns:
        The path written.
    """
    import torch
    from torch import nn

    from cgnas.utils import atomic_write

    if isinstance(module_or_cg, CompGraph):
        cg = module_or_cg
        if input_shape is None:
            input_shape = [(1,) + tuple(cg.shapes[i]) for i in cg.input_nodes()]
        module = cg.to_torch()
    elif isinstance(module_or_cg, nn.Module):
        module = module_or_cg
    else:
        raise CgnasError(f"export_onnx needs an nn.Module or a CompGraph, got {type(module_or_cg).__name__}")
    if input_shape is None:
        raise CgnasError("export_onnx needs input_shape for an nn.Module, e.g. (1, 3, 32, 32)")
    if not 17 <= int(opset) <= 20:
        raise CgnasError(f"opset {opset} is not supported by export_onnx (use 17 to 20)")
    shapes = ([tuple(int(d) for d in s) for s in input_shape]
              if all(isinstance(s, (list, tuple)) for s in input_shape)
              else [tuple(int(d) for d in input_shape)])
    first = next(iter(module.parameters()), None)
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    gen = torch.Generator().manual_seed(0)
    args = tuple(torch.randn(s, generator=gen, dtype=dtype) for s in shapes)
    modes = [(m, m.training) for m in module.modules()]

    def write(tmp: Path) -> None:
        try:
            module.eval()
            with _no_cse(), warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(module, args, str(tmp), opset_version=int(opset), dynamo=False,
                                  training=torch.onnx.TrainingMode.PRESERVE,
                                  do_constant_folding=True,
                                  input_names=[f"input_{i}" for i in range(len(args))])
        except Exception as exc:
            raise CgnasError(f"ONNX export of {type(module).__name__} failed: "
                             f"{type(exc).__name__}: {exc}") from exc
        finally:
            for m, mode in modes:
                m.training = mode

    return atomic_write(path, write)


# ====================================================================== import
class _Node:
    """A live ONNX node (after constant folding)."""

    __slots__ = ("op", "name", "inputs", "outputs", "attrs", "domain", "protos")

    def __init__(self, op: str, name: str, inputs: list[str], outputs: list[str],
                 attrs: dict[str, Any], domain: str = "", protos: list | None = None) -> None:
        self.op, self.name, self.inputs, self.outputs = op, name, inputs, outputs
        self.attrs, self.domain = attrs, domain
        self.protos = protos or []  # the AttributeProtos, to write the node back


def _load(model_or_path: Any):
    import onnx

    if isinstance(model_or_path, onnx.ModelProto):
        model = model_or_path
        where = "the given ModelProto"
    elif isinstance(model_or_path, (bytes, bytearray)):
        where = "the given bytes"
        try:
            model = onnx.load_from_string(bytes(model_or_path))
        except Exception as exc:
            raise ModelImportError(f"{where} are not an ONNX model: {exc}") from exc
    else:
        p = Path(model_or_path)
        where = str(p)
        if not p.is_file():
            raise ModelImportError(f"ONNX file not found: {p}")
        try:
            model = onnx.load(str(p))
        except Exception as exc:
            raise ModelImportError(f"{p} is not a readable ONNX model ({type(exc).__name__}: "
                                   f"{exc}); is it a complete .onnx file?") from exc
    if not model.graph.node and not model.graph.output:
        raise ModelImportError(f"{where} is not an ONNX model: it has no graph")
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        raise ModelImportError(f"{where} is not a valid ONNX model: "
                               f"{str(exc).strip().splitlines()[0]}") from exc
    return model


def _attrs(node) -> dict[str, Any]:
    import onnx

    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, onnx.TensorProto):
            v = onnx.numpy_helper.to_array(v)
        out[a.name] = v
    return out


def _shape_of(vi) -> tuple[int | None, ...] | None:
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim)


# ------------------------------------------------------------ constant folding
def _fold(op: str, a: dict[str, Any], xs: list[np.ndarray | None], opset: int) -> list[np.ndarray]:
    """numpy evaluation of an ONNX op on constant inputs (shape arithmetic and friends)."""
    x = xs[0] if xs else None
    if op == "Identity":
        return [x]
    if op == "Constant":
        for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
            if key in a:
                return [np.asarray(a[key])]
        raise KeyError(op)
    if op == "Cast":
        import onnx
        return [x.astype(onnx.helper.tensor_dtype_to_np_dtype(a["to"]))]
    if op == "Gather":
        return [np.take(x, xs[1].astype(np.int64), axis=a.get("axis", 0))]
    if op == "Unsqueeze":
        axes = a["axes"] if "axes" in a else xs[1].tolist()
        r = len(x.shape) + len(axes)
        out = x
        for ax in sorted(int(v) % r for v in axes):
            out = np.expand_dims(out, ax)
        return [out]
    if op == "Squeeze":
        axes = a.get("axes") if "axes" in a else (xs[1].tolist() if len(xs) > 1 and xs[1] is not None else None)
        return [np.squeeze(x, axis=tuple(int(v) for v in axes) if axes is not None else None)]
    if op == "Concat":
        return [np.concatenate([np.atleast_1d(v) for v in xs], axis=a["axis"])]
    if op == "Reshape":
        shape = [int(s) for s in xs[1]]
        if not a.get("allowzero", 0):
            shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
        return [x.reshape(shape)]
    if op == "Flatten":
        axis = a.get("axis", 1) % max(x.ndim, 1)
        return [x.reshape(int(np.prod(x.shape[:axis])), -1)]
    if op == "Slice":
        if len(xs) > 1:
            starts, ends = xs[1].tolist(), xs[2].tolist()
            axes = xs[3].tolist() if len(xs) > 3 and xs[3] is not None else list(range(len(starts)))
            steps = xs[4].tolist() if len(xs) > 4 and xs[4] is not None else [1] * len(starts)
        else:
            starts, ends = a["starts"], a["ends"]
            axes, steps = a.get("axes", list(range(len(starts)))), [1] * len(starts)
        out = x
        for s, e, ax, st in zip(starts, ends, axes, steps):
            ax = int(ax) % x.ndim
            keep = list(range(*slice(int(s), int(e), int(st)).indices(x.shape[ax])))
            out = np.take(out, np.asarray(keep, dtype=np.int64), axis=ax)
        return [out]
    if op == "Transpose":
        return [np.transpose(x, a.get("perm"))]
    if op == "ConstantOfShape":
        value = a.get("value", np.zeros(1, dtype=np.float32))
        return [np.full(tuple(int(s) for s in x), value.reshape(-1)[0], dtype=value.dtype)]
    if op == "Range":
        return [np.arange(xs[0], xs[1], xs[2]).astype(xs[0].dtype)]
    if op == "Expand":
        return [x * np.ones(tuple(int(s) for s in xs[1]), dtype=x.dtype)]
    if op == "Where":
        return [np.where(xs[0], xs[1], xs[2])]
    if op in ("Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less", "Greater", "Max", "Min",
              "Mod", "And", "Or"):
        b = xs[1]
        if op == "Div" and np.issubdtype(x.dtype, np.integer):
            return [np.trunc(x / b).astype(x.dtype)]
        fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide,
              "Pow": np.power, "Equal": np.equal, "Less": np.less, "Greater": np.greater,
              "Max": np.maximum, "Min": np.minimum, "Mod": np.mod, "And": np.logical_and,
              "Or": np.logical_or}[op]
        if op in ("Max", "Min") and len(xs) > 2:
            out = xs[0]
            for v in xs[1:]:
                out = fn(out, v)
            return [np.asarray(out)]
        return [np.asarray(fn(x, b)).astype(x.dtype) if op not in ("Equal", "Less", "Greater", "And", "Or")
                else np.asarray(fn(x, b))]
    unary = {"Neg": np.negative, "Sqrt": np.sqrt, "Floor": np.floor, "Ceil": np.ceil,
             "Abs": np.abs, "Not": np.logical_not, "Reciprocal": np.reciprocal, "Exp": np.exp,
             "Log": np.log}
    if op in unary:
        return [np.asarray(unary[op](x)).astype(x.dtype) if op != "Not" else unary[op](x)]
    if op == "ReduceProd":
        axes = a.get("axes") if "axes" in a else (xs[1].tolist() if len(xs) > 1 and xs[1] is not None else None)
        return [np.asarray(np.prod(x, axis=tuple(axes) if axes is not None else None,
                                   keepdims=bool(a.get("keepdims", 1))))]
    if op == "Size":
        return [np.asarray(x.size, dtype=np.int64)]
    if op == "Shape":
        shape = np.asarray(x.shape, dtype=np.int64)
        return [shape[a.get("start", 0):a["end"] if "end" in a else None]]
    raise KeyError(op)


_FOLDABLE = {"Identity", "Constant", "Cast", "Gather", "Unsqueeze", "Squeeze", "Concat", "Reshape",
             "Flatten", "Slice", "Transpose", "ConstantOfShape", "Range", "Expand", "Where", "Add",
             "Sub", "Mul", "Div", "Pow", "Equal", "Less", "Greater", "Max", "Min", "Mod", "And",
             "Or", "Neg", "Sqrt", "Floor", "Ceil", "Abs", "Not", "Reciprocal", "Exp", "Log",
             "ReduceProd", "Size", "Shape"}


class _Graph:
    """An ONNX graph after folding: live nodes, constants, static shapes."""

    def __init__(self, model) -> None:
        from onnx import numpy_helper

        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
        graph = model.graph
        self.consts: dict[str, np.ndarray] = {}
        self.params: set[str] = set()
        for init in graph.initializer:
            self.consts[init.name] = numpy_helper.to_array(init)
            self.params.add(init.name)
        self.inputs: list[tuple[str, tuple[int, ...]]] = []
        model = self._static_inputs(model)
        nodes = [_Node(n.op_type, n.name or f"{n.op_type}_{i}", list(n.input), list(n.output),
                       _attrs(n), n.domain, list(n.attribute))
                 for i, n in enumerate(model.graph.node)]
        self.outputs = [o.name for o in graph.output]
        self.shapes: dict[str, tuple[int | None, ...]] = {}
        base = model
        for _ in range(8):
            self._infer(base)
            nodes, changed = self._fold_pass(nodes)
            if not changed:
                break
            base = self._rebuild(model, nodes)
        self.nodes = nodes

    def _static_inputs(self, model):
        import onnx

        model = onnx.ModelProto.FromString(model.SerializeToString())  # never touch the caller's
        for vi in model.graph.input:
            if vi.name in self.consts:
                continue
            dims = vi.type.tensor_type.shape.dim
            shape = []
            for k, d in enumerate(dims):
                if d.HasField("dim_value") and d.dim_value > 0:
                    shape.append(d.dim_value)
                elif k == 0:
                    d.Clear()
                    d.dim_value = 1
                    shape.append(1)
                else:
                    raise ModelImportError(
                        f"ONNX input {vi.name!r} has a dynamic dim {k} ({d.dim_param or '?'}); "
                        f"export the model with a fixed input shape (only the batch dim may vary)")
            self.inputs.append((vi.name, tuple(shape)))
        return model

    def _rebuild(self, model, nodes: list[_Node]):
        from onnx import helper, numpy_helper

        used = {i for n in nodes for i in n.inputs if i in self.consts}
        used.update(o for o in self.outputs if o in self.consts)
        inits = [numpy_helper.from_array(np.asarray(self.consts[name]), name) for name in sorted(used)]
        protos = []
        for n in nodes:
            p = helper.make_node(n.op, n.inputs, n.outputs, name=n.name, domain=n.domain or None)
            p.attribute.extend(n.protos)
            protos.append(p)
        g = helper.make_graph(protos, model.graph.name or "g",
                              [vi for vi in model.graph.input if vi.name not in self.consts],
                              list(model.graph.output), initializer=inits)
        m = helper.make_model(g, opset_imports=list(model.opset_import))
        m.ir_version = model.ir_version
        return m

    def _infer(self, model) -> None:
        from onnx import shape_inference

        try:
            inferred = shape_inference.infer_shapes(model, data_prop=True)
        except Exception as exc:
            raise ModelImportError(f"ONNX shape inference failed: {exc}") from exc
        g = inferred.graph
        for vi in list(g.value_info) + list(g.input) + list(g.output):
            shape = _shape_of(vi)
            if shape is not None and (vi.name not in self.shapes or None not in shape):
                self.shapes[vi.name] = shape

    def _fold_pass(self, nodes: list[_Node]) -> tuple[list[_Node], bool]:
        live, changed = [], False
        for n in nodes:
            ins = [i for i in n.inputs]
            if n.op == "Constant":
                self.consts[n.outputs[0]] = _fold("Constant", n.attrs, [], self.opset)[0]
                changed = True
                continue
            if n.domain in ("", "ai.onnx") and n.op in _FOLDABLE:
                if n.op == "Shape":
                    shape = self.shapes.get(ins[0])
                    if ins[0] in self.consts:
                        shape = self.consts[ins[0]].shape
                    if shape is not None and None not in shape:
                        arr = np.asarray(shape, dtype=np.int64)
                        end = n.attrs.get("end")
                        self.consts[n.outputs[0]] = arr[n.attrs.get("start", 0):end]
                        changed = True
                        continue
                elif all(i == "" or i in self.consts for i in ins) and ins:
                    try:
                        values = _fold(n.op, n.attrs, [self.consts[i] if i else None for i in ins],
                                       self.opset)
                    except Exception:
                        values = None
                    if values is not None:
                        for name, v in zip(n.outputs, values):
                            self.consts[name] = np.asarray(v)
                        if any(i in self.params for i in ins):
                            self.params.update(n.outputs)
                        changed = True
                        continue
            live.append(n)
        return live, changed


def _erf_gelu(nodes: list[_Node], g: _Graph) -> list[_Node]:
    """Rewrite ``x * 0.5 * (1 + erf(x / sqrt(2)))`` into one ``Gelu`` node."""
    producer = {o: n for n in nodes for o in n.outputs}
    users: dict[str, list[_Node]] = {}
    for n in nodes:
        for i in n.inputs:
            users.setdefault(i, []).append(n)
    outputs = set(g.outputs)

    def only_user(name: str) -> _Node | None:
        us = users.get(name, [])
        return us[0] if len(us) == 1 and name not in outputs else None

    def const(name: str) -> float | None:
        v = g.consts.get(name)
        return float(v.reshape(-1)[0]) if v is not None and v.size == 1 else None

    def other(n: _Node, name: str) -> str | None:
        if len(n.inputs) != 2 or name not in n.inputs:
            return None
        return n.inputs[1] if n.inputs[0] == name else n.inputs[0]

    drop: set[int] = set()
    replace: dict[int, _Node] = {}
    for erf in nodes:
        if erf.op != "Erf":
            continue
        scale_node = producer.get(erf.inputs[0])
        if scale_node is None or only_user(scale_node.outputs[0]) is not erf:
            continue
        x = None
        if scale_node.op == "Div" and const(scale_node.inputs[1]) is not None and \
                abs(const(scale_node.inputs[1]) - math.sqrt(2)) < 1e-3:
            x = scale_node.inputs[0]
        elif scale_node.op == "Mul":
            for a, b in (scale_node.inputs, scale_node.inputs[::-1]):
                if const(b) is not None and abs(const(b) - 1 / math.sqrt(2)) < 1e-3:
                    x = a
        if x is None:
            continue
        add = only_user(erf.outputs[0])
        if add is None or add.op != "Add" or const(other(add, erf.outputs[0]) or "") != 1.0:
            continue
        m1 = only_user(add.outputs[0])
        if m1 is None or m1.op != "Mul":
            continue
        o = other(m1, add.outputs[0])
        chain = [scale_node, erf, add, m1]
        if o == x:  # (x * (1 + erf)) * 0.5
            m2 = only_user(m1.outputs[0])
            if m2 is None or m2.op != "Mul" or const(other(m2, m1.outputs[0]) or "") != 0.5:
                continue
            chain.append(m2)
            out = m2.outputs[0]
        else:  # (x * 0.5) * (1 + erf)
            half = producer.get(o or "")
            if half is None or half.op != "Mul" or only_user(half.outputs[0]) is not m1 or \
                    x not in half.inputs or const(other(half, x) or "") != 0.5:
                continue
            chain.append(half)
            out = m1.outputs[0]
        final = producer[out]
        drop.update(id(n) for n in chain)
        replace[id(final)] = _Node("Gelu", f"{erf.name}/gelu", [x], [out], {})
    if not drop:
        return nodes
    result = []
    for n in nodes:
        if id(n) in replace:
            result.append(replace[id(n)])
        elif id(n) not in drop:
            result.append(n)
    return result  # a Gelu sits where its last node was, after x: still topological


class _OnnxConverter:
    def __init__(self, g: _Graph, allow_unknown: bool, name: str) -> None:
        self.g = g
        self.allow_unknown = allow_unknown
        self.asm = Assembler(name)
        self.val: dict[str, int] = {}
        self.users: dict[str, int] = {}
        for n in g.nodes:
            for i in n.inputs:
                self.users[i] = self.users.get(i, 0) + 1
        for o in g.outputs:
            self.users[o] = self.users.get(o, 0) + 1
        self.skip: set[int] = set()

    # ---------------------------------------------------------- helpers
    def full(self, name: str, node: _Node | None = None) -> tuple[int, ...]:
        shape = self.g.shapes.get(name)
        if shape is None or None in shape:
            where = f" (output of {node.op} node {node.name!r})" if node is not None else ""
            raise ModelImportError(f"ONNX shape inference could not determine the shape of "
                                   f"tensor {name!r}{where}; export the model with static shapes")
        return tuple(int(s) for s in shape)

    def is_act(self, name: str) -> bool:
        return name in self.val

    def const(self, name: str) -> np.ndarray | None:
        return self.g.consts.get(name) if name else None

    def emit(self, n: _Node, op: str, inputs: Sequence[int | None],
             attrs: dict[str, Any] | None = None, out: str | None = None) -> int | None:
        if any(i is None for i in inputs):  # an operand that is not an activation
            return self.unknown(n, hint=" with an operand that is not an activation")
        out = out or n.outputs[0]
        i = self.asm.add(op, inputs, self.full(out, n)[1:], attrs)
        self.val[out] = i
        return i

    def alias(self, n: _Node, src: str) -> None:
        self.val[n.outputs[0]] = self.val[src]

    def unknown(self, n: _Node, target: str | None = None, hint: str = "") -> None:
        target = target or (f"{n.domain}.{n.op}" if n.domain not in ("", "ai.onnx") else n.op)
        if not self.allow_unknown:
            raise unknown_error("ONNX operator", target, n.name, hint)
        ins = []
        for i in n.inputs:
            if i in self.val and self.val[i] not in ins:
                ins.append(self.val[i])
        outs = [o for o in n.outputs if o and (self.users.get(o) or o in self.g.outputs)]
        for k, o in enumerate(outs):
            t = target if len(n.outputs) == 1 else f"{target}[{n.outputs.index(o)}]"
            self.emit(n, "unknown", ins, {"target": t}, out=o)

    # ---------------------------------------------------------- main
    def run(self) -> CompGraph:
        g = self.g
        for name, shape in g.inputs:
            self.val[name] = self.asm.add("input", (), shape[1:])
            g.shapes[name] = shape
        for k, n in enumerate(g.nodes):
            if k in self.skip:
                continue
            acts = [i for i in n.inputs if i in self.val]
            if not acts:  # a node on constants that could not be folded
                if n.op in _FOLDABLE or n.op == "Constant":
                    raise ModelImportError(f"ONNX node {n.name!r} ({n.op}) computes a constant that "
                                           f"could not be evaluated")
                self.unknown(n)
                continue
            try:
                self.convert(k, n)
            except CgnasError:
                raise
            except (TypeError, ValueError, IndexError, KeyError, AttributeError):
                self.unknown(n, hint=" with these inputs or attributes")
        for o in g.outputs:
            if o in self.val:
                i = self.val[o]
                self.asm.add("output", (i,), self.asm.shapes[i])
        return self.asm.finish()

    def affine(self, names: Sequence[str]) -> bool:
        """A norm's scale/bias are learned when they are initializers (parameters); the
        exporter writes ``affine=False`` as ``Constant`` ones and zeros."""
        if names and names[0] in self.g.params:
            return True
        scale = self.const(names[0]) if names else None
        bias = self.const(names[1]) if len(names) > 1 else None
        trivial = (scale is None or bool(np.all(scale == 1))) and (bias is None or bool(np.all(bias == 0)))
        return not trivial

    def attr_pair(self, n: _Node, key: str, default: int) -> tuple[int, int]:
        v = n.attrs.get(key)
        if v is None:
            return default, default
        v = [int(t) for t in v]
        return (v[0], v[1]) if len(v) >= 2 else (v[0], v[0])

    def pads2d(self, n: _Node) -> tuple[int, int] | None:
        """Symmetric 2-D ``pads`` -> (ph, pw); ``None`` when asymmetric or auto_pad."""
        auto = n.attrs.get("auto_pad", "NOTSET")
        if auto == "VALID":
            return 0, 0
        if auto not in ("NOTSET", ""):
            return None
        pads = [int(p) for p in n.attrs.get("pads", [0, 0, 0, 0])]
        if len(pads) != 4 or pads[0] != pads[2] or pads[1] != pads[3]:
            return None
        return pads[0], pads[1]

    def convert(self, k: int, n: _Node) -> None:  # noqa: C901 - one mapping table
        op, ins, a = n.op, n.inputs, n.attrs
        if n.domain not in ("", "ai.onnx"):
            return self.unknown(n)
        x = ins[0] if ins else ""
        xi = self.val.get(x)
        if op in ("Identity", "Dropout", "Cast"):
            if xi is None:
                return self.unknown(n)
            return self.alias(n, x)
        if op in ("Relu", "Sigmoid", "Tanh", "HardSwish", "Gelu"):
            cg_op = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "HardSwish": "hswish",
                     "Gelu": "gelu"}[op]
            return self.emit(n, cg_op, (xi,))
        if op == "HardSigmoid":
            if abs(a.get("alpha", 0.2) - 1 / 6) < 1e-6 and abs(a.get("beta", 0.5) - 0.5) < 1e-6:
                return self.emit(n, "hsigmoid", (xi,))
            return self.unknown(n, "HardSigmoid(alpha != 1/6)")
        if op == "Clip":
            lo = self.const(ins[1]) if len(ins) > 1 else a.get("min")
            hi = self.const(ins[2]) if len(ins) > 2 else a.get("max")
            lo = None if lo is None else float(np.asarray(lo).reshape(-1)[0])
            hi = None if hi is None else float(np.asarray(hi).reshape(-1)[0])
            if lo == 0.0 and hi == 6.0:
                return self.emit(n, "relu6", (xi,))
            if lo == 0.0 and (hi is None or math.isinf(hi)):
                return self.emit(n, "relu", (xi,))
            return self.unknown(n, f"Clip({lo}, {hi})")
        if op == "Softmax":
            rank = len(self.full(x))
            axis = int(a.get("axis", -1 if self.g.opset >= 13 else 1))
            return self.emit(n, "softmax", (xi,), {"axis": axis % rank - rank})
        if op == "Conv":
            w = self.const(ins[1]) if len(ins) > 1 else None
            pads = self.pads2d(n)
            if w is None or w.ndim != 4 or pads is None:
                return self.unknown(n, "Conv" if w is None or w.ndim == 4 else f"Conv{w.ndim - 2}d",
                                    hint=" (only 2-D convs with constant weights and symmetric pads)")
            kernel = tuple(int(s) for s in a.get("kernel_shape", w.shape[2:]))
            return self.emit(n, "conv", (xi,), {
                "kernel": kernel, "stride": self.attr_pair(n, "strides", 1), "padding": pads,
                "dilation": self.attr_pair(n, "dilations", 1), "groups": int(a.get("group", 1)),
                "bias": len(ins) > 2 and ins[2] != ""})
        if op == "BatchNormalization":
            return self.emit(n, "batchnorm", (xi,), {"affine": self.affine(ins[1:3])})
        if op == "LayerNormalization":
            full = self.full(x)
            axis = int(a.get("axis", -1)) % len(full)
            return self.emit(n, "layernorm", (xi,), {"normalized_shape": full[axis:],
                                                     "affine": self.affine(ins[1:3])})
        if op == "Gemm":
            w = self.const(ins[1])
            if xi is None or w is None or a.get("transA", 0):
                return self.unknown(n, "Gemm with a non-constant weight")
            return self.emit(n, "linear", (xi,), {"bias": len(ins) > 2 and ins[2] != ""})
        if op == "MatMul":
            a_i, b_i = self.val.get(ins[0]), self.val.get(ins[1])
            if a_i is not None and b_i is not None:
                return self.emit(n, "matmul", (a_i, b_i))
            w = self.const(ins[1])
            if a_i is None or w is None or w.ndim != 2:
                return self.unknown(n, "MatMul with a constant first operand")
            return self.linear_from_matmul(k, n, a_i, w)
        if op in ("Add", "Mul", "Sub", "Div"):
            return self.binary(n)
        if op == "Neg":
            return self.emit(n, "scale", (xi,), {"value": -1.0})
        if op == "Concat":
            idx = [self.val.get(i) for i in ins]
            if any(i is None for i in idx):
                return self.unknown(n, "Concat with a constant tensor")
            if len(idx) == 1:
                return self.alias(n, x)
            rank = len(self.full(n.outputs[0], n))
            return self.emit(n, "concat", idx, {"axis": int(a["axis"]) % rank})
        if op in ("MaxPool", "AveragePool"):
            pads = self.pads2d(n)
            kernel = tuple(int(s) for s in a["kernel_shape"])
            if pads is None or len(kernel) != 2:
                return self.unknown(n, f"{op} with asymmetric pads or not 2-D")
            if op == "MaxPool" and (self.attr_pair(n, "dilations", 1) != (1, 1)
                                    or (len(n.outputs) > 1 and self.users.get(n.outputs[1]))):
                return self.unknown(n, "MaxPool with dilation or indices")
            attrs: dict[str, Any] = {"kernel": kernel, "stride": self.attr_pair(n, "strides", 1),
                                     "padding": pads}
            if a.get("ceil_mode", 0):
                attrs["ceil_mode"] = True
            if op == "AveragePool":
                attrs["count_include_pad"] = bool(a.get("count_include_pad", 0))
            return self.emit(n, "maxpool" if op == "MaxPool" else "avgpool", (xi,), attrs)
        if op == "GlobalAveragePool":
            return self.emit(n, "global_avgpool", (xi,), {"keepdim": True})
        if op == "ReduceMean":
            if "axes" in a:
                axes = a["axes"]
            elif len(ins) > 1 and ins[1]:
                axes = self.const(ins[1])
                if axes is None:
                    return self.unknown(n, "ReduceMean with computed axes")
                axes = axes.tolist()
            else:
                axes = None
            if axes is not None and len(axes) == 0:
                axes = None if not a.get("noop_with_empty_axes", 0) else []
                if axes == []:
                    return self.alias(n, x)
            cg_op, attrs = mean_op(axes, len(self.full(x)), bool(a.get("keepdims", 1)))
            return self.emit(n, cg_op, (xi,), attrs)
        if op in ("Flatten", "Reshape", "Squeeze", "Unsqueeze"):
            if xi is None:
                return self.unknown(n)
            kind = reshape_kind(self.full(x), self.full(n.outputs[0], n))
            if kind == "elide":
                return self.alias(n, x)
            return self.emit(n, kind, (xi,), {"start_dim": 1} if kind == "flatten" else {})
        if op == "Transpose":
            rank = len(self.full(x))
            perm = tuple(int(p) for p in a.get("perm", range(rank - 1, -1, -1)))
            if perm == tuple(range(rank)):
                return self.alias(n, x)
            return self.emit(n, "transpose", (xi,), {"perm": perm})
        if op == "Slice":
            return self.slice(n)
        if op == "Split":
            return self.split(n)
        if op == "Pad":
            return self.pad(n)
        if op == "Resize":
            mode = {"nearest": "nearest", "linear": "bilinear", "cubic": "bicubic"}.get(
                a.get("mode", "nearest"), a.get("mode"))
            return self.emit(n, "upsample", (xi,), {"mode": mode})
        return self.unknown(n)

    def linear_from_matmul(self, k: int, n: _Node, a_i: int, w: np.ndarray) -> None:
        out = n.outputs[0]
        bias = False
        target = out
        if self.users.get(out) == 1 and out not in self.g.outputs:
            for j in range(k + 1, len(self.g.nodes)):
                m = self.g.nodes[j]
                if out in m.inputs:
                    if m.op == "Add" and len(m.inputs) == 2:
                        other = m.inputs[1] if m.inputs[0] == out else m.inputs[0]
                        b = self.const(other)
                        if b is not None and b.ndim == 1 and b.shape[0] == w.shape[1]:
                            bias, target = True, m.outputs[0]
                            self.skip.add(j)
                    break
        self.emit(n, "linear", (a_i,), {"bias": bias}, out=target)

    def binary(self, n: _Node) -> None:
        op = {"Add": "add", "Mul": "mul", "Sub": "sub", "Div": "div"}[n.op]
        a, b = n.inputs[0], n.inputs[1]
        ai, bi = self.val.get(a), self.val.get(b)
        if ai is not None and bi is not None:
            return self.emit(n, op, (ai, bi))
        tensor, cname, const_first = (ai, b, False) if ai is not None else (bi, a, True)
        c = self.const(cname)
        if op == "mul" and tensor is not None and c is not None and cname in self.g.params:
            attrs = channel_scale(c.shape, self.full(a if ai is not None else b))
            if attrs is not None:
                return self.emit(n, "conv", (tensor,), attrs)
        if c is None or c.size != 1:
            what = "a parameter" if cname in self.g.params else "a constant tensor"
            return self.unknown(n, f"{n.op} with {what} operand")
        value = float(c.reshape(-1)[0])
        rule = scalar_operand(op, value, const_first)
        if rule == ALIAS:
            return self.alias(n, a if ai is not None else b)
        if rule is not None:
            return self.emit(n, rule[0], (tensor,), rule[1])
        return self.unknown(n, f"{n.op} with the constant first")

    def slice(self, n: _Node) -> None:
        ins, a = n.inputs, n.attrs
        x = ins[0]
        full = self.full(x)
        if len(ins) > 1:
            vals = [self.const(i) if i else None for i in ins[1:5]]
            if any(v is None for v, i in zip(vals, ins[1:5]) if i):
                return self.unknown(n, "Slice with computed bounds")
            starts, ends = vals[0].tolist(), vals[1].tolist()
            axes = vals[2].tolist() if len(vals) > 2 and vals[2] is not None else list(range(len(starts)))
            steps = vals[3].tolist() if len(vals) > 3 and vals[3] is not None else [1] * len(starts)
        else:
            starts, ends = a["starts"], a["ends"]
            axes = a.get("axes", list(range(len(starts))))
            steps = [1] * len(starts)
        spec = slice_spec(zip(axes, starts, ends, steps), full)
        if spec is None:
            return self.unknown(n, "Slice with a step < 1")
        if not spec:
            return self.alias(n, x)
        src = self.val[x]
        # merge into a preceding slice of other axes that only feeds this one
        if (self.asm.ops[src] == "slice" and self.users.get(x) == 1 and x not in self.g.outputs):
            prev = self.asm.attrs[src]["slices"]
            dims = {s[0] for s in prev}
            if not dims & {s[0] for s in spec}:
                self.asm.attrs[src] = {"slices": tuple(sorted(prev + spec))}
                self.asm.shapes[src] = self.full(n.outputs[0], n)[1:]
                self.val[n.outputs[0]] = src
                return None
        self.emit(n, "slice", (src,), {"slices": spec})

    def split(self, n: _Node) -> None:
        x = n.inputs[0]
        full = self.full(x)
        axis = int(n.attrs.get("axis", 0)) % len(full)
        start = 0
        src = self.val[x]
        for o in n.outputs:
            size = self.full(o, n)[axis]
            if self.users.get(o) or o in self.g.outputs:
                spec = slice_spec([(axis, start, start + size, 1)], full)
                if spec:
                    self.emit(n, "slice", (src,), {"slices": spec}, out=o)
                else:
                    self.val[o] = src
            start += size

    def pad(self, n: _Node) -> None:
        ins, a = n.inputs, n.attrs
        if a.get("mode", "constant") != "constant":
            return self.unknown(n, f"Pad(mode={a.get('mode')!r})")
        x = ins[0]
        rank = len(self.full(x))
        pads = self.const(ins[1]) if len(ins) > 1 and ins[1] else np.asarray(a.get("pads"))
        if pads is None:
            return self.unknown(n, "Pad with computed pads")
        pads = [int(p) for p in pads.reshape(-1)]
        value = 0.0
        if len(ins) > 2 and ins[2]:
            cv = self.const(ins[2])
            if cv is None:
                return self.unknown(n, "Pad with a computed value")
            value = float(cv.reshape(-1)[0]) if cv.size else 0.0
        elif "value" in a:
            value = float(a["value"])
        axes = list(range(rank))
        if len(ins) > 3 and ins[3]:
            axes = [int(v) % rank for v in self.const(ins[3]).reshape(-1)]
        half = len(pads) // 2
        begin = dict(zip(axes, pads[:half]))
        end = dict(zip(axes, pads[half:]))
        torch_pad: list[int] = []
        for d in range(rank - 1, -1, -1):
            torch_pad += [begin.get(d, 0), end.get(d, 0)]
        spec = pad_spec(torch_pad)
        if not spec:
            return self.alias(n, x)
        self.emit(n, "pad", (self.val[x],), {"pad": spec, "value": scalar(value)})


def from_onnx(model: Any, *, allow_unknown: bool = False, name: str = "") -> CompGraph:
    """The computational graph of an ONNX model.

    Args:
        model: a path to an ``.onnx`` file, an ``onnx.ModelProto`` or its serialized bytes.
        allow_unknown: map operators outside the vocabulary to ``unknown`` nodes instead of
            raising :class:`~cgnas.errors.UnknownOperatorError`.
        name: the graph's name.

    Raises:
        ModelImportError: a missing, corrupt or invalid file, or shapes that cannot be
            inferred statically.
        UnknownOperatorError: an operator outside the vocabulary (names op type and node).
    """
    proto = _load(model)
    g = _Graph(proto)
    g.nodes = _erf_gelu(g.nodes, g)
    return _OnnxConverter(g, allow_unknown, name).run()
