"""``cgnas.from_torch``: builder round trips, hand-written networks, the op mapping, bad input."""

from __future__ import annotations

import math
import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cgnas
from cgnas import CgnasError, GraphBuilder, ModelImportError, UnknownOperatorError
from cgnas.graph.compgraph import CompGraph

try:
    from tests import torch_zoo as zoo
except ImportError:  # tests/ is on sys.path (pytest's default rootdir insertion)
    import torch_zoo as zoo

from_torch = cgnas.from_torch


# ============================================================ builder graphs
def cg_conv_net() -> CompGraph:
    """Every conv variant, every activation, pools, SE, concat, slices, classifier."""
    b = GraphBuilder((3, 16, 16), name="all-conv-ops")
    x = b.relu(b.bn(b.conv(b.input, 16, k=3)))
    g = b.conv(x, 16, k=3, groups=4)                          # grouped
    d = b.conv(x, 16, k=3, groups=16)                         # depthwise
    dl = b.conv(x, 16, k=3, dilation=2)                       # dilated (padding 2)
    bi = b.conv(x, 16, k=5, bias=True)                        # with bias
    rect = b.conv(x, 16, k=(1, 3), padding=(0, 1))            # non-square kernel
    x = b.add(g, d, dl, bi, rect)                             # add chain
    x = b.relu6(b.bn(x, affine=False))
    y = b.hswish(x)
    y = b.hsigmoid(y)
    y = b.sigmoid(y)
    y = b.gelu(y)
    y = b.unary("tanh", y)
    y = b.unary("silu", y)
    y = b.unary("scale", y, value=0.5)
    y = b.unary("shift", y, value=-1.25)
    z = b.zero(x)                                             # NB201 'none'
    x = b.add(y, z)
    se = b.global_avgpool(x, keepdim=True)                    # squeeze-and-excitation
    se = b.sigmoid(b.conv(b.relu(b.conv(se, 4, k=1, bias=True)), 16, k=1, bias=True))
    x = b.mul(x, se)                                          # broadcasting mul
    m = b.maxpool(x, 3, stride=1, padding=1)
    a1 = b.avgpool(x, 3, stride=1, padding=1, count_include_pad=False)
    a2 = b.avgpool(x, 3, stride=1, padding=1, count_include_pad=True)
    x = b.concat([m, a1, a2])
    x = b.slice_channels(x, 40)                               # NB101 truncation
    x = b.conv(x, 32, k=3, stride=2)                          # strided
    p = b.maxpool(x, 2, stride=2)
    q = b.avgpool(x, 2, stride=2)
    x = b.concat([p, q], axis=1)
    s = b.slice_spatial(b.conv(x, 16, k=1), 1)               # DARTS-style
    pooled = b.global_avgpool(s, keepdim=True)
    flat = b.flatten(pooled)
    logits = b.linear(flat, 10)
    aux = b.linear(b.global_avgpool(x), 5, bias=False)        # keepdim False
    return b.build(logits, aux)


def cg_token_net() -> CompGraph:
    """Token ops: layernorm, linear on (L, D), softmax, residual."""
    b = GraphBuilder((8, 16), name="tokens")
    x = b.layernorm(b.input)
    h = b.gelu(b.linear(x, 32))
    h = b.linear(h, 16, bias=False)
    x = b.add(b.input, h)
    x = b.layernorm(x, affine=False)
    return b.build(b.softmax(x), b.softmax(x, axis=1))


def cg_large(blocks: int = 100) -> CompGraph:
    """A ~700-node residual chain."""
    b = GraphBuilder((16, 8, 8), name="large")
    x = b.input
    for i in range(blocks):
        y = b.relu(b.bn(b.conv(x, 16, k=3)))
        y = b.bn(b.conv(y, 16, k=1))
        x = b.relu(b.add(x, y))
    return b.build(b.linear(b.flatten(b.global_avgpool(x, keepdim=True)), 10))


BUILDER_GRAPHS = {"conv": cg_conv_net, "tokens": cg_token_net}


@pytest.mark.parametrize("make", BUILDER_GRAPHS.values(), ids=BUILDER_GRAPHS.keys())
def test_builder_roundtrip_is_exact(make):
    cg = make()
    net = cg.to_torch()
    assert sum(p.numel() for p in net.parameters()) == cg.num_params()
    back = from_torch(net, (1,) + cg.shapes[0], name=cg.name)
    assert back == cg
    assert back.name == cg.name


