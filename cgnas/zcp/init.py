"""Weight initialization of the networks the proxies see.

A proxy is a function of the untrained network, so the initialization is part of its
definition. cgnas initializes each benchmark's networks as NASLib's do, so that its values
compare with NASLib's published ones:

* ``nb201``, ``nb301`` and any other space: PyTorch's default initialization of each layer
  (NASLib's NB201 and DARTS networks keep it);
* ``nb101``: NASBench-PyTorch's, which NASLib's NB101 network applies: conv weights
  N(0, 2 / (k_h k_w C_out)) (He, fan-out) and zero bias, batch-norm scale 1 and shift 0,
  linear weights N(0, 0.01^2) and zero bias.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn


def nasbench_pytorch_init(net: nn.Module) -> None:
    """NASBench-PyTorch's initialization (used by NASLib for NAS-Bench-101), in place."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.normal_(0.0, math.sqrt(2.0 / (m.kernel_size[0] * m.kernel_size[1] * m.out_channels)))
            elif isinstance(m, nn.Linear):
                m.weight.normal_(0.0, 0.01)
            elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
                m.weight.fill_(1.0)
            if isinstance(m, (nn.Conv2d, nn.Linear, nn.modules.batchnorm._BatchNorm)) and m.bias is not None:
                m.bias.zero_()


INITS: dict[str, Callable[[nn.Module], None]] = {"nb101": nasbench_pytorch_init}
"""Space -> initialization applied after building; spaces not listed keep PyTorch's default."""


def init_name(space: str) -> str:
    """Name of the initialization of ``space``'s networks (part of the proxy cache's identity)."""
    return INITS[space].__name__.removesuffix("_init") if space in INITS else "torch_default"
