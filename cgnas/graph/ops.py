"""The operator vocabulary of computational graphs.

Every CG node carries one of these op names. The order of :data:`OPS` fixes the integer
index the encoder embeds, so new operators are only ever appended (and
:data:`FORMAT_VERSION` in ``compgraph`` bumped). ``unknown`` is the token an importer uses
for an operator outside the vocabulary when the caller allows it.

Conventions:

* ``add`` and ``mul`` are binary (an n-way sum is a chain of binary adds), so that torch
  code and ONNX graphs of the same network give the same CG.
* No-ops at inference time (identity, dropout, ``contiguous``) are not nodes: the edge
  goes straight from producer to consumer.
* ``zero`` is ``x * 0`` (NB201's ``none``), kept because the real network computes it.
* Scalar constants (``scale``/``shift`` values) are stored as the shortest decimal of their
  float32 value (``float(str(numpy.float32(c)))``), so that torch code and its ONNX export
  (which stores float32 constants) give equal attrs; ``x / c`` is ``scale`` by ``1/c``.
* ``x * sigmoid(x)`` (the sigmoid used only there) is ``silu`` and ``x * hardsigmoid(x)`` is
  ``hswish``, whichever way they were written or exported; chained transposes and chained
  reshapes are one node (the ONNX exporter merges them).
* ``unknown`` stays the last entry; ops added later are inserted before it.
"""

from __future__ import annotations

from typing import NamedTuple


class OpInfo(NamedTuple):
    """Static facts about one operator."""

    weighted: bool
    """True when the op has learnable weights (conv, linear, normalizations)."""
    description: str


VOCAB: dict[str, OpInfo] = {
    "input": OpInfo(False, "graph input"),
    "output": OpInfo(False, "graph output"),
    # weighted
    "conv": OpInfo(True, "2-D convolution, incl. grouped/depthwise; "
                         "attrs kernel, stride, padding, dilation, groups, bias"),
    "linear": OpInfo(True, "fully connected layer y = xW^T + b over the last dim; attrs bias"),
    "batchnorm": OpInfo(True, "batch normalization over channels; attrs affine"),
    "layernorm": OpInfo(True, "layer normalization over the trailing dims; attrs normalized_shape, affine"),
    # activations
    "relu": OpInfo(False, "max(x, 0)"),
    "relu6": OpInfo(False, "min(max(x, 0), 6)"),
    "sigmoid": OpInfo(False, "1 / (1 + exp(-x))"),
    "tanh": OpInfo(False, "tanh(x)"),
    "silu": OpInfo(False, "x * sigmoid(x) (swish)"),
    "hswish": OpInfo(False, "x * relu6(x + 3) / 6"),
    "hsigmoid": OpInfo(False, "relu6(x + 3) / 6"),
    "gelu": OpInfo(False, "x * Phi(x)"),
    "softmax": OpInfo(False, "softmax along attrs axis (a negative torch dim, -1 = last)"),
    # elementwise and structural
    "add": OpInfo(False, "binary elementwise sum (broadcasting)"),
    "mul": OpInfo(False, "binary elementwise product (broadcasting), e.g. squeeze-and-excitation gating"),
    "sub": OpInfo(False, "binary elementwise difference"),
    "div": OpInfo(False, "binary elementwise quotient"),
    "scale": OpInfo(False, "multiplication by a constant scalar; attrs value"),
    "zero": OpInfo(False, "x * 0: the 'none' operation of cell spaces"),
    "concat": OpInfo(False, "concatenation along attrs axis (torch dim, batch included)"),
    "matmul": OpInfo(False, "batched matrix product of two tensors"),
    "maxpool": OpInfo(False, "max pooling; attrs kernel, stride, padding"),
    "avgpool": OpInfo(False, "average pooling; attrs kernel, stride, padding, count_include_pad"),
    "global_avgpool": OpInfo(False, "mean over H and W; attrs keepdim"),
    "adaptive_avgpool": OpInfo(False, "adaptive average pooling to attrs output_size"),
    "mean": OpInfo(False, "mean over attrs dims (torch dims), attrs keepdim"),
    "pad": OpInfo(False, "constant padding; attrs pad (torch.nn.functional.pad order)"),
    "slice": OpInfo(False, "strided slice; attrs slices: per torch dim (start, stop, step)"),
    "flatten": OpInfo(False, "flatten dims from attrs start_dim (torch dim)"),
    "reshape": OpInfo(False, "reshape to the node's output shape"),
    "transpose": OpInfo(False, "permutation of dims; attrs perm (torch dims, batch included)"),
    "upsample": OpInfo(False, "interpolation to the output shape; attrs mode"),
    "shift": OpInfo(False, "addition of a constant scalar (x + c, x - c); attrs value"),
    "unknown": OpInfo(False, "an operator outside this vocabulary (importers, when allowed)"),
}

OPS: tuple[str, ...] = tuple(VOCAB)
"""All op names in embedding-index order."""

OP_INDEX: dict[str, int] = {name: i for i, name in enumerate(OPS)}
WEIGHTED_OPS: frozenset[str] = frozenset(n for n, info in VOCAB.items() if info.weighted)


def op_index(name: str) -> int:
    """Embedding index of an op name (``unknown`` for names outside the vocabulary)."""
    return OP_INDEX.get(name, OP_INDEX["unknown"])
