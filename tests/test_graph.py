"""CompGraph, GraphBuilder, to_torch, features, JSON and drawing on hand-built graphs."""

import json

import pytest
import torch

from cgnas.errors import CgnasError, ShapeError
from cgnas.graph import CompGraph, GraphBuilder
from cgnas.graph.features import NUM_FEATURES, node_features


def small_net() -> CompGraph:
    """conv-bn-relu, a residual add with a 1x1 branch, a zero branch, concat, SE, head."""
    b = GraphBuilder((3, 32, 32), name="small")
    x = b.relu(b.bn(b.conv(b.input, 16, 3)))
    y = b.add(x, b.conv(b.input, 16, 1), b.zero(x))
    z = b.concat([y, b.maxpool(x, 3, 1, 1)])
    z = b.conv(z, 32, 3, stride=2, groups=32)
    gate = b.hsigmoid(b.conv(b.relu(b.conv(b.global_avgpool(z, keepdim=True), 8, 1, bias=True)), 32, 1, bias=True))
    z = b.mul(z, gate)
    z = b.slice_channels(b.slice_spatial(z, 1), 20)
    return b.build(b.linear(b.global_avgpool(z), 10))


def test_builder_infers_shapes():
    cg = small_net()
    assert cg.shapes[0] == (3, 32, 32)
    convs = [i for i, op in enumerate(cg.ops) if op == "conv"]
    assert cg.shapes[convs[2]] == (32, 16, 16)  # strided depthwise conv
    assert cg.ops.count("add") == 2  # a 3-way sum is two binary adds
    assert cg.shapes[-1] == (10,)
    assert all(j < i for i, ins in enumerate(cg.inputs) for j in ins)


def test_params_match_torch_module():
    cg = small_net()
    net = cg.to_torch()
    assert sum(p.numel() for p in net.parameters()) == cg.num_params()
    # hand count: conv3x3 3->16 (432) + bn (32) + conv1x1 (48) + dw conv 32 groups (288)
    # + SE convs (32*8+8 + 8*32+32) + linear 20*10+10
    assert cg.num_params() == 432 + 32 + 48 + 288 + (256 + 8) + (256 + 32) + 210
    out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10)


def test_shape_errors_are_typed():
    b = GraphBuilder((3, 8, 8))
    a = b.conv(b.input, 4, 3)
    c = b.conv(b.input, 8, 3)
    with pytest.raises(ShapeError, match="do not broadcast"):
        b.add(a, c)
    with pytest.raises(ShapeError, match="groups"):
        b.conv(a, 6, 3, groups=4)
    with pytest.raises(ShapeError, match="empty output"):
        b.conv(b.input, 4, 11, padding=0)


def test_json_round_trip(tmp_path):
    cg = small_net()
    again = CompGraph.from_json(cg.to_json())
    assert again == cg
    path = cg.save(tmp_path / "g.json")
    assert CompGraph.load(path) == cg
    data = json.loads(cg.to_json())
    data["format_version"] = 999
    with pytest.raises(CgnasError, match="format version"):
        CompGraph.from_dict(data)
    with pytest.raises(CgnasError, match="not valid JSON"):
        CompGraph.from_json("{nope")


def permuted(cg: CompGraph, seed: int) -> CompGraph:
    """The same graph with nodes in another topological order (ties broken at random)."""
    import random

    rng = random.Random(seed)
    indeg = [len(ins) for ins in cg.inputs]
    consumers = [[] for _ in cg.ops]
    for d, ins in enumerate(cg.inputs):
        for s in ins:
            consumers[s].append(d)
    ready = [i for i, n in enumerate(indeg) if n == 0]
    order = []
    while ready:
        i = ready.pop(rng.randrange(len(ready)))
        order.append(i)
        for d in consumers[i]:
            indeg[d] -= 1
            if indeg[d] == 0:
                ready.append(d)
    new = {old: k for k, old in enumerate(order)}
    return CompGraph([cg.ops[i] for i in order], [tuple(new[j] for j in cg.inputs[i]) for i in order],
                     [cg.shapes[i] for i in order], [cg.attrs[i] for i in order])


