"""NAS-Bench-201 space: parsing, validation, NASLib codes, real-network parameter counts."""

from __future__ import annotations

import ast
import random

import pandas as pd
import pytest
import torch

from cgnas.data.paths import data_file
from cgnas.errors import InvalidArchitectureError
from cgnas.spaces.nb201 import OPS, NB201Space, from_naslib, to_naslib

EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


@pytest.fixture(scope="module")
def space() -> NB201Space:
    return NB201Space()


@pytest.fixture(scope="module")
def zc_cifar10() -> pd.DataFrame:
    df = pd.read_csv(data_file("nb201/nb201_zc_naslib_725.csv"))
    return df[df.dataset == "cifar10"].reset_index(drop=True)


@pytest.fixture(scope="module")
def all_table() -> pd.DataFrame:
    return pd.read_csv(data_file("nb201/nb201_all.csv"), usecols=["arch_str", "naslib_op_tuple"])


def test_parse_format_round_trip(space, all_table):
    a = space.parse(EXAMPLE)
    assert a == ("nor_conv_3x3", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "nor_conv_3x3", "skip_connect")
    assert space.format(a) == EXAMPLE
    assert space.parse(list(a)) == a and space.parse(a) == a
    assert space.parse("  " + EXAMPLE + "\n") == a
    strings = list(all_table.arch_str)
    assert len(set(strings)) == space.size == 15625
    for s in strings:
        assert space.format(space.parse(s)) == s
    assert {space.format(a) for a in space.all_archs()} == set(strings)


def test_naslib_codes_match_table(space, all_table):
    for s, t in zip(all_table.arch_str, all_table.naslib_op_tuple):
        codes = ast.literal_eval(t)
        a = space.parse(s)
        assert to_naslib(a) == codes
        assert from_naslib(codes) == a
    with pytest.raises(InvalidArchitectureError):
        from_naslib((0, 1, 2))
    with pytest.raises(InvalidArchitectureError):
        from_naslib((0, 1, 2, 3, 4, 5))


BAD = {
    "two nodes": ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|", "3"),
    "four nodes": (EXAMPLE + "+|none~0|none~1|none~2|none~3|", "expected 3"),
    "too few edges": ("|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
                      "expected 2"),
    "too many edges": ("|nor_conv_3x3~0|none~1|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
                       "expected 1"),
    "wrong input index": ("|nor_conv_3x3~0|+|nor_conv_3x3~1|avg_pool_3x3~0|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
                          "expected 0"),
    "unknown op": ("|conv_5x5~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
                   "unknown op"),
    "missing tilde": ("|nor_conv_3x3|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
                      "op~input"),
    "missing bars": ("nor_conv_3x3~0+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
                     "|op~0|"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_invalid_strings(space, case):
    text, words = BAD[case]
    with pytest.raises(InvalidArchitectureError, match="nb201") as info:
        space.parse(text)
    assert words in str(info.value)
    assert "|op~0|" in str(info.value) or "ops are" in str(info.value)  # says what is valid


@pytest.mark.parametrize("spec", ["", ("none",) * 5, ("none",) * 7, ["none"] * 5 + ["conv"], 12, {"a": 1}])
def test_invalid_other(space, spec):
    with pytest.raises(InvalidArchitectureError):
        space.parse(spec)


def test_params_match_naslib_all_cifar10_rows(space, zc_cifar10):
    assert len(zc_cifar10) == 724
    bad = []
    for s, p in zip(zc_cifar10.arch_str, zc_cifar10.params):
        n = space.to_cg(space.parse(s)).num_params()
        if round(n / 1e6, 6) != p:
            bad.append((s, n, p))
    assert not bad, bad[:5]


def test_flops_relation_to_naslib(space, zc_cifar10):
    # NASLib's "flops" = MACs + 2/elem per BN + 1/elem per ReLU + k^2/elem per pooling + 5184.
    from math import prod
    for s, f in zip(zc_cifar10.arch_str[:50], zc_cifar10.flops[:50]):
        cg = space.to_cg(space.parse(s))
        extra = 0
        for i, op in enumerate(cg.ops):
            n = prod(cg.shapes[i])
            extra += {"batchnorm": 2 * n, "relu": n}.get(op, 0)
            if op == "avgpool":
                extra += n * cg.attrs[i]["kernel"][0] ** 2
        assert round(f * 1e6) == cg.macs() + extra + 5184


@pytest.mark.parametrize("arch", [EXAMPLE, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
                                  "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
                                  "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|"])
def test_to_torch_runs_and_counts(space, arch):
    cg = space.to_cg(space.parse(arch)).validate()
    net = cg.to_torch()
    assert sum(p.numel() for p in net.parameters()) == cg.num_params()
    with torch.no_grad():
        out = net.eval()(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10)


def test_cg_structure(space):
    cg = space.to_cg(space.parse("|skip_connect~0|+|none~0|skip_connect~1|+|nor_conv_3x3~0|none~1|avg_pool_3x3~2|"))
    counts = cg.op_counts()
    assert counts["zero"] == 2 * 15
    assert counts["avgpool"] == 15 + 2  # cell pools + 2 residual shortcuts
    assert counts["conv"] == 1 + 15 + 2 * 3
    assert counts["linear"] == 1 and counts["global_avgpool"] == 1
    assert cg.shapes[cg.output_nodes()[0]] == (10,)
    assert space.to_cg(space.parse(EXAMPLE)) == space.to_cg(space.parse(EXAMPLE))


def test_sample_and_mutate(space):
    rng1, rng2 = random.Random(3), random.Random(3)
    s1 = [space.sample(rng1) for _ in range(300)]
    assert s1 == [space.sample(rng2) for _ in range(300)]
    assert all(len(a) == 6 and all(o in OPS for o in a) for a in s1)
    assert len(set(s1)) > 250
    m1 = [space.mutate(a, rng1) for a in s1]
    assert m1 == [space.mutate(a, rng2) for a in s1]
    for a, m in zip(s1, m1):
        assert sum(x != y for x, y in zip(a, m)) == 1
        assert space.parse(space.format(m)) == m
