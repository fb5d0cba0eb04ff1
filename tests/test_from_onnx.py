"""``cgnas.export_onnx`` / ``cgnas.from_onnx``: agreement with ``from_torch``, the op
mapping, bad files."""

from __future__ import annotations

import random

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper
from torch import nn

import cgnas
from cgnas import CgnasError, ModelImportError, UnknownOperatorError
from cgnas.graph.onnx_io import DEFAULT_OPSET

try:
    from tests import torch_zoo as zoo
    from tests.test_from_torch import BUILDER_GRAPHS, ErfNet, Lambda
except ImportError:  # tests/ is on sys.path (pytest's default rootdir insertion)
    import torch_zoo as zoo
    from test_from_torch import BUILDER_GRAPHS, ErfNet, Lambda

from_onnx, export_onnx, from_torch = cgnas.from_onnx, cgnas.export_onnx, cgnas.from_torch


def via_onnx(module, shape, tmp_path, name="m.onnx", **kw):
    path = export_onnx(module, shape, tmp_path / name, **kw)
    return from_onnx(path)


# ============================================================ agreement
@pytest.mark.parametrize("make", BUILDER_GRAPHS.values(), ids=BUILDER_GRAPHS.keys())
def test_builder_graph_through_onnx(make, tmp_path):
    cg = make()
    path = export_onnx(cg, None, tmp_path / "cg.onnx")  # a CompGraph exports via to_torch()
    back = from_onnx(path)
    assert back.same_as(cg)
    assert back.num_params() == cg.num_params()


@pytest.mark.parametrize("name", list(zoo.ZOO))
def test_zoo_network_agrees_with_from_torch(name, tmp_path):
    module, shape = zoo.ZOO[name]()
    cg = from_torch(module, shape)
    back = via_onnx(module, shape, tmp_path)
    assert back.same_as(cg)
    assert back.num_params() == sum(p.numel() for p in module.parameters())


def test_gelu_decomposition_of_older_opsets(tmp_path):
    module, shape = zoo.transformer()
    path = export_onnx(module, shape, tmp_path / "t17.onnx", opset=17)
    assert "Erf" in {n.op_type for n in onnx.load(str(path)).graph.node}
    back = from_onnx(path)
    assert back.op_counts()["gelu"] == 1
    assert back.same_as(from_torch(module, shape))


@pytest.mark.parametrize("space_name", ["nb201", "nb101"])
def test_space_arch_through_onnx(space_name, tmp_path):
    try:
        space = cgnas.space(space_name)
    except (CgnasError, ImportError) as exc:
        pytest.skip(f"space {space_name} unavailable: {exc}")
    cg = space.to_cg(space.sample(random.Random(3)))
    assert from_onnx(export_onnx(cg, None, tmp_path / "s.onnx")).same_as(cg)


# ============================================================ export
def test_export_keeps_batchnorm_and_duplicates(tmp_path):
    module, shape = zoo.resnet()
    module.train()
    path = export_onnx(module, shape, tmp_path / "r.onnx")
    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert ops.count("BatchNormalization") == 15 and ops.count("Conv") == 15
    assert all(m.training for m in module.modules())  # mode restored
    assert [p.name for p in tmp_path.iterdir()] == ["r.onnx"]  # no temporary left behind
    # two identical poolings of one tensor stay two nodes (no CSE)
    cg = from_onnx(export_onnx(Lambda(lambda s, x: F.avg_pool2d(x, 2) + F.avg_pool2d(x, 2)),
                               (1, 2, 4, 4), tmp_path / "d.onnx"))
    assert cg.op_counts()["avgpool"] == 2


def test_export_errors_leave_nothing(tmp_path):
    with pytest.raises(CgnasError, match="export"):
        export_onnx(nn.Linear(4, 2), (1, 3), tmp_path / "bad.onnx")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(CgnasError, match="opset"):
        export_onnx(nn.ReLU(), (1, 3), tmp_path / "x.onnx", opset=11)
    with pytest.raises(CgnasError, match="input_shape"):
        export_onnx(nn.ReLU(), None, tmp_path / "x.onnx")
    assert DEFAULT_OPSET >= 17