def test_signature_is_invariant_to_node_order_and_sees_changes():
    cg = small_net()
    other = permuted(cg, 3)
    assert other.ops != cg.ops or other.inputs != cg.inputs
    assert other.same_as(cg) and other.signature() == cg.signature()
    b = GraphBuilder((3, 32, 32))
    changed = b.build(b.linear(b.global_avgpool(b.relu(b.conv(b.input, 16, 5))), 10))
    b = GraphBuilder((3, 32, 32))
    base = b.build(b.linear(b.global_avgpool(b.relu(b.conv(b.input, 16, 3))), 10))
    assert not changed.same_as(base)


def test_features_shapes_and_ranges():
    cg = small_net()
    ops, feats = node_features(cg)
    assert ops.shape == (len(cg),) and feats.shape == (len(cg), NUM_FEATURES)
    assert 0 <= feats.min() and feats.max() <= 1.5
    data = cg.to_pyg()
    assert data.edge_index.shape == (2, cg.num_edges)
    assert data.num_nodes == len(cg)
    weighted = feats[:, -1] == 1
    assert weighted.sum() == sum(op in ("conv", "batchnorm", "linear") for op in cg.ops)


def test_draw_png_svg_and_dot(tmp_path):
    cg = small_net()
    png = cg.draw(tmp_path / "g.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    svg = cg.draw(tmp_path / "g.svg")
    assert "<svg" in svg.read_text()
    dot = cg.to_dot()
    assert dot.count("->") == cg.num_edges
    with pytest.raises(CgnasError, match="png"):
        cg.draw(tmp_path / "g.gif")
    assert not list(tmp_path.glob(".*tmp"))


def test_descriptor_counts_nodes_by_cell_and_keeps_a_stage_at_its_level_across_resolutions():
    import random
    from dataclasses import replace

    import numpy as np

    import cgnas
    from cgnas.data.graphset import GraphSet
    from cgnas.graph.descriptor import DESCRIPTOR_LENGTH, NUM_CELLS

    space = cgnas.space("ofa_mbv3")
    arch = space.sample(random.Random(0))
    cgs = [space.to_cg(replace(arch, r=r)) for r in (160, 224)]
    desc = GraphSet.from_cgs(cgs).descriptors()
    assert desc.shape == (2, DESCRIPTOR_LENGTH)
    assert desc[0, :NUM_CELLS].sum() == len(cgs[0])  # every node in exactly one cell
    np.testing.assert_array_equal(desc[0, :2 * NUM_CELLS], desc[1, :2 * NUM_CELLS])  # same stages, same levels
    np.testing.assert_allclose(desc[:, -3:], [[np.log2(cg.macs()), np.log2(cg.num_params()), np.log2(r)]
                                              for cg, r in zip(cgs, (160, 224))])
    nb201 = cgnas.space("nb201")
    cells = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
             "|nor_conv_1x1~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"]
    a, b = GraphSet.from_cgs([nb201.to_cg(nb201.parse(c)) for c in cells]).descriptors()
    assert not np.array_equal(a, b)


def test_dropping_table_constant_descriptor_columns_leaves_a_ridge_unchanged(tmp_path):
    import numpy as np

    from cgnas.data.cache import labeled_graphs
    from cgnas.graph.descriptor import DESCRIPTOR_LENGTH, varying_columns
    from cgnas.model.ridge import RidgeLOO

    graphs, labels = labeled_graphs("nb201", "cifar10_test", tmp_path, limit=200, progress=False)
    full = graphs.descriptors()
    compact = varying_columns(full)
    assert compact.shape[0] == 200 and compact.shape[1] < DESCRIPTOR_LENGTH / 100
    assert np.ptp(compact, axis=0).min() > 0 and compact.shape[1] == (np.ptp(full, axis=0) > 0).sum()
    np.testing.assert_allclose(RidgeLOO().fit(compact[:40], labels[:40]).predict(compact[40:]),
                               RidgeLOO().fit(full[:40], labels[:40]).predict(full[40:]), rtol=1e-12)
