"""NB301 (DARTS cells): parsing all 10k genotypes, validation, key, sampling, the network."""

import random

import pandas as pd
import pytest
import torch

from cgnas.data.paths import data_file
from cgnas.errors import CgnasError, InvalidArchitectureError
from cgnas.spaces.nb301 import (CONCAT, DARTS_V2, OPS, Genotype, NB301Space, canonical,
                                to_naslib_compact)

SPACE = NB301Space()
EXAMPLE = ("Genotype(normal=[('sep_conv_5x5', 0), ('dil_conv_3x3', 1), ('avg_pool_3x3', 2), "
           "('sep_conv_3x3', 1), ('max_pool_3x3', 1), ('sep_conv_5x5', 0), ('dil_conv_3x3', 2), "
           "('max_pool_3x3', 4)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
           "('sep_conv_3x3', 1), ('dil_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
           "('avg_pool_3x3', 2), ('avg_pool_3x3', 3), ('sep_conv_5x5', 1)], reduce_concat=[2, 3, 4, 5])")


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return pd.read_csv(data_file("nb301/nb301_10k_surrogate.csv"))


def test_parse_all_10k_genotypes_round_trip(table):
    for text, compact in zip(table["genotype"], table["naslib_compact"]):
        g = SPACE.parse(text)
        assert SPACE.format(g) == text  # the canonical string is DARTS's own repr
        assert SPACE.parse(compact) == g  # NASLib compact form: same genotype
    assert SPACE.parse(SPACE.format(g)) == g


def test_naslib_compact_codes_match_both_tables():
    z = pd.read_csv(data_file("nb301/nb301_zc_naslib_725.csv"))
    for text, compact in zip(z["genotype"], z["naslib_compact"]):
        g = SPACE.parse(text)
        assert SPACE.parse(compact) == g
        assert str(to_naslib_compact(g)).replace(" ", "") == compact.replace(" ", "")
    assert OPS[0] == "max_pool_3x3" and OPS[6] == "dil_conv_5x5"


def test_other_input_forms():
    g = SPACE.parse(EXAMPLE)
    assert SPACE.parse(g) == g
    assert SPACE.parse(g._asdict()) == g
    assert SPACE.parse(to_naslib_compact(g)) == g
    ranged = EXAMPLE.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=range(2, 6)")
    assert SPACE.parse(ranged) == g
    assert SPACE.parse("  " + EXAMPLE + "\n") == g


@pytest.mark.parametrize("text, words", [
    (EXAMPLE.replace("'sep_conv_5x5', 0", "'conv_7x7', 0", 1), ["unknown op 'conv_7x7'", "sep_conv_3x3"]),
    (EXAMPLE.replace("('avg_pool_3x3', 2)", "('avg_pool_3x3', 3)", 1), ["node 1", "inputs 0..2"]),
    (EXAMPLE.replace("('max_pool_3x3', 4)", "('max_pool_3x3', 5)", 1), ["node 3", "inputs 0..4"]),
    (EXAMPLE.replace("('dil_conv_3x3', 1), ", "", 1), ["7 (op, input) pairs", "exactly 2 inputs"]),
    (EXAMPLE.replace("('dil_conv_3x3', 1)", "('dil_conv_3x3', 0)", 1), ["takes input 0 twice"]),
    (EXAMPLE.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3, 4]"), ["normal_concat", "[2, 3, 4, 5]"]),
    (EXAMPLE.replace("reduce_concat=[2, 3, 4, 5]", "reduce_concat=[1, 2, 3, 4, 5]"), ["reduce_concat"]),
    (EXAMPLE[:-1], ["cannot read"]),
    ("Genotype(normal=[], reduce=[])", ["missing"]),
    ("Genotype(normal=[('sep_conv_3x3', 0)] * 8, normal_concat=[2, 3, 4, 5], reduce=[], reduce_concat=[])",
     ["not a literal"]),
    ("__import__('os').system('echo pwned')", ["expected Genotype"]),
    ("Foo(normal=[])", ["expected Genotype"]),
    ("([(0, 9)] * 8, [])", ["cannot read"]),
    ("([(0, 9), (1, 0), (0, 0), (1, 0), (0, 0), (1, 0), (0, 0), (1, 0)], [])", ["unknown op code 9"]),
    ("hello", ["Genotype"]),
])
def test_invalid_genotypes_raise_clear_errors(text, words):
    with pytest.raises(InvalidArchitectureError) as info:
        SPACE.parse(text)
    for w in words:
        assert w in str(info.value)
    assert isinstance(info.value, CgnasError)