def test_builder_roundtrip_covers_every_builder_op():
    ops = set(cg_conv_net().ops) | set(cg_token_net().ops)
    expected = {"input", "output", "conv", "batchnorm", "layernorm", "linear", "relu", "relu6",
                "hswish", "hsigmoid", "sigmoid", "gelu", "tanh", "silu", "scale", "shift", "zero",
                "softmax", "add", "mul", "concat", "maxpool", "avgpool", "global_avgpool",
                "flatten", "slice"}
    assert expected <= ops


def test_large_graph_roundtrip():
    cg = cg_large()
    assert 650 <= len(cg) <= 750
    assert from_torch(cg.to_torch(), (1,) + cg.shapes[0]) == cg


@pytest.mark.parametrize("space_name", ["nb101", "nb201", "nb301", "ofa_mbv3"])
def test_space_archs_roundtrip(space_name):
    try:
        space = cgnas.space(space_name)
    except (CgnasError, ImportError) as exc:  # spaces are optional for this test
        pytest.skip(f"space {space_name} unavailable: {exc}")
    rng = random.Random(7)
    for _ in range(2):
        cg = space.to_cg(space.sample(rng))
        assert from_torch(cg.to_torch(), (1,) + cg.shapes[0]) == cg


# ============================================================ plain networks
EXPECTED_OPS = {
    "resnet": {"conv": 15, "batchnorm": 15, "relu": 13, "add": 4, "maxpool": 1,
               "global_avgpool": 1, "flatten": 1, "linear": 1},
    "mobilenet_v2": {"conv": 16, "batchnorm": 16, "relu6": 11, "add": 2, "global_avgpool": 1,
                     "flatten": 1, "linear": 1},
    "densenet": {"conv": 14, "batchnorm": 14, "relu": 14, "concat": 6, "avgpool": 1,
                 "global_avgpool": 1, "flatten": 1, "linear": 1},
    "inception": {"conv": 13, "batchnorm": 13, "relu": 13, "concat": 2, "maxpool": 2,
                  "global_avgpool": 1, "linear": 1},
    "senet": {"conv": 4, "batchnorm": 2, "hswish": 1, "silu": 1, "relu": 3, "sigmoid": 2,
              "hsigmoid": 1, "mul": 3, "global_avgpool": 4, "linear": 5, "flatten": 2,
              "reshape": 2},
    "transformer": {"layernorm": 2, "linear": 6, "reshape": 4, "transpose": 4, "matmul": 2,
                    "scale": 1, "softmax": 1, "add": 2, "gelu": 1},
    # stem, downsample, 2 depthwise 7x7 and 2 layer scales; no node for stochastic depth
    "convnext": {"conv": 6, "layernorm": 5, "linear": 5, "transpose": 8, "gelu": 2, "add": 2,
                 "global_avgpool": 1},
}


@pytest.fixture(scope="module")
def zoo_graphs():
    out = {}
    for name, make in zoo.ZOO.items():
        module, shape = make()
        out[name] = (module, shape, from_torch(module, shape, name=name))
    return out


@pytest.mark.parametrize("name", list(zoo.ZOO))
def test_zoo_network(zoo_graphs, name):
    module, shape, cg = zoo_graphs[name]
    n_params = sum(p.numel() for p in module.parameters())
    assert cg.num_params() == n_params
    counts = cg.op_counts()
    assert counts["input"] == 1 and counts["output"] == 1
    assert {op: counts[op] for op in EXPECTED_OPS[name]} == EXPECTED_OPS[name]
    assert set(counts) == set(EXPECTED_OPS[name]) | {"input", "output"}
    net = cg.to_torch()
    assert sum(p.numel() for p in net.parameters()) == n_params
    x = torch.randn(shape)
    with torch.no_grad():
        assert net.eval()(x).shape == module.eval()(x).shape
    assert cg.shapes[-1] == tuple(module(x).shape[1:])