# ============================================================ mapping
def make_model(nodes, inputs, outputs, initializers=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def tensor(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array, dtype=np.float32), name)


def test_handmade_graph_mapping():
    """Gemm after Flatten, MatMul + Add bias, Clip(0, 6), scalars, ReduceMean, Split, Pad."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                         strides=[2, 2], group=1),
        helper.make_node("Clip", ["c", "zero", "six"], ["r"]),
        helper.make_node("Mul", ["r", "half"], ["s"]),
        helper.make_node("Sub", ["s", "one"], ["t"]),
        helper.make_node("Split", ["t", "sizes"], ["a", "b"], axis=1),
        helper.make_node("Pad", ["a", "pads"], ["p"], mode="constant"),
        helper.make_node("ReduceMean", ["b"], ["m"], axes=[2, 3], keepdims=0),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "fw", "fb"], ["g"], transB=1),
        helper.make_node("MatMul", ["m", "mw"], ["mm"]),
        helper.make_node("Add", ["mb", "mm"], ["lin"]),
        helper.make_node("Concat", ["g", "lin"], ["out"], axis=-1),
    ]
    inits = [init("w", np.zeros((4, 3, 3, 3))), init("zero", 0.0), init("six", 6.0),
             init("half", 0.5), init("one", 1.0),
             numpy_helper.from_array(np.array([1, 3], dtype=np.int64), "sizes"),
             numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=np.int64), "pads"),
             init("fw", np.zeros((5, 1 * 6 * 6))), init("fb", np.zeros(5)),
             init("mw", np.zeros((3, 7))), init("mb", np.zeros(7))]
    model = make_model(nodes, [tensor("x", ["N", 3, 8, 8])], [tensor("out", ["N", "K"])], inits,
                       opset=17)
    cg = from_onnx(model)
    rows = [(n.op, n.attrs, n.shape) for n in cg if n.op not in ("input", "output")]
    assert rows == [
        ("conv", {"kernel": (3, 3), "stride": (2, 2), "padding": (1, 1), "dilation": (1, 1),
                  "groups": 1, "bias": False}, (4, 4, 4)),
        ("relu6", {}, (4, 4, 4)),
        ("scale", {"value": 0.5}, (4, 4, 4)),
        ("shift", {"value": -1.0}, (4, 4, 4)),
        ("slice", {"slices": ((1, 0, 1, 1),)}, (1, 4, 4)),
        ("slice", {"slices": ((1, 1, 4, 1),)}, (3, 4, 4)),
        ("pad", {"pad": (1, 1, 1, 1), "value": 0.0}, (1, 6, 6)),
        ("global_avgpool", {"keepdim": False}, (3,)),
        ("flatten", {"start_dim": 1}, (36,)),
        ("linear", {"bias": True}, (5,)),
        ("linear", {"bias": True}, (7,)),
        ("concat", {"axis": 1}, (12,)),
    ]
    assert cg.shapes[0] == (3, 8, 8)  # the dynamic batch dim is fixed to 1
    same = from_onnx(model.SerializeToString())  # serialized bytes work too
    assert same == cg


def test_slices_of_several_axes_merge(tmp_path):
    f = Lambda(lambda s, x: (x[:, 1:, 2:, ::2], x[:, :, 1:]))
    back = via_onnx(f, (1, 4, 6, 6), tmp_path)
    assert back.same_as(from_torch(f, (1, 4, 6, 6)))
    assert back.op_counts()["slice"] == 2


def test_affine_flags_survive(tmp_path):
    f = Lambda(lambda s, x: s.ln(s.bn(x).flatten(2)),
               bn=nn.BatchNorm2d(3, affine=False), ln=nn.LayerNorm(16, elementwise_affine=False))
    back = via_onnx(f, (1, 3, 4, 4), tmp_path)
    assert back.same_as(from_torch(f, (1, 3, 4, 4)))
    assert [a["affine"] for a, op in zip(back.attrs, back.ops) if "norm" in op] == [False, False]


def test_more_ops_agree(tmp_path):
    class More(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=2, bias=True)
            self.up = nn.Upsample(scale_factor=2)

        def forward(self, x):
            a, b = x.chunk(2, 1)
            y = torch.cat([b, a * torch.sigmoid(a)], 1)
            y = F.silu(self.conv(y)) - x
            y = F.pad(F.max_pool2d(y, 2), [1, 1, 1, 1], value=0.5)
            z = self.up(y).permute(0, 2, 3, 1).softmax(-1)
            return z, torch.tanh(y / 3) * 0, x.mean(1, keepdim=True), -y

    m = More()
    assert via_onnx(m, (1, 4, 8, 8), tmp_path).same_as(from_torch(m, (1, 4, 8, 8)))


def test_identity_pools_and_nested_concats_import_the_same_both_ways(tmp_path):
    class Forms(nn.Module):
        """VGG's adaptive pool to the map's own size (ONNX: a 1x1 AveragePool), a 1x1 max pool,
        Inception-v3's concat inside a concat, and a concat that another op also reads."""

        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.pool = nn.AdaptiveAvgPool2d(8)

        def forward(self, x):
            a = F.max_pool2d(self.pool(self.conv(x)), 1)
            inner = torch.cat([a, a.relu()], 1)
            shared = torch.cat([a, -a], 1)
            return torch.cat([a, inner], 1), torch.cat([shared, a], 1), shared.sigmoid()

    m = Forms()
    cg = from_torch(m, (1, 3, 8, 8))
    concats = sorted(len(n.inputs) for n in cg if n.op == "concat")
    assert concats == [2, 2, 3]  # only the inner concat with one reader is merged
    assert not {"adaptive_avgpool", "maxpool", "avgpool"} & set(cg.op_counts())
    assert via_onnx(m, (1, 3, 8, 8), tmp_path).same_as(cg)


