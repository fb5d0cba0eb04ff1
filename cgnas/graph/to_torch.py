"""CG -> runnable ``torch.fx.GraphModule``.

Weighted nodes become submodules named ``n<index>_<op>`` (``nn.Conv2d``,
``nn.BatchNorm2d``, ``nn.Linear``, ``nn.LayerNorm``); every other node becomes a call to a
``torch`` / ``torch.nn.functional`` function. :func:`cgnas.from_torch` maps exactly these
calls back, so ``from_torch(cg.to_torch(), shape)`` reproduces ``cg``.
"""

from __future__ import annotations

import operator
import os
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import fx, nn

from cgnas.errors import CgnasError
from cgnas.graph.compgraph import CompGraph


def _conv(cg: CompGraph, i: int) -> nn.Module:
    a = cg.attrs[i]
    return nn.Conv2d(cg.shapes[cg.inputs[i][0]][0], cg.shapes[i][0], a["kernel"], a["stride"],
                     a["padding"], a["dilation"], a["groups"], a["bias"])


def _linear(cg: CompGraph, i: int) -> nn.Module:
    return nn.Linear(cg.shapes[cg.inputs[i][0]][-1], cg.shapes[i][-1], cg.attrs[i]["bias"])


def _batchnorm(cg: CompGraph, i: int) -> nn.Module:
    shape = cg.shapes[i]
    cls = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
    return cls(shape[0], affine=cg.attrs[i]["affine"])


def _layernorm(cg: CompGraph, i: int) -> nn.Module:
    a = cg.attrs[i]
    return nn.LayerNorm(list(a["normalized_shape"]), elementwise_affine=a["affine"])


MODULES: dict[str, Callable[[CompGraph, int], nn.Module]] = {
    "conv": _conv, "linear": _linear, "batchnorm": _batchnorm, "layernorm": _layernorm}

UNARY: dict[str, Callable] = {
    "relu": F.relu, "relu6": F.relu6, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
    "silu": F.silu, "hswish": F.hardswish, "hsigmoid": F.hardsigmoid, "gelu": F.gelu}

BINARY: dict[str, Callable] = {
    "add": operator.add, "mul": operator.mul, "sub": operator.sub, "div": operator.truediv,
    "matmul": torch.matmul}


def _call(cg: CompGraph, i: int, args: list[fx.Node]) -> tuple[Callable, tuple, dict]:
    """(function, args, kwargs) of a non-weighted node."""
    op, a = cg.ops[i], cg.attrs[i]
    if op in UNARY:
        return UNARY[op], (args[0],), {}
    if op in BINARY:
        return BINARY[op], tuple(args), {}
    x = args[0]
    if op == "zero":
        return operator.mul, (x, 0.0), {}
    if op == "scale":
        return operator.mul, (x, a["value"]), {}
    if op == "shift":
        return operator.add, (x, a["value"]), {}
    if op == "softmax":
        return F.softmax, (x,), {"dim": a["axis"]}
    if op == "concat":
        return torch.cat, (list(args),), {"dim": a["axis"]}
    if op == "maxpool":
        kwargs = {"ceil_mode": True} if a.get("ceil_mode") else {}
        return F.max_pool2d, (x, a["kernel"], a["stride"], a["padding"]), kwargs
    if op == "avgpool":
        kwargs = {"ceil_mode": True} if a.get("ceil_mode") else {}
        return (F.avg_pool2d, (x, a["kernel"], a["stride"], a["padding"]),
                {"count_include_pad": a["count_include_pad"], **kwargs})
    if op == "global_avgpool":
        return torch.mean, (x, [2, 3]), {"keepdim": a["keepdim"]}
    if op == "adaptive_avgpool":
        return F.adaptive_avg_pool2d, (x, a["output_size"]), {}
    if op == "mean":
        return torch.mean, (x, list(a["dims"])), {"keepdim": a["keepdim"]}
    if op == "pad":
        return F.pad, (x, list(a["pad"])), {"value": a.get("value", 0.0)}
    if op == "slice":
        return operator.getitem, (x, _slices(a["slices"])), {}
    if op == "flatten":
        return torch.flatten, (x, a["start_dim"]), {}
    if op == "reshape":
        return torch.reshape, (x, (-1,) + tuple(cg.shapes[i])), {}
    if op == "transpose":
        return torch.permute, (x, list(a["perm"])), {}
    if op == "upsample":
        return F.interpolate, (x,), {"size": tuple(cg.shapes[i][1:]), "mode": a["mode"]}
    raise CgnasError(f"node {i}: op {op!r} cannot be turned into torch code")


def _slices(spec: tuple[tuple[int, int, int, int], ...]) -> tuple[Any, ...]:
    """``((dim, start, stop, step), ...)`` -> an index tuple such as ``(:, :, 1:, 1:)``."""
    last = max(d for d, *_ in spec)
    index: list[Any] = [slice(None)] * (last + 1)
    for dim, start, stop, step in spec:
        index[dim] = slice(start, stop, step)
    return tuple(index)


def to_torch(cg: CompGraph) -> fx.GraphModule:
    """Build the network of ``cg`` with freshly initialized weights.

    The module takes the input tensor(s) in node order and returns the output tensor (or a
    tuple of them for several outputs). Its parameter count equals ``cg.num_params()``.
    """
    root = nn.Module()
    graph = fx.Graph()
    values: dict[int, fx.Node] = {}
    outputs: list[fx.Node] = []
    for i, op in enumerate(cg.ops):
        args = [values[j] for j in cg.inputs[i]]
        if op == "input":
            values[i] = graph.placeholder(f"input_{i}")
        elif op == "output":
            outputs.append(args[0])
        elif op in MODULES:
            name = f"n{i}_{op}"
            root.add_module(name, MODULES[op](cg, i))
            values[i] = graph.call_module(name, tuple(args))
        else:
            fn, fargs, kwargs = _call(cg, i, args)
            values[i] = graph.call_function(fn, fargs, kwargs)
    graph.output(outputs[0] if len(outputs) == 1 else tuple(outputs))
    return fx.GraphModule(root, graph, class_name="CGNetwork")



def save_exported(cg: CompGraph, path: str | os.PathLike) -> Path:
    """Write the network of ``cg`` (:func:`to_torch`, fresh weights, eval mode) to ``path`` as a
    ``torch.export`` program with a dynamic batch dimension, written atomically:
    ``torch.export.load(path).module()`` runs it without cgnas installed.

    Raises:
        CgnasError: ``torch.export`` cannot trace the module.
    """
    from cgnas.utils import atomic_write

    module = to_torch(cg).eval()
    gen = torch.Generator().manual_seed(0)
    examples = tuple(torch.randn((2,) + tuple(cg.shapes[i]), generator=gen) for i in cg.input_nodes())
    try:
        program = torch.export.export(module, examples,
                                      dynamic_shapes=tuple({0: torch.export.Dim.DYNAMIC} for _ in examples))
    except Exception as exc:  # torch.export raises many types for code it cannot trace
        raise CgnasError(f"torch.export cannot trace the network of {cg.name or 'the CG'}: "
                         f"{type(exc).__name__}: {exc}") from exc
    return atomic_write(path, lambda tmp: torch.export.save(program, str(tmp)))