def test_zoo_details(zoo_graphs):
    # MobileNetV2: five depthwise convs; ResNet: 1x1 stride-2 downsample shortcut
    mb = zoo_graphs["mobilenet_v2"][2]
    depthwise = [n for n in mb if n.op == "conv" and n.attrs["groups"] > 1]
    assert len(depthwise) == 5
    assert all(n.attrs["groups"] == n.shape[0] == n.in_shapes[0][0] for n in depthwise)
    rn = zoo_graphs["resnet"][2]
    assert any(n.op == "conv" and n.attrs["kernel"] == (1, 1) and n.attrs["stride"] == (2, 2)
               for n in rn)
    # DenseNet: concats of 2, 3, 4 inputs per block
    dn = zoo_graphs["densenet"][2]
    assert sorted(len(n.inputs) for n in dn if n.op == "concat") == [2, 2, 3, 3, 4, 4]
    # Inception: 4-way concats; 1x1, 3x3, 5x5 convs
    inc = zoo_graphs["inception"][2]
    assert [len(n.inputs) for n in inc if n.op == "concat"] == [4, 4]
    kernels = sorted(n.attrs["kernel"] for n in inc if n.op == "conv")
    assert kernels.count((1, 1)) == 8 and kernels.count((3, 3)) == 3 and kernels.count((5, 5)) == 2
    # SE: every gate multiplies a (C, H, W) map by a (C, 1, 1) vector
    se = zoo_graphs["senet"][2]
    for n in se:
        if n.op == "mul":
            assert {s[1:] for s in n.in_shapes} == {n.shape[1:], (1, 1)}
    # transformer: attention scores (heads, L, L), 1/sqrt(d) scale
    tf = zoo_graphs["transformer"][2]
    matmuls = [n for n in tf if n.op == "matmul"]
    assert matmuls[0].shape == (4, 16, 16) and matmuls[1].shape == (4, 16, 8)
    scale = next(n for n in tf if n.op == "scale")
    assert scale.attrs["value"] == pytest.approx(1 / math.sqrt(8))
    # ConvNeXt: each learned layer scale (C, 1, 1) is a depthwise 1x1 conv without bias, read
    # straight off the block's MLP; stochastic depth (identity in eval mode) left no node
    cn = zoo_graphs["convnext"][2]
    scales = [n for n in cn if n.op == "conv" and n.attrs["kernel"] == (1, 1)]
    assert [(n.attrs["groups"], n.attrs["bias"], n.shape[0]) for n in scales] == [(16, False, 16), (32, False, 32)]
    consumers = {i: [cn.ops[d] for s, d in cn.edges() if s == i] for i in range(len(cn))}
    assert all(cn.ops[n.inputs[0]] == "transpose" and consumers[n.index] == ["add"] for n in scales)
    assert next(n for n in tf if n.op == "softmax").attrs == {"axis": -1}


def test_module_mode_is_restored():
    module, shape = zoo.resnet()
    module.train()
    from_torch(module, shape)
    assert all(m.training for m in module.modules())


# ============================================================ op mapping
def ops_of(module: nn.Module, shape, **kw) -> list[str]:
    return [op for op in from_torch(module, shape, **kw).ops if op not in ("input", "output")]


class Lambda(nn.Module):
    def __init__(self, fn, **mods) -> None:
        super().__init__()
        self.fn = fn
        for k, v in mods.items():
            setattr(self, k, v)

    def forward(self, x):
        return self.fn(self, x)


def test_scalar_ops():
    cg = from_torch(Lambda(lambda s, x: (x * 0, 2 * x, x / 4, x + 1, 1 + x, x - 1.5, -x,
                                         x * 1, x + 0, x.mul(3), x.add(2))), (1, 4))
    rows = [(n.op, n.attrs) for n in cg if n.op not in ("input", "output")]
    assert rows == [("zero", {}), ("scale", {"value": 2.0}), ("scale", {"value": 0.25}),
                    ("shift", {"value": 1.0}), ("shift", {"value": 1.0}),
                    ("shift", {"value": -1.5}), ("scale", {"value": -1.0}),
                    ("scale", {"value": 3.0}), ("shift", {"value": 2.0})]
    # x * 1 and x + 0 are no-ops: their outputs are the input itself
    assert [cg.inputs[i] for i in cg.output_nodes()][7:9] == [(0,), (0,)]


def test_scale_values_are_float32_canonical():
    cg = from_torch(Lambda(lambda s, x: (x * 0.1, x / math.sqrt(32))), (1, 4))
    values = [n.attrs["value"] for n in cg if n.op == "scale"]
    assert values[0] == 0.1
    assert values[1] == pytest.approx(1 / math.sqrt(32), rel=1e-6)


