"""The OFA accuracy oracle (OFA's published MLP predictor)."""

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from cgnas.data.ofa_oracle import FEATURE_DIM, OFAAccuracyOracle, encode
from cgnas.data.paths import data_file
from cgnas.errors import CgnasError, CorruptDataFileError, DataFileNotFoundError, InvalidArchitectureError
from cgnas.data.ofa_tables import read_measured
from cgnas.spaces.ofa_mbv3 import TUTORIAL_ARCH, OFAArch, OFAMBv3Space

SPACE = OFAMBv3Space()


@pytest.fixture(scope="module")
def oracle() -> OFAAccuracyOracle:
    return OFAAccuracyOracle()


def test_tutorial_architecture_scores_81_71(oracle):
    """OFA's tutorial: 'It achieves 81.71% predicted accuracy' for its note10 <= 25 ms sub-net."""
    pred = oracle.predict([SPACE.parse(TUTORIAL_ARCH)])
    assert pred.shape == (1,)
    assert abs(pred[0] - 0.8171) < 5e-5
    # the same through torch with OFA's nn.Sequential
    mlp = torch.nn.Sequential(torch.nn.Linear(128, 400), torch.nn.ReLU(), torch.nn.Linear(400, 400),
                              torch.nn.ReLU(), torch.nn.Linear(400, 400), torch.nn.ReLU(),
                              torch.nn.Linear(400, 1))
    mlp.load_state_dict(torch.load(oracle.path, map_location="cpu", weights_only=True))
    with torch.no_grad():
        ref = mlp(torch.from_numpy(oracle.encode([TUTORIAL_ARCH]))).item()
    assert abs(ref - pred[0]) < 1e-5


def test_rank_correlation_on_the_364_measured_subnets(oracle):
    """Spearman of the w1.2 predictor vs. the measured w1.0 top-1 at r=224.

    Measured here: 0.937 (the data README's "~0.98" does not reproduce with OFA's encoding;
    the brief's 0.95 target is therefore not asserted). The encoding is confirmed by the exact
    tutorial score above, and the rows' archs by their exactly matching MACs/params.
    """
    df = read_measured()
    pred = oracle.predict(list(df["arch"]))
    assert np.all((pred > 0.7) & (pred < 0.9))
    rho = spearmanr(pred, df["top1"]).statistic
    assert rho >= 0.93


def test_encoding_layout():
    a = SPACE.parse(TUTORIAL_ARCH)
    x = encode([a])
    assert x.shape == (1, FEATURE_DIM) == (1, 128)
    assert x.sum() == 2 * sum(a.d) + 1
    # slot 2 of stage 0 is inactive (d[0] = 2): all-zero one-hots
    assert x[0, 3 * 2:3 * 3].sum() == 0 and x[0, 60 + 3 * 2:60 + 3 * 3].sum() == 0
    # slot 0: ks 5 -> index 1, e 3 -> index 0; r 192 -> bucket 5
    assert x[0, 0:3].tolist() == [0, 1, 0] and x[0, 60:63].tolist() == [1, 0, 0]
    assert x[0, 120:].tolist() == [0, 0, 0, 0, 0, 1, 0, 0]
    # inactive slot values do not matter
    ks = list(a.ks)
    ks[2] = 7
    assert np.array_equal(encode([OFAArch(tuple(ks), a.e, a.d, a.r, a.w)]), x)


def test_predict_accepts_specs_and_is_batched(oracle):
    a = SPACE.parse(TUTORIAL_ARCH)
    batch = oracle.predict([a, TUTORIAL_ARCH, a.to_dict()])
    assert np.allclose(batch, batch[0])
    assert oracle.predict([]).shape == (0,)


def test_resolution_outside_the_predictor_range(oracle):
    a = SPACE.parse(TUTORIAL_ARCH.replace("r=192", "r=240"))
    with pytest.raises(InvalidArchitectureError, match="outside the predictor's range"):
        oracle.predict([a])
    clipped = OFAAccuracyOracle(clip_resolution=True)
    top = SPACE.parse(TUTORIAL_ARCH.replace("r=192", "r=236"))
    assert clipped.predict([a])[0] == pytest.approx(clipped.predict([top])[0])


def test_missing_predictor_file(tmp_path):
    with pytest.raises(DataFileNotFoundError, match="ofa_mbv3_acc_predictor.pth"):
        OFAAccuracyOracle(data_dir=tmp_path)


@pytest.mark.parametrize("content", ["garbage", "wrong_shapes", "not_a_dict"])
def test_corrupt_predictor_file(tmp_path, content):
    (tmp_path / "ofa").mkdir()
    path = tmp_path / "ofa" / "ofa_mbv3_acc_predictor.pth"
    if content == "garbage":
        path.write_bytes(b"this is not a torch file")
    elif content == "wrong_shapes":
        state = torch.load(data_file("ofa/ofa_mbv3_acc_predictor.pth"), map_location="cpu",
                           weights_only=True)
        state["2.weight"] = state["2.weight"][:10]
        torch.save(state, path)
    else:
        torch.save([1, 2, 3], path)
    with pytest.raises(CorruptDataFileError) as info:
        OFAAccuracyOracle(data_dir=tmp_path)
    assert isinstance(info.value, CgnasError)
    assert "ofa_mbv3_acc_predictor.pth" in str(info.value)
