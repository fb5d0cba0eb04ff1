"""One network and one batch, with the passes that several proxies share.

A :class:`Probe` works on a private copy of the network (in training mode, as NASLib runs
every proxy), so computing proxies never changes the caller's weights, gradients or
batch-norm statistics. The loss-gradient pass is computed once and serves snip,
grad_norm and fisher alike.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from cgnas.errors import ProxyError
from cgnas.zcp.batches import Batch

WEIGHTED = (nn.Conv2d, nn.Linear)
"""Layers whose weights the parameter-wise proxies sum over (NASLib's ``get_layer_metric_array``)."""

RELUS = (F.relu, torch.relu, F.relu6)


def logits(output) -> torch.Tensor:
    """The prediction of a forward pass: the tensor, or the last element of a tuple/list
    (``(features, logits)`` models)."""
    return output[-1] if isinstance(output, (tuple, list)) else output


def weighted_layers(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, WEIGHTED)]


def without_batchnorm(net: nn.Module) -> nn.Module:
    """A deep copy of ``net`` with every batch-norm layer replaced by the identity."""
    net = copy.deepcopy(net)
    for name, module in list(net.named_modules()):
        if name and isinstance(module, nn.modules.batchnorm._BatchNorm):
            parent, _, child = name.rpartition(".")
            setattr(net.get_submodule(parent), child, nn.Identity())
    return net


class CallRecorder(TorchFunctionMode):
    """Calls ``record(func, args, kwargs, output)`` for every call of a function in ``funcs``
    made while the mode is active, whether from ``torch.nn`` modules or functional code."""

    def __init__(self, funcs: tuple[Callable, ...], record: Callable) -> None:
        super().__init__()
        self.funcs = funcs
        self.record = record

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if func in self.funcs:
            self.record(func, args, kwargs, out)
        return out


class TwiceDifferentiable(TorchFunctionMode):
    """Runs ``F.hardsigmoid(x)`` as ``relu6(x + 3) / 6``, the same function: PyTorch's fused
    hardsigmoid kernel has no second derivative, which GraSP's Hessian-vector product needs
    (MobileNetV3's squeeze-excitation gates use it)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is F.hardsigmoid:
            return F.relu6(args[0] + 3) / 6
        return func(*args, **(kwargs or {}))


@dataclass
class LossGradients:
    """Per weighted layer: the weight, its gradient of the cross-entropy loss on the batch,
    and the per-channel Fisher saliency ``0.5 * mean_n (sum_hw a * dL/da)^2`` of its output ``a``."""

    weights: list[torch.Tensor]
    grads: list[torch.Tensor]
    fisher: list[torch.Tensor]


class Probe:
    """A private training-mode copy of ``net`` and the batch the proxies run on."""

    def __init__(self, net: nn.Module, batch: Batch) -> None:
        self.net = copy.deepcopy(net).train()
        self.batch = batch

    def forward(self, x: torch.Tensor, net: nn.Module | None = None) -> torch.Tensor:
        return logits((net or self.net)(x))

    def loss(self, net: nn.Module | None = None) -> torch.Tensor:
        """Cross-entropy of the network's ``[N, classes]`` output on the batch."""
        out = self.forward(self.batch.images, net)
        if out.dim() != 2:
            raise ProxyError(f"needs a classifier whose output is [N, classes]; this network's is {list(out.shape)}")
        return F.cross_entropy(out, self.batch.labels)

    @cached_property
    def loss_gradients(self) -> LossGradients:
        layers = weighted_layers(self.net)
        fisher: list[torch.Tensor | None] = [None] * len(layers)

        def watch(i: int):
            def on_forward(module, inputs, out):
                act = out.detach()  # the hook must not hold ``out``: a cycle through autograd leaks it

                def on_grad(grad):
                    g_nk = (act * grad).sum(dim=tuple(range(2, act.dim()))) if act.dim() > 2 else act * grad
                    del_k = 0.5 * g_nk.pow(2).mean(0)
                    fisher[i] = del_k if fisher[i] is None else fisher[i] + del_k
                if out.requires_grad:
                    out.register_hook(on_grad)
            return on_forward

        handles = [layer.register_forward_hook(watch(i)) for i, layer in enumerate(layers)]
        try:
            self.net.zero_grad(set_to_none=True)
            self.loss().backward()
        finally:
            for h in handles:
                h.remove()
        weights = [layer.weight.detach() for layer in layers]
        grads = [layer.weight.grad if layer.weight.grad is not None else torch.zeros_like(w)
                 for layer, w in zip(layers, weights)]
        fisher_t = [f if f is not None else torch.zeros(w.shape[0]) for f, w in zip(fisher, weights)]
        self.net.zero_grad(set_to_none=True)
        return LossGradients(weights, grads, fisher_t)