def test_binary_forms_and_broadcasting():
    def f(s, x):
        y = torch.sigmoid(x)
        return (x + y, torch.add(x, y), x.add(y), y * x, torch.mul(x, y), x - y,
                torch.sub(x, y), x / y, x.mean((2, 3), keepdim=True) * x)

    cg = from_torch(Lambda(f), (1, 3, 4, 4))
    assert cg.op_counts()["add"] == 3 and cg.op_counts()["mul"] == 3
    assert cg.op_counts()["sub"] == 2 and cg.op_counts()["div"] == 1
    last = cg.node(cg.inputs[cg.output_nodes()[-1]][0])
    assert last.op == "mul" and last.in_shapes == ((3, 1, 1), (3, 4, 4))


def test_noops_are_elided():
    def f(s, x):
        x = s.drop(s.ident(x)).contiguous().clone()
        x = x.view(x.size(0), 3, 4, 4).reshape(1, 3, 4, 4)
        y = torch.flatten(x, 1)
        return torch.flatten(y, 1).view(-1, 48), F.dropout(x, 0.5, training=False)

    cg = from_torch(Lambda(f, drop=nn.Dropout(0.3), ident=nn.Identity()), (1, 3, 4, 4))
    assert cg.ops == ["input", "flatten", "output", "output"]
    assert cg.inputs[3] == (0,)


@pytest.mark.parametrize("fn, keepdim", [
    (lambda s, x: x.mean((2, 3)), False),
    (lambda s, x: x.mean([-2, -1]), False),
    (lambda s, x: torch.mean(x, dim=(3, 2), keepdim=True), True),
    (lambda s, x: F.adaptive_avg_pool2d(x, 1), True),
    (lambda s, x: F.adaptive_avg_pool2d(x, (1, 1)), True),
    (lambda s, x: s.p1(x), True),
    (lambda s, x: s.p2(x), True),
])
def test_global_avgpool_forms(fn, keepdim):
    cg = from_torch(Lambda(fn, p1=nn.AdaptiveAvgPool2d(1), p2=nn.AdaptiveAvgPool2d((1, 1))),
                    (1, 5, 6, 6))
    assert cg.ops == ["input", "global_avgpool", "output"]
    assert cg.attrs[1] == {"keepdim": keepdim}
    assert cg.shapes[1] == ((5, 1, 1) if keepdim else (5,))


def test_other_means_and_pools():
    cg = from_torch(Lambda(lambda s, x: (x.mean(1), s.ap(x), F.max_pool2d(x, 2),
                                         F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
                                         s.mp(x)),
                           ap=nn.AdaptiveAvgPool2d(3), mp=nn.MaxPool2d(3, 2, ceil_mode=True)),
                    (1, 4, 6, 6))
    rows = [(n.op, n.attrs, n.shape) for n in cg if n.op not in ("input", "output")]
    assert rows == [
        ("mean", {"dims": (1,), "keepdim": False}, (6, 6)),
        ("adaptive_avgpool", {"output_size": (3, 3)}, (4, 3, 3)),
        ("maxpool", {"kernel": (2, 2), "stride": (2, 2), "padding": (0, 0)}, (4, 3, 3)),
        ("avgpool", {"kernel": (3, 3), "stride": (2, 2), "padding": (1, 1),
                     "count_include_pad": False}, (4, 3, 3)),
        ("maxpool", {"kernel": (3, 3), "stride": (2, 2), "padding": (0, 0), "ceil_mode": True},
         (4, 3, 3)),
    ]
    # ceil_mode survives the round trip through to_torch
    assert from_torch(cg.to_torch(), (1, 4, 6, 6)) == cg


def test_softmax_axis_is_negative():
    cg = from_torch(Lambda(lambda s, x: (F.softmax(x, 1), x.softmax(-1), s.sm(x),
                                         torch.softmax(x, dim=3)), sm=nn.Softmax(dim=2)),
                    (1, 2, 3, 4))
    assert [n.attrs["axis"] for n in cg if n.op == "softmax"] == [-3, -1, -2, -1]
    b = GraphBuilder((2, 3, 4))
    b.softmax(b.input, axis=1)  # the builder stores a negative axis too
    assert b.attrs[-1] == {"axis": -3}


