"""Any ``nn.Module`` -> :class:`~cgnas.graph.compgraph.CompGraph` (DESIGN.md section 1, way 2).

The module is traced in eval mode with ``torch.fx`` by a tracer whose leaf modules are the
built-in ``torch.nn`` layers (a subclass that keeps its base's ``forward`` counts as its
base); containers and user modules are traced through. One forward pass on a random input
of ``input_shape`` (batch included, no grad) records every tensor's shape; the batch dim is
then dropped. Each fx node maps onto the vocabulary of
:mod:`cgnas.graph.ops`:

* modules ``Conv2d``, ``BatchNorm1d/2d``, ``Linear``, ``LayerNorm`` and the functions
  ``F.conv2d`` / ``F.linear`` / ``F.batch_norm`` / ``F.layer_norm`` with parameter weights
  -> weighted nodes (parameters are attributes, not nodes);
* activations (modules, ``F.*``, ``torch.*``, tensor methods) -> ``relu``, ``relu6``,
  ``sigmoid``, ``tanh``, ``silu``, ``hswish``, ``hsigmoid``, ``gelu``, ``softmax``;
* ``+ * - / @`` (operators, ``torch.*``, methods) between two tensors -> ``add``, ``mul``,
  ``sub``, ``div``, ``matmul``; with a scalar: ``x * 0`` -> ``zero``, ``x * c`` and ``x / c``
  -> ``scale``, ``x + c`` and ``x - c`` -> ``shift``; ``-x`` -> ``scale`` by -1; ``x * w``
  with a learned per-channel ``w`` of shape ``[C, 1, 1]`` (ConvNeXt's layer scale) -> a
  depthwise 1×1 ``conv`` without bias (:func:`~cgnas.graph._importing.channel_scale`);
* pooling, ``torch.cat``, means over H and W (``x.mean((2, 3))``,
  ``AdaptiveAvgPool2d(1)``) -> ``global_avgpool``, other means -> ``mean``;
* ``view`` / ``reshape`` / ``flatten`` / ``squeeze`` / ``unsqueeze``: no node when the shape
  does not change, ``flatten`` (start_dim 1) when a feature map becomes a vector,
  ``reshape`` otherwise; ``transpose`` / ``permute`` -> ``transpose`` with the full
  permutation; slicing and ``chunk`` / ``split`` -> ``slice``; ``F.pad`` -> ``pad``;
  ``F.interpolate`` -> ``upsample``;
* no-ops at inference (``Identity``, ``Dropout``, ``contiguous``, ``clone``, ...) -> no node;
  so is any other function that hands back its input tensor itself, not modified in place,
  on the recording pass (torchvision's ``stochastic_depth`` in eval mode).

Anything else raises :class:`~cgnas.errors.UnknownOperatorError` naming the operator and
the fx node, or becomes an ``unknown`` node (attrs ``target``) with ``allow_unknown=True``.
Nodes that no output depends on are dropped, ``x * sigmoid(x)`` is written ``silu`` (and
``x * hardsigmoid(x)`` ``hswish``), chained transposes, chained reshapes and nested concats
become one node, pools that return their input are dropped (see
:mod:`cgnas.graph._importing`), so that ``from_torch`` and :func:`cgnas.from_onnx` of
the same network agree. Scalars are stored as float32 shortest decimals (``x * 0.1`` has
``value`` 0.1, ``x / c`` has ``1/float32(c)``), as ONNX stores them. ``from_torch(cg.to_torch(),
(1,) + cg.shapes[0]) == cg`` for builder graphs.
"""

from __future__ import annotations

import inspect
import operator
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.node import map_aggregate, map_arg

from cgnas.errors import CgnasError, ModelImportError
from cgnas.graph._importing import (ALIAS, Assembler, channel_scale, mean_op, pad_spec, pair, reshape_kind,
                                    scalar, scalar_operand, slice_spec, unknown_error)
from cgnas.graph.compgraph import CompGraph

__all__ = ["from_torch"]

_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict, nn.ParameterList, nn.ParameterDict)


