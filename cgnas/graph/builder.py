"""``GraphBuilder``: write a network once, get its CG with shapes inferred as you go.

Tensors are node indices (``int``)::

    b = GraphBuilder((3, 32, 32))
    x = b.conv(b.input, 16, k=3, padding=1)
    x = b.relu(b.bn(x))
    y = b.add(x, b.conv(b.input, 16, k=1))
    cg = b.build(y)

No torch module is created, which is what lets search spaces build thousands of CGs per
second. Spatial ops follow PyTorch's output-size rule
``out = floor((in + 2p - d(k-1) - 1) / s) + 1``.
"""

from __future__ import annotations

from typing import Any, Sequence

from cgnas.errors import ShapeError
from cgnas.graph.compgraph import CompGraph, Shape


def conv_out(size: int, k: int, s: int, p: int, d: int = 1) -> int:
    """Output length of a convolution or pooling window along one axis."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


class GraphBuilder:
    """Appends nodes in creation order (a topological order) and infers output shapes."""

    def __init__(self, input_shape: Sequence[int], name: str = "") -> None:
        self.ops: list[str] = []
        self.inputs: list[tuple[int, ...]] = []
        self.shapes: list[Shape] = []
        self.attrs: list[dict[str, Any]] = []
        self.name = name
        self.input = self._add("input", (), tuple(input_shape), {})

    # ------------------------------------------------------------------ core
    def _add(self, op: str, inputs: tuple[int, ...], shape: Shape, attrs: dict[str, Any]) -> int:
        self.ops.append(op)
        self.inputs.append(inputs)
        self.shapes.append(shape)
        self.attrs.append(attrs)
        return len(self.ops) - 1

    def unary(self, op: str, x: int, **attrs: Any) -> int:
        """A shape-preserving op (activations, ``zero``, ``scale``)."""
        return self._add(op, (x,), self.shapes[x], attrs)

    def build(self, *outputs: int) -> CompGraph:
        """Add one ``output`` node per given tensor and return the graph."""
        for y in outputs:
            self._add("output", (y,), self.shapes[y], {})
        return CompGraph(self.ops, self.inputs, self.shapes, self.attrs, self.name)

    # -------------------------------------------------------------- weighted
    def conv(self, x: int, c_out: int, k: int | tuple[int, int] = 3, stride: int = 1,
             padding: int | None = None, dilation: int = 1, groups: int = 1,
             bias: bool = False) -> int:
        """2-D convolution; ``padding=None`` means 'same' for stride 1: ``d(k-1)/2``."""
        c_in, h, w = self.shapes[x]
        kh, kw = (k, k) if isinstance(k, int) else k
        if padding is None:
            padding = dilation * (kh - 1) // 2
        if c_in % groups or c_out % groups:
            raise ShapeError(f"conv: channels {c_in}->{c_out} not divisible by groups={groups}")
        ph, pw = (padding, padding) if isinstance(padding, int) else padding
        shape = (c_out, conv_out(h, kh, stride, ph, dilation), conv_out(w, kw, stride, pw, dilation))
        if shape[1] < 1 or shape[2] < 1:
            raise ShapeError(f"conv k={k} stride={stride} on a {h}x{w} map gives an empty output")
        return self._add("conv", (x,), shape, {
            "kernel": (kh, kw), "stride": (stride, stride), "padding": (ph, pw),
            "dilation": (dilation, dilation), "groups": groups, "bias": bias})

    def linear(self, x: int, out_features: int, bias: bool = True) -> int:
        shape = self.shapes[x]
        return self._add("linear", (x,), shape[:-1] + (out_features,), {"bias": bias})

    def bn(self, x: int, affine: bool = True) -> int:
        return self._add("batchnorm", (x,), self.shapes[x], {"affine": affine})

    def layernorm(self, x: int, normalized_dims: int = 1, affine: bool = True) -> int:
        return self._add("layernorm", (x,), self.shapes[x],
                         {"normalized_shape": self.shapes[x][-normalized_dims:], "affine": affine})

    # ----------------------------------------------------------- activations
    def relu(self, x: int) -> int:
        return self.unary("relu", x)

    def relu6(self, x: int) -> int:
        return self.unary("relu6", x)

    def hswish(self, x: int) -> int:
        return self.unary("hswish", x)

    def hsigmoid(self, x: int) -> int:
        return self.unary("hsigmoid", x)

    def sigmoid(self, x: int) -> int:
        return self.unary("sigmoid", x)

    def gelu(self, x: int) -> int:
        return self.unary("gelu", x)

    def zero(self, x: int) -> int:
        return self.unary("zero", x)

    def softmax(self, x: int, axis: int = -1) -> int:
        """Softmax along torch dim ``axis``, stored as a negative dim (``-1`` = last)."""
        if axis >= 0:
            axis -= len(self.shapes[x]) + 1  # + 1: the batch dim
        return self.unary("softmax", x, axis=axis)

    # ----------------------------------------------------------- combination
    def add(self, *xs: int) -> int:
        """Sum of one or more tensors of equal shape, as a left-folded chain of binary adds."""
        acc = xs[0]
        for y in xs[1:]:
            acc = self._binary("add", acc, y)
        return acc

    def mul(self, x: int, y: int) -> int:
        return self._binary("mul", x, y)

    def _binary(self, op: str, x: int, y: int) -> int:
        sx, sy = self.shapes[x], self.shapes[y]
        return self._add(op, (x, y), _broadcast(op, sx, sy), {})

    def concat(self, xs: Sequence[int], axis: int = 1) -> int:
        """Concatenate along torch dim ``axis`` (1 = channels of an NCHW map)."""
        if len(xs) == 1:
            return xs[0]
        shapes = [self.shapes[x] for x in xs]
        d = axis - 1
        rest = {s[:d] + s[d + 1:] for s in shapes}
        if len(rest) != 1:
            raise ShapeError(f"concat along axis {axis}: incompatible shapes {shapes}")
        first = shapes[0]
        shape = first[:d] + (sum(s[d] for s in shapes),) + first[d + 1:]
        return self._add("concat", tuple(xs), shape, {"axis": axis})

    # ------------------------------------------------------------- pooling
    def maxpool(self, x: int, k: int, stride: int = 1, padding: int = 0) -> int:
        return self._pool("maxpool", x, k, stride, padding, {})

    def avgpool(self, x: int, k: int, stride: int = 1, padding: int = 0,
                count_include_pad: bool = True) -> int:
        return self._pool("avgpool", x, k, stride, padding, {"count_include_pad": count_include_pad})

    def _pool(self, op: str, x: int, k: int, stride: int, padding: int, extra: dict) -> int:
        c, h, w = self.shapes[x]
        shape = (c, conv_out(h, k, stride, padding), conv_out(w, k, stride, padding))
        return self._add(op, (x,), shape, {"kernel": (k, k), "stride": (stride, stride),
                                           "padding": (padding, padding), **extra})

    def global_avgpool(self, x: int, keepdim: bool = False) -> int:
        c = self.shapes[x][0]
        return self._add("global_avgpool", (x,), (c, 1, 1) if keepdim else (c,), {"keepdim": keepdim})

    # ------------------------------------------------------------ structure
    def flatten(self, x: int) -> int:
        """``torch.flatten(x, 1)``; a tensor that is already flat is returned as is (no node)."""
        if len(self.shapes[x]) <= 1:
            return x
        n = 1
        for s in self.shapes[x]:
            n *= s
        return self._add("flatten", (x,), (n,), {"start_dim": 1})

    def slice_channels(self, x: int, channels: int) -> int:
        """The first ``channels`` channels of an NCHW map (NB101's truncation)."""
        c, h, w = self.shapes[x]
        if channels >= c:
            return x
        return self._add("slice", (x,), (channels, h, w), {"slices": ((1, 0, channels, 1),)})

    def slice_spatial(self, x: int, start: int) -> int:
        """Drop the first ``start`` rows and columns: ``x[:, :, start:, start:]``."""
        c, h, w = self.shapes[x]
        return self._add("slice", (x,), (c, h - start, w - start),
                         {"slices": ((2, start, h, 1), (3, start, w, 1))})


def _broadcast(op: str, a: Shape, b: Shape) -> Shape:
    """NumPy broadcasting of two shapes (batch dimension excluded)."""
    n = max(len(a), len(b))
    a2, b2 = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    out = []
    for u, v in zip(a2, b2):
        if u != v and 1 not in (u, v):
            raise ShapeError(f"{op}: shapes {a} and {b} do not broadcast")
        out.append(max(u, v))
    return tuple(out)