def test_concat_split_slice_transpose():
    def f(s, x):
        a, b = x.chunk(2, dim=1)
        c, d, e = torch.split(x, [1, 2, 1], dim=-3)
        y = torch.cat([a, b, c], dim=-3)
        z = torch.cat([x], 1)
        return (y, z, d, e, x[:, :2], x[..., 1:, ::2], x.permute(0, 2, 3, 1),
                x.transpose(1, 2), x[:, :])

    cg = from_torch(Lambda(f), (1, 4, 6, 6))
    rows = [(n.op, n.attrs, n.shape) for n in cg if n.op not in ("input", "output")]
    assert rows == [
        ("slice", {"slices": ((1, 0, 2, 1),)}, (2, 6, 6)),
        ("slice", {"slices": ((1, 2, 4, 1),)}, (2, 6, 6)),
        ("slice", {"slices": ((1, 0, 1, 1),)}, (1, 6, 6)),
        ("slice", {"slices": ((1, 1, 3, 1),)}, (2, 6, 6)),
        ("slice", {"slices": ((1, 3, 4, 1),)}, (1, 6, 6)),
        ("concat", {"axis": 1}, (5, 6, 6)),
        ("slice", {"slices": ((1, 0, 2, 1),)}, (2, 6, 6)),
        ("slice", {"slices": ((2, 1, 6, 1), (3, 0, 6, 2))}, (4, 5, 3)),
        ("transpose", {"perm": (0, 2, 3, 1)}, (6, 6, 4)),
        ("transpose", {"perm": (0, 2, 1, 3)}, (6, 4, 6)),
    ]
    outs = [cg.inputs[i][0] for i in cg.output_nodes()]
    assert outs[1] == 0 and outs[-1] == 0  # cat of one tensor, x[:, :]: no nodes


def test_reshape_kinds_and_chains():
    def f(s, x):
        t = x.flatten(2)                       # (C, HW): reshape
        u = t.transpose(1, 2).transpose(1, 2)  # two transposes cancel
        v = x.view(1, -1)                      # flatten
        w = v.unsqueeze(-1).unsqueeze(-1)      # chained reshapes -> one
        return u, v, w

    cg = from_torch(Lambda(f), (1, 3, 2, 2))
    assert [n.op for n in cg] == ["input", "reshape", "flatten", "reshape", "output", "output",
                                  "output"]
    assert cg.shapes[1:4] == [(3, 4), (12,), (12, 1, 1)]
    assert cg.inputs[3] == (2,)  # one reshape (12,) -> (12, 1, 1), from the flatten


def test_functional_weighted_ops():
    class Functional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.randn(8, 3, 3, 3))
            self.b = nn.Parameter(torch.zeros(8))
            self.gamma = nn.Parameter(torch.ones(8))
            self.beta = nn.Parameter(torch.zeros(8))
            self.register_buffer("mean", torch.zeros(8))
            self.register_buffer("var", torch.ones(8))
            self.lw = nn.Parameter(torch.randn(5, 8))
            self.ln_w = nn.Parameter(torch.ones(8))
            self.ln_b = nn.Parameter(torch.zeros(8))

        def forward(self, x):
            x = F.conv2d(x, self.w, self.b, stride=2, padding=1)
            x = F.batch_norm(x, self.mean, self.var, self.gamma, self.beta)
            x = F.relu(x).mean((2, 3))
            x = F.layer_norm(x, (8,), self.ln_w, self.ln_b)
            return F.linear(x, self.lw)

    m = Functional()
    cg = from_torch(m, (1, 3, 8, 8))
    assert [(n.op, n.attrs) for n in cg if n.op not in ("input", "output")] == [
        ("conv", {"kernel": (3, 3), "stride": (2, 2), "padding": (1, 1), "dilation": (1, 1),
                  "groups": 1, "bias": True}),
        ("batchnorm", {"affine": True}),
        ("relu", {}),
        ("global_avgpool", {"keepdim": False}),
        ("layernorm", {"normalized_shape": (8,), "affine": True}),
        ("linear", {"bias": False}),
    ]
    assert cg.num_params() == sum(p.numel() for p in m.parameters())


