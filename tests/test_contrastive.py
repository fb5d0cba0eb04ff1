"""The contrastive loss against hand-computed values."""

import math

import pytest
import torch

from cgnas.train.contrastive import ContrastiveConfig, contrastive_loss

Z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
SIGMA = torch.tensor([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]])


def test_one_positive_by_hand():
    # cosine similarities: s01 = 0, s02 = s12 = 1/sqrt(2); tau = 1.
    # Positives (closest spectrally): P(0) = {1}, P(1) = {0}, P(2) = {0}.
    # chi(0,1) = 0 - log(e^0 + e^s), chi(1,0) = same, chi(2,0) = s - log(2 e^s) = -log 2.
    s = 1 / math.sqrt(2)
    expected = (2 * math.log(1 + math.exp(s)) + math.log(2)) / 3
    loss = contrastive_loss(Z, SIGMA, ContrastiveConfig(temperature=1.0, num_positives=1))
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_two_positives_weighted_by_spectral_distance():
    s = 1 / math.sqrt(2)
    tau_s = 0.5
    lse0 = math.log(1 + math.exp(s))           # denominators of rows 0 and 1
    chi = {(0, 1): -lse0, (0, 2): s - lse0, (1, 0): -lse0, (1, 2): s - lse0,
           (2, 0): -math.log(2), (2, 1): -math.log(2)}

    def weights(d1, d2):
        a, b = math.exp(-d1 / tau_s), math.exp(-d2 / tau_s)
        return a / (a + b), b / (a + b)

    w01, w02 = weights(1, 2)
    w10, w12 = weights(1, 3)
    w20, w21 = weights(2, 3)
    expected = -(w01 * chi[0, 1] + w02 * chi[0, 2] + w10 * chi[1, 0] + w12 * chi[1, 2]
                 + w20 * chi[2, 0] + w21 * chi[2, 1]) / 3
    config = ContrastiveConfig(temperature=1.0, spectral_temperature=tau_s, num_positives=2)
    assert contrastive_loss(Z, SIGMA, config).item() == pytest.approx(expected, rel=1e-6)
    uniform = ContrastiveConfig(temperature=1.0, num_positives=2, weighting="uniform")
    expected_uniform = -sum(chi.values()) / 2 / 3
    assert contrastive_loss(Z, SIGMA, uniform).item() == pytest.approx(expected_uniform, rel=1e-6)


def test_loss_pulls_spectral_neighbours_together():
    torch.manual_seed(0)
    z = torch.randn(8, 4, requires_grad=True)
    sigma = torch.cdist(torch.arange(8.0)[:, None], torch.arange(8.0)[:, None])
    opt = torch.optim.SGD([z], lr=0.5)
    first = None
    for _ in range(50):
        loss = contrastive_loss(z, sigma, ContrastiveConfig(num_positives=1))
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first
    zn = torch.nn.functional.normalize(z, dim=1)
    assert (zn[0] @ zn[1]).item() > (zn[0] @ zn[7]).item()


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="at least 2"):
        contrastive_loss(Z[:1], SIGMA[:1, :1])
    with pytest.raises(ValueError, match="weighting"):
        contrastive_loss(Z, SIGMA, ContrastiveConfig(weighting="softest"))
