"""OFA-MobileNetV3: the 364 measured sub-nets' MACs/params, parsing, key, sampling, network."""

import random

import pytest
import torch

from cgnas.errors import InvalidArchitectureError
from cgnas.data.ofa_tables import read_measured, read_specialized
from cgnas.spaces.ofa_mbv3 import (INACTIVE, TUTORIAL_ARCH, OFAArch, OFAMBv3Space, make_divisible, normalize,
                                   stage_widths)

SPACE = OFAMBv3Space()
KS = [5, 7, 5, 5, 3, 3, 3, 7, 5, 5, 3, 7, 7, 3, 3, 3, 5, 5, 5, 5]
E = [4, 3, 4, 4, 4, 6, 3, 4, 4, 3, 4, 3, 3, 6, 6, 6, 4, 3, 4, 4]
D = [2, 3, 2, 4, 3]
TEXT = ("ks=" + ",".join(map(str, KS)) + ";e=" + ",".join(map(str, E)) + ";d=2,3,2,4,3;r=224;w=1.0")


@pytest.fixture(scope="module")
def measured():
    return read_measured()


def test_all_364_measured_macs_and_params_match(measured):
    worst_macs = worst_params = 0.0
    for arch, macs, params in zip(measured["arch"], measured["macs"], measured["params"]):
        assert arch.w == 1.0 and arch.r == 224
        cg = SPACE.to_cg(arch)
        worst_macs = max(worst_macs, abs(cg.macs() / macs - 1))
        worst_params = max(worst_params, abs(cg.num_params() / params - 1))
    assert worst_macs < 0.01 and worst_params < 0.01
    # in fact they agree exactly: the table counts every conv (SE included) and the classifier
    assert worst_macs == 0.0 and worst_params == 0.0


def test_torch_module_matches_and_runs(measured):
    arch = measured["arch"][0]
    cg = SPACE.to_cg(arch)
    net = cg.to_torch()
    assert sum(p.numel() for p in net.parameters()) == cg.num_params() == measured["params"][0]
    small = OFAArch(arch.ks, arch.e, arch.d, 128, 1.2)
    cg = SPACE.to_cg(small)
    cg.validate()
    net = cg.to_torch().eval()
    with torch.no_grad():
        out = net(torch.randn(2, 3, 128, 128))
    assert out.shape == (2, 1000) and torch.isfinite(out).all()
    assert cg.shapes[0] == (3, 128, 128)


def test_widths_and_make_divisible():
    assert stage_widths(1.0) == (16, 16, 24, 40, 80, 112, 160, 960, 1280)
    assert stage_widths(1.2) == (24, 24, 32, 48, 96, 136, 192, 1152, 1536)
    assert make_divisible(19.2) == 24 and make_divisible(134.4) == 136 and make_divisible(3) == 8


def test_network_structure():
    cg = SPACE.to_cg(SPACE.parse(TEXT))
    assert cg.ops.count("linear") == 1 and cg.shapes[-1] == (1000,)
    # SE in stages 1, 3, 4: one mul per block there
    assert cg.ops.count("mul") == D[1] + D[3] + D[4]
    # residual adds: the first block plus every non-first block of a stage
    assert cg.ops.count("add") == 1 + sum(d - 1 for d in D)
    # the final feature map is 7x7 at r=224
    assert (960, 7, 7) in cg.shapes
    assert SPACE.to_cg(SPACE.parse(TEXT)) == cg


def test_parse_forms_and_round_trip():
    a = SPACE.parse(TEXT)
    assert a == OFAArch(tuple(KS), tuple(E), tuple(D), 224, 1.0)
    assert SPACE.format(a) == TEXT
    assert SPACE.parse(SPACE.format(a)) == a
    assert SPACE.parse({"ks": KS, "e": E, "d": D, "r": 224, "w": 1.0}) == a
    assert SPACE.parse({"ks": KS, "e": E, "d": D, "r": [224], "w": 1, "wid": None}) == a
    row = " ".join(map(str, KS)) + "," + " ".join(map(str, E)) + ",2 3 2 4 3,224,75.448,255502624,5029656"
    assert SPACE.parse(row) == OFAArch(a.ks, a.e, a.d, 224, SPACE.default_w)
    assert OFAMBv3Space(default_w=1.0).parse(row) == a
    assert SPACE.parse({"ks": " ".join(map(str, KS)), "e": " ".join(map(str, E)),
                        "d": "2 3 2 4 3", "r": "224", "w": "1.0"}) == a
    assert SPACE.parse(a) == a
    assert SPACE.parse(TUTORIAL_ARCH).w == 1.2