def test_module_forms():
    class MyConv(nn.Conv2d):  # a subclass that keeps Conv2d.forward is a conv
        pass

    class Block(nn.Module):  # user modules are traced through
        def __init__(self) -> None:
            super().__init__()
            self.conv = MyConv(3, 4, 3, padding="same", bias=False)
            self.act = nn.Hardtanh(0.0, 6.0)
            self.pad = nn.ZeroPad2d((1, 0, 1, 0))
            self.up = nn.Upsample(scale_factor=2)
            self.ln = nn.LayerNorm([4, 16, 16], elementwise_affine=False)

        def forward(self, x):
            x = self.pad(self.act(self.conv(x)))
            x = F.interpolate(x, size=(8, 8), mode="bilinear")
            return self.ln(self.up(F.pad(x, [0, 0, 0, 0])))[:, :, :8, :8], F.pad(x, [1, 1], value=2.0)

    cg = from_torch(Block(), (1, 3, 4, 4))
    rows = [(n.op, n.attrs, n.shape) for n in cg if n.op not in ("input", "output")]
    assert rows == [
        ("conv", {"kernel": (3, 3), "stride": (1, 1), "padding": (1, 1), "dilation": (1, 1),
                  "groups": 1, "bias": False}, (4, 4, 4)),
        ("relu6", {}, (4, 4, 4)),
        ("pad", {"pad": (1, 0, 1, 0), "value": 0.0}, (4, 5, 5)),
        ("upsample", {"mode": "bilinear"}, (4, 8, 8)),
        ("upsample", {"mode": "nearest"}, (4, 16, 16)),
        ("layernorm", {"normalized_shape": (4, 16, 16), "affine": False}, (4, 16, 16)),
        ("slice", {"slices": ((2, 0, 8, 1), (3, 0, 8, 1))}, (4, 8, 8)),
        ("pad", {"pad": (1, 1), "value": 2.0}, (4, 8, 10)),
    ]


def test_inplace_ops_and_silu_forms():
    def f(s, x):
        y = x * 2
        y.add_(x)          # y is updated in place
        s.relu(y)          # nn.ReLU(inplace=True) without assignment
        z = y * torch.sigmoid(y)   # written-out swish
        w = F.silu(y) + torch.sigmoid(y) * y
        return y, z, w

    cg = from_torch(Lambda(f, relu=nn.ReLU(inplace=True)), (1, 4))
    assert [n.op for n in cg if n.op not in ("input", "output")] == \
        ["scale", "add", "relu", "silu", "silu", "silu", "add"]
    assert cg.node(cg.inputs[cg.output_nodes()[0]][0]).op == "relu"


def test_matmul_forms():
    def f(s, x):
        k = x.transpose(-2, -1)
        return x @ k, torch.matmul(x, k), torch.bmm(x, k), x.matmul(k)

    cg = from_torch(Lambda(f), (1, 3, 5))
    assert cg.op_counts()["matmul"] == 4 and cg.op_counts()["transpose"] == 1
    assert all(cg.shapes[i] == (3, 3) for i, op in enumerate(cg.ops) if op == "matmul")


def test_multiple_inputs_and_outputs():
    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, a, b, scale: float = 2.0):
            s = a + self.fc(b)
            return {"sum": s, "scaled": s * scale}

    cg = from_torch(Two(), [(1, 4), (1, 4)])
    assert cg.ops == ["input", "input", "linear", "add", "scale", "output", "output"]
    assert cg.inputs[3] == (0, 2) and cg.attrs[4] == {"value": 2.0}


def test_dead_code_is_dropped():
    cg = from_torch(Lambda(lambda s, x: (torch.relu(x), torch.tanh(x))[0]), (1, 4))
    assert cg.ops == ["input", "relu", "output"]


# ============================================================ bad input
class ErfNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return torch.erf(self.conv(x)) + 1


class FFTNet(nn.Module):
    def forward(self, x):
        return torch.fft.fft2(x).abs()


def test_unknown_function_raises_naming_op_and_node():
    with pytest.raises(UnknownOperatorError) as info:
        from_torch(ErfNet(), (1, 3, 8, 8))
    msg = str(info.value)
    assert "torch.erf" in msg and "'erf'" in msg and "allow_unknown=True" in msg
    with pytest.raises(UnknownOperatorError, match=r"torch\.fft\.fft2.*fft_fft2"):
        from_torch(FFTNet(), (1, 3, 8, 8))


def test_unknown_allowed_gives_unknown_nodes():
    cg = from_torch(ErfNet(), (1, 3, 8, 8), allow_unknown=True)
    assert cg.ops == ["input", "conv", "unknown", "shift", "output"]
    assert cg.attrs[2] == {"target": "torch.erf"} and cg.shapes[2] == (4, 6, 6)
    assert cg.inputs[2] == (1,)
    cg = from_torch(FFTNet(), (1, 3, 8, 8), allow_unknown=True)
    assert [a.get("target") for a in cg.attrs[1:3]] == ["torch.fft.fft2", "Tensor.abs"]


