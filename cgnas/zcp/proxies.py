"""Zero-cost proxies: scores of an untrained network that are meant to rank architectures.

Each proxy is a function of a :class:`~cgnas.zcp.probe.Probe` (a private training-mode copy
of the network and one batch) returning a float; larger means predicted better. Sums over
"weighted layers" run over ``nn.Conv2d`` and ``nn.Linear`` weights, as in NASLib
(Suite-Zero) and zero-cost-nas, which all of these follow unless a docstring says otherwise.
"""

from __future__ import annotations

import copy
import os
from typing import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cgnas.errors import CgnasError, ProxyError
from cgnas.zcp.batches import Batch, load_batch, synthetic_batch
from cgnas.zcp.probe import (
    RELUS,
    CallRecorder,
    Probe,
    TwiceDifferentiable,
    logits,
    weighted_layers,
    without_batchnorm,
)


def params(probe: Probe) -> float:
    """Number of trainable parameters."""
    return float(sum(p.numel() for p in probe.net.parameters() if p.requires_grad))


def flops(probe: Probe) -> float:
    """Multiply-accumulates of a forward pass on one image (conv, linear and matmul; the
    "FLOPs" of NAS-Bench-201 and NASLib), counted by ``torch.utils.flop_counter`` / 2."""
    counter = FlopCounterMode(display=False)
    probe.net.eval()  # one image: batch statistics would be degenerate
    try:
        with torch.no_grad(), counter:
            probe.forward(probe.batch.images[:1])
    finally:
        probe.net.train()
    return float(counter.get_total_flops() // 2)


def synflow(probe: Probe) -> float:
    r"""Synaptic flow, data-free (Tanaka et al., NeurIPS 2020; as a proxy Abdelfattah et al.,
    ICLR 2021): with every weight replaced by its absolute value, batch norm removed and a
    single all-ones input in float64, :math:`R = \mathbf{1}^T f(\mathbf{1})` and
    :math:`S = \sum_\theta |\theta \odot \partial R / \partial \theta|` over weighted layers.
    NASLib stores :math:`\log S` (same ranking)."""
    net = without_batchnorm(probe.net).double()
    with torch.no_grad():
        for tensor in net.state_dict().values():
            tensor.abs_()
    net.zero_grad(set_to_none=True)
    ones = torch.ones((1, *probe.batch.image_shape), dtype=torch.float64)
    probe.forward(ones, net).sum().backward()
    return float(sum((layer.weight * layer.weight.grad).detach().abs().sum()
                     for layer in weighted_layers(net) if layer.weight.grad is not None))


def snip(probe: Probe) -> float:
    r"""SNIP connection sensitivity (Lee et al., ICLR 2019): :math:`\sum |\theta \odot
    \partial L / \partial \theta|` over weighted layers, ``L`` the cross-entropy on the batch."""
    lg = probe.loss_gradients
    return float(sum((w * g).abs().sum() for w, g in zip(lg.weights, lg.grads)))


def grad_norm(probe: Probe) -> float:
    r"""Gradient norm (Abdelfattah et al., ICLR 2021): :math:`\sum_l \|\partial L / \partial
    \theta_l\|_2`, one Euclidean norm per weighted layer, summed."""
    return float(sum(g.norm() for g in probe.loss_gradients.grads))


def fisher(probe: Probe) -> float:
    r"""Fisher information of channels (Theis et al., 2018; Turner et al., ICLR 2020): for the
    output ``a`` of each weighted layer, :math:`\sum_c \tfrac12 \operatorname{mean}_n
    (\sum_{hw} a_{nchw}\, \partial L / \partial a_{nchw})^2`, summed over layers."""
    return float(sum(f.abs().sum() for f in probe.loss_gradients.fisher))


def grasp(probe: Probe) -> float:
    r"""GraSP (Wang et al., ICLR 2020): :math:`-\sum \theta \odot H g` over weighted layers,
    ``g`` the loss gradient and ``H`` the Hessian of the loss, by a Hessian-vector product."""
    weights = [layer.weight for layer in weighted_layers(probe.net)]
    with TwiceDifferentiable():
        loss = probe.loss()
    grads = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
    used = [(w, g) for w, g in zip(weights, grads) if g is not None]
    z = sum((g.detach() * g).sum() for _, g in used)
    hg = torch.autograd.grad(z, [w for w, _ in used], allow_unused=True)
    return float(-sum((w.detach() * h).sum() for (w, _), h in zip(used, hg) if h is not None))


def jacov(probe: Probe) -> float:
    r"""Jacobian covariance (Mellor et al., "Neural Architecture Search without Training",
    v1, 2020): the Jacobians :math:`J_n = \partial \sum_k f_k(x_n) / \partial x_n` of the batch,
    their correlation matrix with eigenvalues :math:`\lambda_i`, and
    :math:`-\sum_i [\log(\lambda_i + k) + 1/(\lambda_i + k)]`, :math:`k = 10^{-5}`.
    NaN when a Jacobian is constant (the output does not depend on the input)."""
    x = probe.batch.images.clone().requires_grad_(True)
    y = probe.forward(x)
    (jac,) = torch.autograd.grad(y, x, torch.ones_like(y), allow_unused=True)
    if jac is None:
        return float("nan")
    jac = jac.reshape(len(jac), -1).double().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(jac)
    if not np.isfinite(corr).all():
        return float("nan")
    v = np.linalg.eigvalsh(corr)
    k = 1e-5
    return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))