def test_key_ignores_pair_order_within_a_node():
    g = SPACE.parse(EXAMPLE)
    swapped = list(g.normal)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    h = g._replace(normal=tuple(swapped))
    assert SPACE.format(h) != SPACE.format(g)
    assert SPACE.key(h) == SPACE.key(g) == SPACE.format(canonical(g))
    # to_cg builds the canonical order: the same graph
    assert SPACE.to_cg(h) == SPACE.to_cg(g)
    # a different input is a different key
    other = list(g.normal)
    other[2] = ("avg_pool_3x3", 0)
    assert SPACE.key(g._replace(normal=tuple(other))) != SPACE.key(g)


def test_darts_v2_matches_published_parameter_count():
    """DARTS's CIFAR-10 log: 'param size = 3.349342MB' (C=36, 20 cells, no auxiliary head)."""
    cg = NB301Space(C=36, layers=20).to_cg(DARTS_V2)
    assert cg.num_params() == 3_349_342
    net = cg.to_torch()
    assert sum(p.numel() for p in net.parameters()) == 3_349_342


def test_networks_run_forward(table):
    for text in list(table["genotype"][:3]) + [SPACE.format(DARTS_V2)]:
        cg = SPACE.to_cg(SPACE.parse(text))
        cg.validate()
        net = cg.to_torch().eval()
        assert sum(p.numel() for p in net.parameters()) == cg.num_params()
        with torch.no_grad():
            out = net(torch.randn(2, 3, 32, 32))
        assert out.shape == (2, 10)
        assert torch.isfinite(out).all()


def test_network_structure():
    cg = SPACE.to_cg(DARTS_V2)
    assert cg.shapes[0] == (3, 32, 32) and cg.shapes[-1] == (10,)
    assert cg.ops.count("linear") == 1  # no auxiliary head
    assert cg.ops.count("concat") >= 8  # one per cell (plus FactorizedReduce concats)
    # C=32, 8 cells: the last cell outputs 4 * 128 channels at 8x8
    gap = cg.ops.index("global_avgpool")
    assert cg.shapes[cg.inputs[gap][0]] == (512, 8, 8)
    # built twice: identical graphs
    assert SPACE.to_cg(DARTS_V2) == cg


def test_param_range_over_the_10k(table):
    params = [SPACE.to_cg(SPACE.parse(t)).num_params() for t in table["genotype"][:500]]
    assert 0.4e6 < min(params) and max(params) < 1.6e6


def test_sample_is_deterministic_and_valid():
    a = [SPACE.sample(random.Random(7)) for _ in range(2)]
    assert a[0] == a[1]
    rng = random.Random(0)
    for _ in range(200):
        g = SPACE.sample(rng)
        assert SPACE.parse(SPACE.format(g)) == g
        assert g.normal_concat == g.reduce_concat == CONCAT


def _changes(a: Genotype, b: Genotype) -> int:
    return sum(pa != pb for pa, pb in zip(a.normal + a.reduce, b.normal + b.reduce))


def test_mutate_is_deterministic_and_local():
    rng = random.Random(1)
    g = SPACE.sample(rng)
    assert SPACE.mutate(g, random.Random(3)) == SPACE.mutate(g, random.Random(3))
    for _ in range(300):
        m = SPACE.mutate(g, rng)
        assert SPACE.parse(SPACE.format(m)) == m  # valid
        assert _changes(g, m) == 1
        g = m


def test_size_counts_unordered_input_pairs():
    assert SPACE.size == (1 * 3 * 6 * 10 * 7 ** 8) ** 2


def test_bad_constructor():
    with pytest.raises(InvalidArchitectureError):
        NB301Space(C=33)


def test_dict_form_round_trip():
    g = SPACE.sample(random.Random(4))
    assert SPACE.parse(SPACE.to_dict(g)) == g


def test_builder_and_from_torch_agree():
    from cgnas.graph.from_torch import from_torch
    rng = random.Random(11)
    for _ in range(2):
        cg = SPACE.to_cg(SPACE.sample(rng))
        assert cg.same_as(from_torch(cg.to_torch(), (1, 3, 32, 32)))