def test_unknown_module_and_parameter_operand():
    with pytest.raises(UnknownOperatorError, match=r"torch\.nn\.LeakyReLU.*node 'act'"):
        from_torch(Lambda(lambda s, x: s.act(x), act=nn.LeakyReLU()), (1, 4))

    class PosEmbed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pos = nn.Parameter(torch.zeros(1, 4, 8))

        def forward(self, x):
            return x + self.pos

    with pytest.raises(UnknownOperatorError, match="parameter"):
        from_torch(PosEmbed(), (1, 4, 8))
    cg = from_torch(PosEmbed(), (1, 4, 8), allow_unknown=True)
    assert cg.ops == ["input", "unknown", "output"] and cg.inputs[1] == (0,)


def bump(x, training):
    """Returns ``x`` itself: the identity in eval mode, an in-place change while training."""
    return x.add_(1) if training else x


def bump_always(x):
    return x.add_(1)


torch.fx.wrap("bump")  # leaves of fx tracing, as torchvision's stochastic_depth is
torch.fx.wrap("bump_always")


def test_a_function_that_returns_its_input_unchanged_is_no_node_and_one_that_modifies_it_is_unknown():
    net = Lambda(lambda s, x: bump(s.conv(x), s.training), conv=nn.Conv2d(3, 4, 3))
    assert net.training
    assert from_torch(net, (1, 3, 8, 8)).ops == ["input", "conv", "output"]  # imported in eval mode
    assert net.training  # and the module's own mode is given back
    with pytest.raises(UnknownOperatorError, match="bump_always"):
        from_torch(Lambda(lambda s, x: bump_always(s.conv(x)), conv=nn.Conv2d(3, 4, 3)), (1, 3, 8, 8))


@pytest.mark.parametrize("shape, is_conv", [((4, 1, 1), True), ((1, 4, 1, 1), True), ((6,), False),
                                            ((4, 6, 6), False), ((1, 1, 1), False)])
def test_a_learned_per_channel_scale_is_a_depthwise_1x1_conv(shape, is_conv):
    net = Lambda(lambda s, x: s.gamma * s.conv(x), conv=nn.Conv2d(3, 4, 3))
    net.gamma = nn.Parameter(torch.rand(shape))
    if not is_conv:
        with pytest.raises(UnknownOperatorError, match="with a parameter operand"):
            from_torch(net, (1, 3, 8, 8))
        return
    cg = from_torch(net, (1, 3, 8, 8))
    assert cg.ops == ["input", "conv", "conv", "output"] and cg.attrs[2]["groups"] == 4
    assert cg.num_params() == sum(p.numel() for p in net.parameters())
    rebuilt = cg.to_torch()
    with torch.no_grad():  # the same function: copy the weights over, compare outputs
        first, second = (m for m in rebuilt.modules() if isinstance(m, nn.Conv2d))
        first.load_state_dict(net.conv.state_dict())
        second.weight.copy_(net.gamma.reshape(4, 1, 1, 1))
        x = torch.randn(2, 3, 8, 8)
        torch.testing.assert_close(rebuilt.eval()(x), net(x))


def test_autograd_function_is_traced_through():
    class Double(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    cg = from_torch(Lambda(lambda s, x: Double.apply(x)), (1, 4))
    assert cg.ops == ["input", "scale", "output"]


def test_forward_failure_is_a_clear_error():
    class Mismatch(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(3, 8, 1)
            self.b = nn.Conv2d(3, 4, 1)

        def forward(self, x):
            return self.a(x) + self.b(x)

    with pytest.raises(ModelImportError, match=r"forward pass of Mismatch.*node 'add'.*input_shape"):
        from_torch(Mismatch(), (1, 3, 8, 8))
    with pytest.raises(CgnasError, match="input_shape"):
        from_torch(nn.Linear(10, 5), (1, 7))


def test_untraceable_forward_is_a_clear_error():
    class Branchy(nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x
            return -x

    with pytest.raises(ModelImportError, match="could not trace Branchy.*control flow"):
        from_torch(Branchy(), (1, 3))


def test_bad_arguments():
    with pytest.raises(CgnasError, match="nn.Module"):
        from_torch(lambda x: x, (1, 3))
    with pytest.raises(CgnasError, match="input_shape"):
        from_torch(nn.ReLU(), (1, 0, 3))
    with pytest.raises(CgnasError, match="input_shape"):
        from_torch(nn.ReLU(), "1,3")