def nwot(probe: Probe) -> float:
    r"""NASWOT (Mellor et al., ICML 2021): every ReLU gives each image a binary code ``c``
    (unit active or not); :math:`K_{ij} = \sum_{\text{units}} [c_i = c_j]` (the number of
    agreeing units, :math:`N_A` minus the Hamming distance) and the score is
    :math:`\log |\det K|`."""
    n = len(probe.batch.images)
    kernel = torch.zeros((n, n), dtype=torch.float64)

    def record(func, args, kwargs, out):
        nonlocal kernel
        c = (out.detach().reshape(n, -1) > 0).float()
        kernel = kernel + (c @ c.T).double() + ((1 - c) @ (1 - c).T).double()

    with torch.no_grad(), CallRecorder(RELUS, record):
        probe.forward(probe.batch.images)
    if not kernel.any():
        raise ProxyError("needs ReLU activations (their binary codes); none was found")
    return float(np.linalg.slogdet(kernel.numpy())[1])


def zen(probe: Probe, mixup_gamma: float = 1e-2) -> float:
    r"""Zen-score (Lin et al., ICCV 2021), data-free: with Gaussian weights (conv and linear
    N(0, 1), batch norm scale 1 and shift 0) and Gaussian inputs ``x``, ``x'``, the
    pre-global-pooling feature map ``f``,
    :math:`\log \operatorname{mean}_n \|f(x) - f(x + \gamma x')\|_1 + \sum_{\text{BN}} \log
    \sqrt{\operatorname{mean}_c \sigma_c^2}`, :math:`\sigma_c^2` the batch variance each
    batch-norm layer normalizes by on ``x``, :math:`\gamma = 10^{-2}`."""
    net = copy.deepcopy(probe.net)
    gen = torch.Generator().manual_seed(probe.batch.seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.normal_(generator=gen)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
                m.weight.fill_(1.0)
                m.bias.zero_()
    shape = tuple(probe.batch.images.shape)
    x = torch.randn(shape, generator=gen)
    x_mix = x + mixup_gamma * torch.randn(shape, generator=gen)
    features: list[torch.Tensor] = []
    variances: list[torch.Tensor] = []

    def record_pool(func, args, kwargs, out):
        t = args[0]
        dims = args[1] if len(args) > 1 else kwargs.get("dim", kwargs.get("output_size"))
        spatial = (func is F.adaptive_avg_pool2d and dims in (1, (1, 1))) or (
            func is torch.mean and t.dim() == 4 and isinstance(dims, (list, tuple))
            and sorted(d % 4 for d in dims) == [2, 3])
        if spatial:
            features.append(t)

    hooks = [m.register_forward_pre_hook(lambda m, inp: variances.append(inp[0].var(dim=(0, 2, 3), unbiased=False)))
             for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad(), CallRecorder((torch.mean, F.adaptive_avg_pool2d), record_pool):
        probe.forward(x, net)
        n_bn = len(variances)
        f_x = features[-1] if features else None
        probe.forward(x_mix, net)
        f_mix = features[-1] if features else None
    for h in hooks:
        h.remove()
    if f_x is None:
        raise ProxyError("needs a network that ends in global average pooling; none was found")
    delta = (f_x - f_mix).abs().flatten(1).sum(1).mean()
    bn_term = sum(float(torch.log(v.mean().sqrt())) for v in variances[:n_bn])
    return float(torch.log(delta)) + bn_term


PROXIES: dict[str, Callable[[Probe], float]] = {f.__name__: f for f in (
    params, flops, synflow, snip, grad_norm, fisher, grasp, jacov, nwot, zen)}
"""Every proxy by name."""

DATA_FREE = frozenset({"params", "flops", "synflow", "zen"})
"""Proxies that do not look at the batch's images or labels (only at its shape)."""


def check_proxies(names: Iterable[str]) -> list[str]:
    """``names`` as a list, each a known proxy.

    Raises:
        CgnasError: a name that is not in :data:`PROXIES`.
    """
    names = list(names)
    unknown = [n for n in names if n not in PROXIES]
    if unknown:
        raise CgnasError(f"unknown proxy {unknown[0]!r}; choose from {', '.join(PROXIES)}")
    if not names:
        raise CgnasError(f"no proxy given; choose from {', '.join(PROXIES)}")
    return names


def compute_each(net: nn.Module, proxies: Iterable[str], batch: Batch) -> tuple[dict[str, float], dict[str, str]]:
    """Each of ``proxies`` of ``net`` on ``batch`` that can be computed, and the error of each
    that cannot (e.g. zen on a network without global pooling); ``net`` is left untouched.

    Returns:
        ``(values, errors)``: proxy -> value, and proxy -> error message for the others.

    Raises:
        CgnasError: an unknown proxy name.
    """
    names = check_proxies(proxies)
    probe = Probe(net, batch)
    values, errors = {}, {}
    for name in names:
        try:
            values[name] = PROXIES[name](probe)
        except CgnasError as exc:
            errors[name] = str(exc)
        except Exception as exc:  # any failure of the network's own code
            errors[name] = f"{type(exc).__name__}: {exc}"
    return values, errors


def compute(net: nn.Module, proxies: Iterable[str], batch: Batch) -> dict[str, float]:
    """The proxies ``proxies`` of ``net`` on ``batch``; ``net`` itself is left untouched.

    Raises:
        CgnasError: an unknown proxy name.
        ProxyError: a proxy whose passes fail on ``net`` (the forward pass raises, e.g. on a
            batch whose images do not fit the network).
    """
    values, errors = compute_each(net, proxies, batch)
    if errors:
        name, message = next(iter(errors.items()))
        raise ProxyError(f"{name}: {message}")
    return values


def network_batch(net: nn.Module, image_shape: tuple[int, ...], *, seed: int = 0,
                  data_batch: str | os.PathLike | None = None) -> Batch:
    """The batch the proxies of one network see: the synthetic batch of ``image_shape``
    (C, H, W) with as many classes as the last dimension of the network's output, or the
    real batch in the file ``data_batch`` (:func:`~cgnas.zcp.batches.load_batch`).

    Raises:
        ProxyError: the network's forward pass fails on one image of ``image_shape``.
        ShapeError: a data batch that does not fit the network.
    """
    net = copy.deepcopy(net).eval()
    try:
        with torch.no_grad():
            out = logits(net(torch.zeros((1, *image_shape))))
    except Exception as exc:  # any failure of the network's own code
        raise ProxyError(f"the network's forward pass fails on input of shape {(1, *image_shape)}: "
                         f"{type(exc).__name__}: {exc}") from exc
    classes = int(out.shape[-1]) if out.dim() else 1
    if data_batch is None:
        return synthetic_batch(image_shape, classes, seed)
    batch = load_batch(data_batch, classes, seed)
    batch.check(image_shape, classes)
    return batch