@pytest.mark.parametrize("spec, words", [
    (TEXT.replace("ks=5,", "ks="), ["ks has 19 values", "expected 20"]),
    (TEXT.replace("e=4,3,", "e=4,3,4,"), ["e has 21 values"]),
    (TEXT.replace("d=2,3,2,4,3", "d=2,3,2,4"), ["d has 4 values", "expected 5"]),
    (TEXT.replace("ks=5,7,5", "ks=5,7,9"), ["ks[2] = 9", "3, 5, 7"]),
    (TEXT.replace("e=4,3,4", "e=4,3,5"), ["e[2] = 5", "3, 4, 6"]),
    (TEXT.replace("d=2,3,2,4,3", "d=2,3,2,4,1"), ["d[4] = 1", "2, 3, 4"]),
    (TEXT.replace("r=224", "r=226"), ["r = '226'", "multiple of 4"]),
    (TEXT.replace("r=224", "r=300"), ["r = '300'", "[128, 260]"]),
    (TEXT.replace("w=1.0", "w=1.1"), ["w = '1.1'", "1.0, 1.2"]),
    (TEXT.replace("ks=5,", "ks=x,"), ["ks[0] = 'x' is not an integer"]),
    (TEXT.replace(";w=1.0", ";depth=3"), ["cannot read 'depth=3'"]),
    (TEXT.replace("r=224;", ""), ["missing field(s) r"]),
    ({"ks": KS, "e": E, "d": D, "r": 224, "width": 1.0}, ["unknown field(s) 'width'"]),
    ({"ks": KS, "e": E, "d": D}, ["missing field(s) r"]),
    ("hello", ["cannot read"]),
    (3, ["cannot parse a int"]),
])
def test_invalid_specs_raise_clear_errors(spec, words):
    with pytest.raises(InvalidArchitectureError) as info:
        SPACE.parse(spec)
    for w in words:
        assert w in str(info.value)


def test_key_normalizes_inactive_slots():
    a = SPACE.parse(TEXT)
    ks = list(a.ks)
    ks[2 * 4 + 3] = 5  # stage 2 has depth 2: slot 11 is inactive (it holds 7)
    b = OFAArch(tuple(ks), a.e, a.d, a.r, a.w)
    assert SPACE.format(a) != SPACE.format(b)
    assert SPACE.key(a) == SPACE.key(b) == SPACE.format(normalize(a))
    assert SPACE.to_cg(a).macs() == SPACE.to_cg(b).macs()
    n = normalize(a)
    assert all(n.ks[4 * s + j] == INACTIVE[0] and n.e[4 * s + j] == INACTIVE[1]
               for s in range(5) for j in range(a.d[s], 4))
    ks[0] = 3  # an active slot: a different network
    assert SPACE.key(OFAArch(tuple(ks), a.e, a.d, a.r, a.w)) != SPACE.key(a)


def test_sample_is_deterministic_and_valid():
    assert SPACE.sample(random.Random(5)) == SPACE.sample(random.Random(5))
    rng = random.Random(0)
    seen_r = set()
    for _ in range(300):
        a = SPACE.sample(rng)
        assert SPACE.parse(SPACE.format(a)) == a and normalize(a) == a
        assert a.w == 1.2 and 128 <= a.r <= 224
        seen_r.add(a.r)
    assert len(seen_r) > 10
    fixed = OFAMBv3Space(resolutions=(224,), default_w=1.0)
    assert {fixed.sample(rng).r for _ in range(20)} == {224}


def test_mutate_is_deterministic_and_local():
    rng = random.Random(2)
    a = SPACE.sample(rng)
    assert SPACE.mutate(a, random.Random(9)) == SPACE.mutate(a, random.Random(9))
    r_changes = 0
    for _ in range(500):
        m = SPACE.mutate(a, rng)
        assert SPACE.parse(SPACE.format(m)) == m and normalize(m) == m
        d_changed = sum(x != y for x, y in zip(a.d, m.d))
        slot_changes = sum(x != y for x, y in zip(a.ks + a.e, m.ks + m.e))
        if d_changed:
            assert d_changed == 1
        else:
            assert slot_changes == 1
        r_changes += m.r != a.r
        assert m.w == a.w
        a = m
    assert 10 < r_changes < 120  # r re-sampled with probability 0.1


def test_specialized_mbv3_rows():
    df = read_specialized()
    assert len(df) == 34
    widths = {row["first_conv_ch"]: row["arch"].w for _, row in df.iterrows()}
    assert widths == {16: 1.0, 24: 1.2}
    for _, row in df.iterrows():
        a = row["arch"]
        assert sum(a.d) == len(row["block_ks"].split())
        assert a.r == row["image_size"]
        if row["hardware"] == "flops":  # e.g. flops-595M: the MACs budget in millions
            budget = float(row["constraint"].rstrip("M")) * 1e6
            assert abs(SPACE.to_cg(a).macs() / budget - 1) < 0.01


def test_size():
    assert SPACE.size == (81 + 729 + 6561) ** 5


def test_dict_form_round_trip():
    a = SPACE.sample(random.Random(4))
    assert SPACE.parse(SPACE.to_dict(a)) == a


def test_builder_and_from_torch_agree():
    from cgnas.graph.from_torch import from_torch
    rng = random.Random(11)
    for _ in range(2):
        a = SPACE.sample(rng)
        cg = SPACE.to_cg(OFAArch(a.ks, a.e, a.d, 128, a.w))
        assert cg.same_as(from_torch(cg.to_torch(), (1, 3, 128, 128)))