# ============================================================ bad input
def test_unknown_onnx_op(tmp_path):
    path = export_onnx(ErfNet(), (1, 3, 8, 8), tmp_path / "erf.onnx")
    with pytest.raises(UnknownOperatorError) as info:
        from_onnx(path)
    msg = str(info.value)
    assert "'Erf'" in msg and "'/Erf'" in msg and "allow_unknown=True" in msg
    cg = from_onnx(path, allow_unknown=True, name="erf")
    assert cg.ops == ["input", "conv", "unknown", "shift", "output"]
    assert cg.attrs[2] == {"target": "Erf"} and cg.shapes[2] == (4, 6, 6) and cg.name == "erf"
    assert cg.ops == from_torch(ErfNet(), (1, 3, 8, 8), allow_unknown=True).ops


def test_custom_domain_op():
    nodes = [helper.make_node("Relu", ["x"], ["r"]),
             helper.make_node("Fancy", ["r"], ["y"], domain="my.ops")]
    graph = helper.make_graph(nodes, "g", [tensor("x", [1, 4])], [tensor("y", [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("my.ops", 1)])
    model.graph.value_info.append(tensor("y", [1, 4]))
    with pytest.raises(UnknownOperatorError, match=r"my\.ops\.Fancy"):
        from_onnx(model)
    cg = from_onnx(model, allow_unknown=True)
    assert cg.ops == ["input", "relu", "unknown", "output"]


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(ModelImportError, match="not found"):
        from_onnx(tmp_path / "missing.onnx")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"this is not an onnx model at all \x00\xff" * 10)
    with pytest.raises(CgnasError, match="garbage.onnx"):
        from_onnx(garbage)
    good = export_onnx(nn.Sequential(nn.Linear(4, 4), nn.ReLU()), (1, 4), tmp_path / "good.onnx")
    data = good.read_bytes()
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CgnasError, match="truncated.onnx"):
        from_onnx(truncated)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(CgnasError, match="empty.onnx"):
        from_onnx(empty)


def test_dynamic_feature_dim_is_refused():
    model = make_model([helper.make_node("Relu", ["x"], ["y"])],
                       [tensor("x", ["N", "C"])], [tensor("y", ["N", "C"])])
    with pytest.raises(ModelImportError, match="dynamic dim 1"):
        from_onnx(model)