class _Tracer(fx.Tracer):
    """Leaves: built-in ``torch.nn`` layers; everything else is traced through."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if isinstance(m, _CONTAINERS) or isinstance(m, fx.GraphModule):
            return False
        cls = type(m)
        if cls.__module__.startswith("torch.nn.modules"):
            return True
        # a user subclass of a mapped layer that keeps the layer's forward is that layer
        return any(isinstance(m, base) and cls.forward is base.forward for base in _MODULES)


class _TShape(tuple):
    """The shape of a tensor value (batch included), as recorded by :class:`_Recorder`."""


class _Recorder(fx.Interpreter):
    """Runs the traced graph once and records shapes (``cg_meta``) and non-tensor values."""

    current: fx.Node | None = None

    def run_node(self, n: fx.Node) -> Any:
        self.current = n
        operands = _top_level_tensors(n, *self.fetch_args_kwargs_from_env(n))
        versions = [t._version for _, t in operands]
        result = super().run_node(n)
        # an op that hands back an operand itself, not modified in place, is the identity here
        n.meta["cg_identity_of"] = next((a for (a, t), v in zip(operands, versions)
                                        if result is t and t._version == v), None)
        has_tensor = False

        def meta(obj: Any) -> Any:
            nonlocal has_tensor
            if isinstance(obj, torch.Tensor):
                has_tensor = True
                return _TShape(obj.shape)
            return obj

        n.meta["cg_meta"] = map_aggregate(result, meta)
        n.meta["cg_tensor"] = has_tensor
        if isinstance(result, torch.Tensor) and result.numel() == 1 and not result.is_complex():
            n.meta["cg_scalar"] = float(result.detach().reshape(()).item())
        return result


def _top_level_tensors(n: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[tuple[fx.Node, torch.Tensor]]:
    """``(fx node, value)`` of each tensor that ``n`` takes directly as an argument."""
    pairs = list(zip(n.args, args)) + [(n.kwargs[k], v) for k, v in kwargs.items()]
    return [(a, v) for a, v in pairs if isinstance(a, fx.Node) and isinstance(v, torch.Tensor)]


class _Const:
    """A value that does not depend on the input: a parameter, a buffer, a constant."""

    def __init__(self, value: float | None, param: str | None) -> None:
        self.value = value  # a float for one-element tensors, else None
        self.param = param  # name of the parameter it comes from, if any


class _Multi:
    """A tuple of tensors (``chunk``/``split`` or an unknown op with several outputs)."""

    def __init__(self, kind: str, src: tuple[int, ...], dim: int = 0,
                 bounds: list[tuple[int, int]] | None = None, target: str = "") -> None:
        self.kind, self.src, self.dim, self.bounds, self.target = kind, src, dim, bounds, target


_ELIDE = object()


def _display(target: Any) -> str:
    """A readable name for an fx call target."""
    if isinstance(target, str):
        return target
    try:
        from torch.fx.node import _get_qualified_name
        name = _get_qualified_name(target)
    except Exception:  # pragma: no cover - odd callables
        name = getattr(target, "__qualname__", None) or getattr(target, "__name__", repr(target))
    for old, new in (("_operator.", "operator."), ("torch._C._fft.fft_", "torch.fft."),
                     ("torch._C._nn.", "torch.nn.functional."),
                     ("torch._C._linalg.linalg_", "torch.linalg."),
                     ("torch._C._special.special_", "torch.special."),
                     ("torch._C._VariableFunctionsClass.", "torch.")):
        if name.startswith(old):
            return new + name[len(old):]
    return name


def _module_name(m: nn.Module) -> str:
    cls = type(m)
    if cls.__module__.startswith("torch.nn"):
        return f"torch.nn.{cls.__name__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def _arg(args: Sequence[Any], kwargs: dict[str, Any], pos: int, name: str, default: Any = None) -> Any:
    if pos < len(args):
        return args[pos]
    return kwargs.get(name, default)


def _conv_attrs(kernel: Any, stride: Any, padding: Any, dilation: Any, groups: int,
                bias: bool) -> dict[str, Any] | None:
    k, s, d = pair(kernel), pair(stride), pair(dilation)
    if isinstance(padding, str):
        if padding == "valid":
            p = (0, 0)
        else:  # 'same' (stride 1): symmetric only when d(k-1) is even
            totals = [d[i] * (k[i] - 1) for i in range(2)]
            if any(t % 2 for t in totals):
                return None
            p = (totals[0] // 2, totals[1] // 2)
    else:
        p = pair(padding)
    return {"kernel": k, "stride": s, "padding": p, "dilation": d, "groups": int(groups),
            "bias": bool(bias)}


def _pool_attrs(kernel: Any, stride: Any, padding: Any, ceil_mode: bool) -> dict[str, Any]:
    k = pair(kernel)
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else pair(stride)
    attrs = {"kernel": k, "stride": s, "padding": pair(padding)}
    if ceil_mode:
        attrs["ceil_mode"] = True
    return attrs


# ------------------------------------------------------------------ tables
_ACT_FN: dict[Callable, str] = {
    torch.relu: "relu", torch.relu_: "relu", F.relu: "relu", F.relu_: "relu", F.relu6: "relu6",
    torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid", torch.tanh: "tanh", F.tanh: "tanh",
    F.silu: "silu", F.hardswish: "hswish", F.hardsigmoid: "hsigmoid", F.gelu: "gelu"}
_ACT_METHOD: dict[str, str] = {
    "relu": "relu", "relu_": "relu", "sigmoid": "sigmoid", "sigmoid_": "sigmoid",
    "tanh": "tanh", "tanh_": "tanh"}
_BIN_FN: dict[Callable, str] = {
    operator.add: "add", operator.iadd: "add", torch.add: "add",
    operator.mul: "mul", operator.imul: "mul", torch.mul: "mul", torch.multiply: "mul",
    operator.sub: "sub", operator.isub: "sub", torch.sub: "sub", torch.subtract: "sub",
    operator.truediv: "div", operator.itruediv: "div", torch.div: "div", torch.divide: "div",
    torch.true_divide: "div",
    operator.matmul: "matmul", torch.matmul: "matmul", torch.bmm: "matmul", torch.mm: "matmul"}
_BIN_METHOD: dict[str, str] = {
    "add": "add", "add_": "add", "mul": "mul", "mul_": "mul", "sub": "sub", "sub_": "sub",
    "div": "div", "div_": "div", "true_divide": "div", "matmul": "matmul", "bmm": "matmul",
    "mm": "matmul"}
_RESHAPE_FN = {torch.reshape, torch.flatten, torch.squeeze, torch.unsqueeze, torch.unflatten}
_RESHAPE_METHOD = {"view", "reshape", "flatten", "squeeze", "unsqueeze", "unflatten",
                   "squeeze_", "unsqueeze_", "view_as", "reshape_as"}
_NOOP_FN = {F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout,
            F.feature_alpha_dropout, torch.clone, torch.detach}
_NOOP_METHOD = {"contiguous", "clone", "detach", "float", "to", "type_as", "requires_grad_"}
_CAT_FN = {torch.cat, torch.concat, torch.concatenate}
_MEAN_FN = {torch.mean}
_SPLIT_FN = {torch.chunk, torch.split, torch.tensor_split}


# Module classes with a mapping (used by the tracer for user subclasses).
_MODULES: tuple[type, ...] = (
    nn.Conv2d, nn.BatchNorm1d, nn.BatchNorm2d, nn.Linear, nn.LayerNorm, nn.ReLU, nn.ReLU6,
    nn.Sigmoid, nn.Tanh, nn.SiLU, nn.Hardswish, nn.Hardsigmoid, nn.GELU, nn.Softmax,
    nn.Hardtanh, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Flatten, nn.Unflatten,
    nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout,
    nn.Upsample, nn.ZeroPad2d, nn.ConstantPad2d, nn.ConstantPad1d)

_MODULE_ACTS: tuple[tuple[type, str], ...] = (
    (nn.ReLU6, "relu6"), (nn.ReLU, "relu"), (nn.Sigmoid, "sigmoid"), (nn.Tanh, "tanh"),
    (nn.SiLU, "silu"), (nn.Hardswish, "hswish"), (nn.Hardsigmoid, "hsigmoid"), (nn.GELU, "gelu"))


class _Converter:
    def __init__(self, gm: fx.GraphModule, allow_unknown: bool, name: str) -> None:
        self.gm = gm
        self.allow_unknown = allow_unknown
        self.asm = Assembler(name)
        self.vals: dict[fx.Node, Any] = {}

    # ------------------------------------------------------------- helpers
    @staticmethod
    def full(n: fx.Node) -> tuple[int, ...]:
        return tuple(n.meta["cg_meta"])

    def idx(self, a: Any) -> int | None:
        if isinstance(a, fx.Node):
            v = self.vals.get(a)
            if isinstance(v, int):
                return v
        return None

    def emit(self, n: fx.Node, op: str, inputs: Sequence[int | None],
             attrs: dict[str, Any] | None = None) -> int | None:
        if any(i is None for i in inputs):  # an operand that is not an activation
            return self.unknown(n, _display(n.target), hint=" with an operand that is not an activation")
        full = self.full(n)
        i = self.asm.add(op, inputs, full[1:], attrs)
        self.vals[n] = i
        return i

    def alias(self, n: fx.Node, src: Any) -> None:
        """``n`` is a no-op of ``src``: consumers of ``n`` read ``src``'s producer."""
        self.vals[n] = self.vals[src]

    def tensor_inputs(self, n: fx.Node) -> list[int]:
        found: list[int] = []

        def visit(a: fx.Node) -> fx.Node:
            i = self.idx(a)
            if i is not None and i not in found:
                found.append(i)
            v = self.vals.get(a)
            if isinstance(v, _Multi):
                found.extend(j for j in v.src if j not in found)
            return a

        map_arg((n.args, n.kwargs), visit)
        return found

    def unknown(self, n: fx.Node, target: str, kind: str = "operator", hint: str = "") -> None:
        src = n.meta.get("cg_identity_of")
        if self.idx(src) is not None:  # e.g. torchvision's stochastic_depth in eval mode
            return self.alias(n, src)
        if not self.allow_unknown:
            raise unknown_error(kind, target, n.name, hint)
        inputs = self.tensor_inputs(n)
        meta = n.meta["cg_meta"]
        if isinstance(meta, _TShape):
            self.emit(n, "unknown", inputs, {"target": target})
        else:
            self.vals[n] = _Multi("unknown", tuple(inputs), target=target)

    def resolve(self, n: fx.Node) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """``n``'s args with non-tensor nodes (sizes, shapes) replaced by their values."""

        def value(a: fx.Node) -> Any:
            if a.meta.get("cg_tensor") or a.op == "get_attr":
                return a
            return a.meta.get("cg_meta", a)

        return map_arg(n.args, value), map_arg(n.kwargs, value)

    def scalar_of(self, a: Any) -> float | None:
        """The value of a scalar constant operand (a number or a one-element non-parameter)."""
        if isinstance(a, bool):
            return None
        if isinstance(a, (int, float)):
            return float(a)
        if isinstance(a, fx.Node):
            v = self.vals.get(a)
            if isinstance(v, _Const) and v.param is None and v.value is not None:
                return v.value
        return None

    def same_shape(self, n: fx.Node, x: fx.Node) -> bool:
        return self.full(n) == self.full(x)

    # ------------------------------------------------------------- main loop
    def run(self) -> CompGraph:
        outputs: list[int] = []
        for n in self.gm.graph.nodes:
            if n.op == "placeholder":
                if n.meta.get("cg_tensor"):
                    self.emit(n, "input", ())
                else:
                    self.vals[n] = None
            elif n.op == "get_attr":
                self.vals[n] = self.get_attr(n)
            elif n.op == "output":
                outputs.extend(self.collect_outputs(n.args[0]))
            elif not n.meta.get("cg_tensor"):
                self.vals[n] = None  # sizes, shapes, python values: not CG nodes
            elif not self.depends_on_input(n):
                self.vals[n] = _Const(n.meta.get("cg_scalar"), self.param_source(n))
            else:
                self.convert(n)
        for i in outputs:
            self.asm.add("output", (i,), self.asm.shapes[i])
        return self.asm.finish()

    def convert(self, n: fx.Node) -> None:
        handler = {"call_module": self.call_module, "call_function": self.call_function,
                   "call_method": self.call_method}.get(n.op)
        if handler is None:  # pragma: no cover - fx has no other node kinds
            raise ModelImportError(f"unexpected fx node kind {n.op!r} ({n.name})")
        try:
            handler(n)
        except CgnasError:
            raise
        except (TypeError, ValueError, IndexError, KeyError, AttributeError):
            # a known op called in a way the mapping does not cover
            target = _module_name(self.gm.get_submodule(str(n.target))) \
                if n.op == "call_module" else _display(n.target)
            self.unknown(n, target, hint=" when called with these arguments")

    def depends_on_input(self, n: fx.Node) -> bool:
        found = False

        def visit(a: fx.Node) -> fx.Node:
            nonlocal found
            if isinstance(self.vals.get(a), (int, _Multi)):
                found = True
            return a

        map_arg((n.args, n.kwargs), visit)
        return found or n.op == "call_module" and not n.args and not n.kwargs

    def param_source(self, n: fx.Node) -> str | None:
        name = None

        def visit(a: fx.Node) -> fx.Node:
            nonlocal name
            v = self.vals.get(a)
            if isinstance(v, _Const) and v.param and name is None:
                name = v.param
            return a

        map_arg((n.args, n.kwargs), visit)
        return name

    def get_attr(self, n: fx.Node) -> _Const:
        obj: Any = self.gm
        for part in str(n.target).split("."):
            obj = getattr(obj, part)
        param = str(n.target) if isinstance(obj, nn.Parameter) else None
        value = None
        if isinstance(obj, torch.Tensor) and obj.numel() == 1 and not obj.is_complex():
            value = float(obj.detach().reshape(()).item())
        return _Const(value, param)

    def collect_outputs(self, out: Any) -> list[int]:
        found: list[int] = []

        def visit(a: fx.Node) -> fx.Node:
            v = self.vals.get(a)
            if isinstance(v, int):
                found.append(v)
            elif isinstance(v, _Multi):
                for k in range(len(a.meta["cg_meta"])):
                    found.append(self.multi_item(a, v, k, a))
            return a

        map_arg(out, visit)
        return found

    def multi_item(self, n: fx.Node, v: _Multi, k: int, src_node: fx.Node) -> int:
        """CG index of item ``k`` of a tuple value (a slice, or an unknown op's output)."""
        shape = tuple(src_node.meta["cg_meta"][k])
        if v.kind == "split":
            start, stop = v.bounds[k]
            in_full = self.asm.shapes[v.src[0]]
            spec = slice_spec([(v.dim, start, stop, 1)], (shape[0],) + tuple(in_full))
            if not spec:
                return v.src[0]
            return self.asm.add("slice", v.src, shape[1:], {"slices": spec})
        return self.asm.add("unknown", v.src, shape[1:], {"target": f"{v.target}[{k}]"})

    # ------------------------------------------------------------- modules
    def call_module(self, n: fx.Node) -> None:
        m = self.gm.get_submodule(str(n.target))
        x = n.args[0] if n.args else None
        xi = self.idx(x)
        name = _module_name(m)
        if xi is None or len([a for a in n.args if isinstance(a, fx.Node)]) != 1 or n.kwargs:
            return self.unknown(n, name, "module", " when called with these arguments")
        if isinstance(m, nn.Conv2d):
            attrs = None
            if m.padding_mode == "zeros":
                attrs = _conv_attrs(m.kernel_size, m.stride, m.padding, m.dilation, m.groups,
                                    m.bias is not None)
            if attrs is None:
                return self.unknown(n, f"{name}(padding={m.padding!r}, padding_mode={m.padding_mode!r})", "module")
            self.emit(n, "conv", (xi,), attrs)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            self.emit(n, "batchnorm", (xi,), {"affine": bool(m.affine)})
        elif isinstance(m, nn.Linear):
            self.emit(n, "linear", (xi,), {"bias": m.bias is not None})
        elif isinstance(m, nn.LayerNorm):
            self.emit(n, "layernorm", (xi,), {"normalized_shape": tuple(m.normalized_shape),
                                              "affine": bool(m.elementwise_affine)})
        elif isinstance(m, (nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d,
                            nn.AlphaDropout)):
            self.alias(n, x)
        elif isinstance(m, nn.Hardtanh) and not isinstance(m, nn.ReLU6):
            if (m.min_val, m.max_val) == (0.0, 6.0):
                self.activation(n, "relu6", x, m.inplace)
            else:
                self.unknown(n, f"{name}({m.min_val}, {m.max_val})", "module")
        elif isinstance(m, nn.Softmax):
            self.softmax(n, x, m.dim)
        elif isinstance(m, nn.MaxPool2d):
            self.maxpool(n, x, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode,
                         m.return_indices, name)
        elif isinstance(m, nn.AvgPool2d):
            self.avgpool(n, x, m.kernel_size, m.stride, m.padding, m.ceil_mode,
                         m.count_include_pad, m.divisor_override, name)
        elif isinstance(m, nn.AdaptiveAvgPool2d):
            self.adaptive_avgpool(n, x, m.output_size)
        elif isinstance(m, (nn.Flatten, nn.Unflatten)):
            self.reshape(n, x)
        elif isinstance(m, nn.Upsample):
            self.emit(n, "upsample", (xi,), {"mode": m.mode})
        elif isinstance(m, (nn.ZeroPad2d, nn.ConstantPad2d, nn.ConstantPad1d)):
            self.pad(n, x, m.padding, m.value)
        else:
            for cls, op in _MODULE_ACTS:
                if isinstance(m, cls):
                    return self.activation(n, op, x, getattr(m, "inplace", False))
            self.unknown(n, name, "module")

    # ----------------------------------------------------------- functions
    def call_function(self, n: fx.Node) -> None:
        fn = n.target
        args, kwargs = self.resolve(n)
        x = args[0] if args else None
        if fn in _ACT_FN:
            if fn is F.hardsigmoid or fn is F.hardswish or fn is F.relu6 or fn is F.relu or fn is F.silu:
                inplace = bool(_arg(args, kwargs, 1, "inplace", False))
            else:
                inplace = fn in (torch.relu_, F.relu_)
            return self.activation(n, _ACT_FN[fn], x, inplace)
        if fn is F.hardtanh:
            lo, hi = _arg(args, kwargs, 1, "min_val", -1.0), _arg(args, kwargs, 2, "max_val", 1.0)
            if (lo, hi) == (0.0, 6.0):
                return self.activation(n, "relu6", x, bool(_arg(args, kwargs, 3, "inplace", False)))
            return self.unknown(n, "torch.nn.functional.hardtanh")
        if fn in _BIN_FN:
            if fn in (torch.add, torch.sub) and _arg(args, kwargs, 2, "alpha", 1) != 1:
                return self.unknown(n, f"{_display(fn)}(alpha != 1)")
            if fn in (torch.div, torch.divide) and _arg(args, kwargs, 2, "rounding_mode") is not None:
                return self.unknown(n, f"{_display(fn)}(rounding_mode)")
            return self.binary(n, _BIN_FN[fn], args[0], args[1], _display(fn))
        if fn is operator.neg or fn is torch.neg:
            return self.emit(n, "scale", (self.idx(x),), {"value": -1.0}) if self.idx(x) is not None \
                else self.unknown(n, _display(fn))
        if fn in _NOOP_FN:
            return self.alias(n, x)
        if fn in _RESHAPE_FN:
            return self.reshape(n, x)
        if fn in (torch.transpose, torch.swapaxes, torch.swapdims):
            return self.transpose(n, x, _arg(args, kwargs, 1, "dim0"), _arg(args, kwargs, 2, "dim1"))
        if fn is torch.permute:
            return self.permute(n, x, _arg(args, kwargs, 1, "dims"))
        if fn in (F.softmax, torch.softmax):
            return self.softmax(n, x, _arg(args, kwargs, 1, "dim"))
        if fn in _MEAN_FN:
            return self.mean(n, x, _arg(args, kwargs, 1, "dim"), _arg(args, kwargs, 2, "keepdim", False))
        if fn in _CAT_FN:
            tensors = _arg(args, kwargs, 0, "tensors")
            dim = _arg(args, kwargs, 1, "dim", kwargs.get("axis", 0))
            return self.concat(n, tensors, dim)
        if fn is operator.getitem:
            return self.getitem(n, x, args[1])
        if fn in _SPLIT_FN:
            return self.split(n, x, _arg(args, kwargs, 2, "dim", 0))
        if fn is F.max_pool2d:
            return self.maxpool(n, x, _arg(args, kwargs, 1, "kernel_size"), _arg(args, kwargs, 2, "stride"),
                                _arg(args, kwargs, 3, "padding", 0), _arg(args, kwargs, 4, "dilation", 1),
                                _arg(args, kwargs, 5, "ceil_mode", False),
                                _arg(args, kwargs, 6, "return_indices", False), _display(fn))
        if fn is F.avg_pool2d:
            return self.avgpool(n, x, _arg(args, kwargs, 1, "kernel_size"), _arg(args, kwargs, 2, "stride"),
                                _arg(args, kwargs, 3, "padding", 0), _arg(args, kwargs, 4, "ceil_mode", False),
                                _arg(args, kwargs, 5, "count_include_pad", True),
                                _arg(args, kwargs, 6, "divisor_override"), _display(fn))
        if fn is F.adaptive_avg_pool2d:
            return self.adaptive_avgpool(n, x, _arg(args, kwargs, 1, "output_size"))
        if fn is F.pad:
            mode = _arg(args, kwargs, 2, "mode", "constant")
            if mode != "constant":
                return self.unknown(n, f"torch.nn.functional.pad(mode={mode!r})")
            return self.pad(n, x, _arg(args, kwargs, 1, "pad"), _arg(args, kwargs, 3, "value"))
        if fn in (F.interpolate, F.upsample):
            return self.emit(n, "upsample", (self.idx(x),), {"mode": _arg(args, kwargs, 3, "mode", "nearest")})
        if fn is F.linear:
            w, b = _arg(args, kwargs, 1, "weight"), _arg(args, kwargs, 2, "bias")
            return self.weighted(n, "linear", x, w, {"bias": b is not None})
        if fn is F.conv2d:
            w = _arg(args, kwargs, 1, "weight")
            kernel = tuple(w.meta["cg_meta"][-2:]) if isinstance(w, fx.Node) else None
            attrs = None
            if kernel is not None:
                attrs = _conv_attrs(kernel, _arg(args, kwargs, 3, "stride", 1),
                                    _arg(args, kwargs, 4, "padding", 0),
                                    _arg(args, kwargs, 5, "dilation", 1),
                                    _arg(args, kwargs, 6, "groups", 1),
                                    _arg(args, kwargs, 2, "bias") is not None)
            if attrs is None:
                return self.unknown(n, "torch.nn.functional.conv2d")
            return self.weighted(n, "conv", x, w, attrs)
        if fn is F.batch_norm:
            return self.weighted(n, "batchnorm", x, _arg(args, kwargs, 1, "running_mean"),
                                 {"affine": _arg(args, kwargs, 3, "weight") is not None}, need_param=False)
        if fn is F.layer_norm:
            shape = _arg(args, kwargs, 1, "normalized_shape")
            shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
            return self.weighted(n, "layernorm", x, None,
                                 {"normalized_shape": shape,
                                  "affine": _arg(args, kwargs, 2, "weight") is not None}, need_param=False)
        return self.unknown(n, _display(fn))

    # ------------------------------------------------------------- methods
    def call_method(self, n: fx.Node) -> None:
        name = str(n.target)
        args, kwargs = self.resolve(n)
        x = args[0]
        rest = args[1:]
        if name in _ACT_METHOD:
            return self.activation(n, _ACT_METHOD[name], x, name.endswith("_"))
        if name in _BIN_METHOD:
            if name.startswith(("add", "sub")) and kwargs.get("alpha", 1) != 1:
                return self.unknown(n, f"Tensor.{name}(alpha != 1)")
            if name.startswith("div") and kwargs.get("rounding_mode") is not None:
                return self.unknown(n, f"Tensor.{name}(rounding_mode)")
            other = rest[0] if rest else kwargs.get("other")
            self.binary(n, _BIN_METHOD[name], x, other, f"Tensor.{name}")
            if name.endswith("_") and isinstance(x, fx.Node):
                self.vals[x] = self.vals[n]
            return None
        if name == "neg":
            return self.emit(n, "scale", (self.idx(x),), {"value": -1.0})
        if name in _NOOP_METHOD:
            return self.alias(n, x) if self.same_shape(n, x) else self.unknown(n, f"Tensor.{name}")
        if name in _RESHAPE_METHOD:
            return self.reshape(n, x)
        if name in ("transpose", "swapaxes", "swapdims"):
            return self.transpose(n, x, _arg(rest, kwargs, 0, "dim0"), _arg(rest, kwargs, 1, "dim1"))
        if name == "permute":
            dims = rest[0] if len(rest) == 1 and isinstance(rest[0], (list, tuple)) else rest
            return self.permute(n, x, kwargs.get("dims", dims))
        if name == "softmax":
            return self.softmax(n, x, _arg(rest, kwargs, 0, "dim"))
        if name == "mean":
            return self.mean(n, x, _arg(rest, kwargs, 0, "dim"), _arg(rest, kwargs, 1, "keepdim", False))
        if name in ("chunk", "split", "tensor_split"):
            return self.split(n, x, _arg(rest, kwargs, 1, "dim", 0))
        return self.unknown(n, f"Tensor.{name}")

    # ------------------------------------------------------------ mappers
    def activation(self, n: fx.Node, op: str, x: Any, inplace: bool = False) -> None:
        xi = self.idx(x)
        if xi is None:
            return self.unknown(n, op)
        self.emit(n, op, (xi,))
        if inplace and isinstance(x, fx.Node):
            self.vals[x] = self.vals[n]  # later reads of x see the activated tensor

    def binary(self, n: fx.Node, op: str, a: Any, b: Any, target: str) -> None:
        ai, bi = self.idx(a), self.idx(b)
        if ai is not None and bi is not None:
            return self.emit(n, op, (ai, bi))
        if op == "matmul":
            return self.unknown(n, f"{target} with a constant operand",
                                hint=" (use nn.Linear or F.linear for a weight matrix)")
        tensor, const, const_first = (ai, b, False) if ai is not None else (bi, a, True)
        c = self.scalar_of(const)
        learned = isinstance(self.vals.get(const), _Const) and self.vals[const].param is not None
        if op == "mul" and tensor is not None and learned:
            attrs = channel_scale(const.meta["cg_meta"], self.full(a if ai is not None else b))
            if attrs is not None:
                return self.emit(n, "conv", (tensor,), attrs)
        if tensor is None or c is None:
            what = "a parameter" if learned else "a constant tensor"
            return self.unknown(n, f"{target} with {what} operand")
        rule = scalar_operand(op, c, const_first)
        if rule == ALIAS:
            return self.alias(n, a if ai is not None else b)
        if rule is not None:
            return self.emit(n, rule[0], (tensor,), rule[1])
        return self.unknown(n, f"{target} with the constant first")

    def weighted(self, n: fx.Node, op: str, x: Any, weight: Any, attrs: dict[str, Any],
                 need_param: bool = True) -> None:
        xi = self.idx(x)
        if xi is None:
            return self.unknown(n, op)
        if need_param and not (isinstance(weight, fx.Node) and isinstance(self.vals.get(weight), _Const)):
            return self.unknown(n, f"{_display(n.target)} with a computed weight",
                                hint=" (weights must be parameters)")
        self.emit(n, op, (xi,), attrs)

    def reshape(self, n: fx.Node, x: Any) -> None:
        xi = self.idx(x)
        if xi is None:
            return self.unknown(n, _display(n.target))
        kind = reshape_kind(self.full(x), self.full(n))
        if kind == "elide":
            return self.alias(n, x)
        self.emit(n, kind, (xi,), {"start_dim": 1} if kind == "flatten" else {})

    def transpose(self, n: fx.Node, x: Any, a: int, b: int) -> None:
        ndim = len(self.full(x))
        perm = list(range(ndim))
        a, b = int(a) % ndim, int(b) % ndim
        perm[a], perm[b] = perm[b], perm[a]
        self.permute(n, x, perm)

    def permute(self, n: fx.Node, x: Any, dims: Sequence[int]) -> None:
        ndim = len(self.full(x))
        perm = tuple(int(d) % ndim for d in dims)
        if perm == tuple(range(ndim)):
            return self.alias(n, x)
        self.emit(n, "transpose", (self.idx(x),), {"perm": perm})

    def softmax(self, n: fx.Node, x: Any, dim: Any) -> None:
        ndim = len(self.full(x))
        if dim is None:  # torch's legacy implicit dim
            dim = 0 if ndim in (0, 1, 3) else 1
        self.emit(n, "softmax", (self.idx(x),), {"axis": int(dim) % ndim - ndim})

    def mean(self, n: fx.Node, x: Any, dims: Any, keepdim: bool) -> None:
        if isinstance(dims, int):
            dims = (dims,)
        op, attrs = mean_op(dims, len(self.full(x)), bool(keepdim))
        self.emit(n, op, (self.idx(x),), attrs)

    def concat(self, n: fx.Node, tensors: Sequence[Any], dim: int) -> None:
        if isinstance(tensors, fx.Node) and isinstance(self.vals.get(tensors), _Multi):
            v = self.vals[tensors]  # torch.cat(x.chunk(2))
            idxs = [self.multi_item(n, v, k, tensors) for k in range(len(tensors.meta["cg_meta"]))]
        else:
            idxs = [self.idx(t) for t in tensors]
        if any(i is None for i in idxs):
            return self.unknown(n, "torch.cat with a constant tensor")
        if len(idxs) == 1:
            self.vals[n] = idxs[0]
            return None
        self.emit(n, "concat", idxs, {"axis": int(dim) % len(self.full(n))})

    def getitem(self, n: fx.Node, x: Any, index: Any) -> None:
        v = self.vals.get(x)
        if isinstance(v, _Multi):
            self.vals[n] = self.multi_item(n, v, int(index), x)
            return None
        if not isinstance(v, int):
            return self.unknown(n, "operator.getitem")
        full = self.full(x)
        items = list(index) if isinstance(index, tuple) else [index]
        if any(isinstance(i, (fx.Node, torch.Tensor, list)) for i in items):
            return self.unknown(n, "operator.getitem with a tensor index")
        if any(isinstance(i, int) and not isinstance(i, bool) for i in items):
            return self.unknown(n, "operator.getitem with an integer index")
        if Ellipsis in items:
            k = items.index(Ellipsis)
            used = sum(1 for i in items if i is not None and i is not Ellipsis)
            items = items[:k] + [slice(None)] * (len(full) - used) + items[k + 1:]
        if any(i is None for i in items):
            if all(i is None or i == slice(None) for i in items):
                return self.reshape(n, x)
            return self.unknown(n, "operator.getitem with None and a slice")
        spec = slice_spec([(d, s.start, s.stop, s.step) for d, s in enumerate(items)], full)
        if spec is None:
            return self.unknown(n, "operator.getitem with a step < 1")
        if not spec:
            return self.alias(n, x)
        self.emit(n, "slice", (v,), {"slices": spec})

    def split(self, n: fx.Node, x: Any, dim: int) -> None:
        xi = self.idx(x)
        metas = n.meta["cg_meta"]
        if xi is None or not all(isinstance(m, _TShape) for m in metas):
            return self.unknown(n, _display(n.target))
        ndim = len(self.full(x))
        d = int(dim) % ndim
        bounds, start = [], 0
        for m in metas:
            bounds.append((start, start + m[d]))
            start += m[d]
        self.vals[n] = _Multi("split", (xi,), d, bounds)

    def maxpool(self, n: fx.Node, x: Any, kernel: Any, stride: Any, padding: Any, dilation: Any,
                ceil_mode: bool, return_indices: bool, name: str) -> None:
        if pair(dilation) != (1, 1) or return_indices:
            return self.unknown(n, f"{name}(dilation/return_indices)")
        self.emit(n, "maxpool", (self.idx(x),), _pool_attrs(kernel, stride, padding, ceil_mode))

    def avgpool(self, n: fx.Node, x: Any, kernel: Any, stride: Any, padding: Any, ceil_mode: bool,
                count_include_pad: bool, divisor_override: Any, name: str) -> None:
        if divisor_override is not None:
            return self.unknown(n, f"{name}(divisor_override)")
        attrs = _pool_attrs(kernel, stride, padding, ceil_mode)
        attrs["count_include_pad"] = bool(count_include_pad)
        self.emit(n, "avgpool", (self.idx(x),), attrs)

    def adaptive_avgpool(self, n: fx.Node, x: Any, output_size: Any) -> None:
        h, w = self.full(x)[-2:]
        if isinstance(output_size, int):
            output_size = (output_size, output_size)
        out = tuple(int(o) if o is not None else s for o, s in zip(output_size, (h, w)))
        if out == (1, 1):
            return self.emit(n, "global_avgpool", (self.idx(x),), {"keepdim": True})
        self.emit(n, "adaptive_avgpool", (self.idx(x),), {"output_size": out})

    def pad(self, n: fx.Node, x: Any, pad: Sequence[int], value: Any) -> None:
        spec = pad_spec(pad)
        if not spec:
            return self.alias(n, x)
        self.emit(n, "pad", (self.idx(x),), {"pad": spec, "value": scalar(value or 0.0)})


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _input_shapes(input_shape: Any) -> list[tuple[int, ...]]:
    if input_shape and all(isinstance(s, (list, tuple)) for s in input_shape):
        return [tuple(int(d) for d in s) for s in input_shape]
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError) as exc:
        raise ModelImportError(f"input_shape must be a tuple of ints such as (1, 3, 32, 32), "
                               f"got {input_shape!r}") from exc
    if not shape or any(d < 1 for d in shape):
        raise ModelImportError(f"input_shape {shape} is not a valid shape (batch dim included, "
                               f"e.g. (1, 3, 32, 32))")
    return [shape]


