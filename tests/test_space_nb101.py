"""NAS-Bench-101 space: parsing, validation, official hash, real-network parameter counts."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest
import torch

from cgnas.data.paths import data_file
from cgnas.errors import InvalidArchitectureError
from cgnas.spaces.nb101 import NB101Arch, NB101Space, compute_vertex_channels


@pytest.fixture(scope="module")
def space() -> NB101Space:
    return NB101Space()


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return pd.read_csv(data_file("nb101/nb101_30k.csv"))


@pytest.fixture(scope="module")
def archs(space, table) -> list[NB101Arch]:
    return [space.parse({"matrix": json.loads(a), "ops": o}) for a, o in zip(table.adjacency, table.ops)]


EXAMPLE = {"matrix": [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
           "ops": ["input", "conv3x3-bn-relu", "maxpool3x3", "output"]}


# ------------------------------------------------------------------ parse / format
def test_parse_forms_agree(space):
    a = space.parse(EXAMPLE)
    assert a == space.parse(json.dumps(EXAMPLE))
    assert a == space.parse("0110,0001,0001,0000;in,c3,mp,out")
    assert a == space.parse("0110,0001,0001,0000;input,conv3x3-bn-relu,maxpool3x3,output")
    assert a == space.parse((EXAMPLE["matrix"], EXAMPLE["ops"]))
    assert a == space.parse({"matrix": EXAMPLE["matrix"], "ops": "|".join(EXAMPLE["ops"])})
    assert a == space.parse({"module_adjacency": EXAMPLE["matrix"], "module_operations": EXAMPLE["ops"]})
    assert a.num_vertices == 4 and a.num_edges == 4


def test_round_trip(space, archs):
    for a in archs[:500]:
        assert space.parse(space.format(a)) == a
        assert space.parse(space.compact(a)) == a
        assert space.parse(a.to_dict()) == a
    assert json.loads(space.format(archs[0])) == archs[0].to_dict()


def test_pruning_like_official(space):
    # vertex 2 is a dead end (no path to output), vertex 3 is unreachable from the input
    spec = {"matrix": [[0, 1, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
            "ops": ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "output"]}
    a = space.parse(spec)
    assert a.matrix == ((0, 1, 0), (0, 0, 1), (0, 0, 0))
    assert a.ops == ("input", "conv3x3-bn-relu", "output")
    # 8 vertices are fine when pruning leaves 7
    m = [[0, 1, 0, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0, 0],
         [0, 0, 0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0, 0, 1],
         [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]]
    ops = ["input"] + ["conv3x3-bn-relu"] * 6 + ["output"]
    assert space.parse({"matrix": m, "ops": ops}).num_vertices == 7


BAD = {
    "not square": ({"matrix": [[0, 1], [0, 0, 0]], "ops": ["input", "output"]}, "square"),
    "ops length": ({"matrix": [[0, 1], [0, 0]], "ops": ["input", "conv3x3-bn-relu", "output"]}, "len(ops)"),
    "entry not 0/1": ({"matrix": [[0, 2], [0, 0]], "ops": ["input", "output"]}, "0 or 1"),
    "backward edge": ({"matrix": [[0, 1, 0], [0, 0, 1], [1, 0, 0]],
                       "ops": ["input", "conv3x3-bn-relu", "output"]}, "cycle or backward edge"),
    "self loop": ({"matrix": [[0, 1, 0], [0, 1, 1], [0, 0, 0]],
                   "ops": ["input", "conv3x3-bn-relu", "output"]}, "self-loop"),
    "first op": ({"matrix": [[0, 1], [0, 0]], "ops": ["conv3x3-bn-relu", "output"]}, "ops[0]"),
    "last op": ({"matrix": [[0, 1], [0, 0]], "ops": ["input", "maxpool3x3"]}, "ops[-1]"),
    "unknown op": ({"matrix": [[0, 1, 0], [0, 0, 1], [0, 0, 0]],
                    "ops": ["input", "conv5x5-bn-relu", "output"]}, "not an interior op"),
    "too many vertices": ({"matrix": [[1 if j == i + 1 else 0 for j in range(8)] for i in range(8)],
                           "ops": ["input"] + ["conv1x1-bn-relu"] * 6 + ["output"]}, "at most 7"),
    "too many edges": ({"matrix": [[1 if j > i else 0 for j in range(7)] for i in range(7)],
                        "ops": ["input"] + ["conv1x1-bn-relu"] * 5 + ["output"]}, "at most 9"),
    "disconnected": ({"matrix": [[0, 1, 0], [0, 0, 0], [0, 0, 0]],
                      "ops": ["input", "conv3x3-bn-relu", "output"]}, "no path"),
    "one vertex": ({"matrix": [[0]], "ops": ["input"]}, "at least"),
    "missing key": ({"matrix": [[0, 1], [0, 0]]}, "'ops'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_invalid_raises(space, case):
    spec, words = BAD[case]
    with pytest.raises(InvalidArchitectureError, match="nb101") as info:
        space.parse(spec)
    assert words in str(info.value)
    if "ops" in spec:  # the same through the JSON text form
        with pytest.raises(InvalidArchitectureError):
            space.parse(json.dumps(spec))


@pytest.mark.parametrize("text", ["", "   ", "{not json", "[1, 2]", "0110,0001;in,c3", "01x,000,000;in,c3,out",
                                  "hello"])
def test_invalid_text_raises(space, text):
    with pytest.raises(InvalidArchitectureError):
        space.parse(text)


def test_invalid_type_raises(space):
    with pytest.raises(InvalidArchitectureError):
        space.parse(42)


# ------------------------------------------------------------------ official hash
def test_key_equals_hash_for_all_rows(space, table, archs):
    assert len(archs) == 30001
    keys = [space.key(a) for a in archs]
    assert keys == list(table.hash)
    # the pruned spec of every row has the table's vertex count
    assert [a.num_vertices for a in archs] == list(table.num_vertices)


def test_key_is_isomorphism_invariant(space):
    a = space.parse("0110,0001,0001,0000;in,c3,mp,out")
    b = space.parse("0110,0001,0001,0000;in,mp,c3,out")
    c = space.parse("0110,0001,0001,0000;in,c3,c1,out")
    assert space.key(a) == space.key(b) != space.key(c)


# ------------------------------------------------------------------ real network
def test_vertex_channels_official():
    m = [[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert compute_vertex_channels(128, 128, m) == [128, 43, 43, 42, 128]
    chain = [[0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    assert compute_vertex_channels(64, 128, chain) == [64, 128, 128, 128]


def test_params_original_rows_exact(space, table, archs):
    rows = [(a, tp) for a, o, tp in zip(archs, table.spec_is_original, table.trainable_params) if o == 1]
    assert len(rows) == 1000
    bad = [(space.compact(a), space.to_cg(a).num_params(), tp) for a, tp in rows
           if space.to_cg(a).num_params() != tp]
    assert not bad, bad[:5]


def test_params_other_rows_close(space, table, archs):
    idx = [i for i, o in enumerate(table.spec_is_original) if o == 0]
    rng = random.Random(0)
    sample = rng.sample(idx, 300)
    exact = close = 0
    for i in sample:
        n, tp = space.to_cg(archs[i]).num_params(), int(table.trainable_params[i])
        exact += n == tp
        close += abs(n - tp) <= 0.02 * tp
    assert close == len(sample)
    assert exact >= 0.9 * len(sample)


@pytest.mark.parametrize("spec", ["01,00;in,out", "0110,0001,0001,0000;in,c3,mp,out",
                                  "0100000,0010010,0001100,0000101,0000001,0000001,0000000;in,mp,mp,mp,mp,c3,out",
                                  "0100001,0010000,0001000,0000100,0000010,0000001,0000000;in,c3,c1,mp,c3,c1,out"])
def test_to_torch_runs_and_counts(space, spec):
    cg = space.to_cg(space.parse(spec)).validate()
    net = cg.to_torch()
    assert sum(p.numel() for p in net.parameters()) == cg.num_params()
    with torch.no_grad():
        out = net.eval()(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10)


def test_truncation_uses_slices(space):
    # three vertices feed the output: 128 = 43 + 43 + 42, vertex 4 (42) reads vertex 1 (43)
    cg = space.to_cg(space.parse(
        "0100000,0010010,0001100,0000101,0000001,0000001,0000000;in,mp,mp,mp,mp,c3,out"))
    assert cg.op_counts()["slice"] > 0


def test_cg_deterministic(space, archs):
    for a in archs[:20]:
        assert space.to_cg(a) == space.to_cg(a)


# ------------------------------------------------------------------ sample / mutate
def test_sample_and_mutate(space):
    rng1, rng2 = random.Random(7), random.Random(7)
    s1 = [space.sample(rng1) for _ in range(200)]
    s2 = [space.sample(rng2) for _ in range(200)]
    assert s1 == s2
    assert len({space.key(a) for a in s1}) > 50
    m1 = [space.mutate(a, rng1) for a in s1]
    m2 = [space.mutate(a, rng2) for a in s2]
    assert m1 == m2
    for a, m in zip(s1, m1):
        assert space.key(a) != space.key(m)
        assert space.parse(space.format(m)) == m  # valid
    bare = space.parse("01,00;in,out")
    assert space.key(space.mutate(bare, rng1)) != space.key(bare)