def _concrete_args(module: nn.Module, n_inputs: int) -> dict[str, Any] | None:
    """Fix ``forward``'s extra parameters with default values (``mask=None``...)."""
    try:
        params = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        return None
    concrete: dict[str, Any] = {}
    for p in params[n_inputs:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is inspect.Parameter.empty:
            raise ModelImportError(
                f"{type(module).__name__}.forward takes more inputs than input_shape gives "
                f"({n_inputs}); parameter {p.name!r} has no default")
        concrete[p.name] = p.default
    return concrete or None


def _trace(module: nn.Module, n_inputs: int) -> fx.GraphModule:
    """``module`` (with ``n_inputs`` tensor inputs) traced by :class:`_Tracer`, or a
    :class:`ModelImportError` saying why not."""
    cls_name = type(module).__name__
    tracer = _Tracer()
    try:
        graph = tracer.trace(module, concrete_args=_concrete_args(module, n_inputs))
        return fx.GraphModule(tracer.root, graph, class_name=cls_name)
    except CgnasError:
        raise
    except Exception as exc:
        raise ModelImportError(
            f"torch.fx could not trace {cls_name}: {type(exc).__name__}: {_first_line(exc)}. "
            f"Symbolic tracing needs a forward whose structure does not depend on tensor "
            f"values (no `if x.sum() > 0:` or loops over tensor data); move such code into a "
            f"small nn.Module of its own, or export the model to ONNX and use cgnas.from_onnx"
        ) from exc


def _record(module: nn.Module, gm: fx.GraphModule, shapes: list[tuple[int, ...]]) -> None:
    """Runs ``gm`` once without grad on seeded random inputs of ``shapes``, recording every
    node's shape (:class:`_Recorder`)."""
    first = next(iter(module.parameters()), None)
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    device = first.device if first is not None else torch.device("cpu")
    gen = torch.Generator().manual_seed(0)
    inputs = [torch.randn(s, generator=gen, dtype=dtype).to(device) for s in shapes]
    recorder = _Recorder(gm)
    try:
        with torch.no_grad():
            recorder.run(*inputs)
    except Exception as exc:
        node = recorder.current
        where = f" at node {node.name!r} ({_display(node.target)})" if node is not None else ""
        raise ModelImportError(
            f"the forward pass of {type(module).__name__} on input shape "
            f"{tuple(shapes[0]) if len(shapes) == 1 else shapes} failed{where}: {type(exc).__name__}: "
            f"{_first_line(exc)}. Check that input_shape (batch dim included) is what the model expects") from exc


def from_torch(module: nn.Module, input_shape: Sequence[int] | Sequence[Sequence[int]], *,
               allow_unknown: bool = False, name: str = "") -> CompGraph:
    """The computational graph of ``module`` on inputs of ``input_shape``.

    Args:
        module: any ``nn.Module`` whose forward torch.fx can trace.
        input_shape: shape of the input with the batch dim, e.g. ``(1, 3, 32, 32)``; a list of
            shapes for a module with several tensor inputs.
        allow_unknown: map operators outside the vocabulary to ``unknown`` nodes instead of
            raising :class:`~cgnas.errors.UnknownOperatorError`.
        name: the graph's name.

    Raises:
        UnknownOperatorError: an operator outside the vocabulary (names the op and node).
        ModelImportError: tracing or the forward pass fails.
    """
    if not isinstance(module, nn.Module):
        raise ModelImportError(f"from_torch needs an nn.Module, got {type(module).__name__}")
    shapes = _input_shapes(input_shape)
    modes = [(m, m.training) for m in module.modules()]
    module.eval()  # traced in eval mode too: fx bakes `self.training` into the graph as a constant
    try:
        gm = _trace(module, len(shapes))
        _record(module, gm, shapes)
    finally:
        for m, mode in modes:
            m.training = mode
    return _Converter(gm, allow_unknown, name).run()

