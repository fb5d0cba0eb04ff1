"""Laplacian spectra of known graphs and the spectral distance."""

import itertools

import numpy as np
import pytest

from cgnas.graph.spectrum import (graph_signature, pairwise_spectral_distance, resample, spectral_distance,
                                  spectrum)


def path_edges(n):
    return np.array([list(range(n - 1)), list(range(1, n))])


def star_edges(n):
    return np.array([[0] * (n - 1), list(range(1, n))])


def complete_edges(n):
    return np.array(list(itertools.combinations(range(n), 2))).T


@pytest.mark.parametrize("n", [3, 5, 8])
def test_normalized_spectra_of_path_star_complete(n):
    # path P_n: 1 - cos(pi k / (n - 1)), k = 0..n-1
    assert np.allclose(spectrum(path_edges(n), n), 1 - np.cos(np.pi * np.arange(n) / (n - 1)), atol=1e-9)
    # star: 0, 1 (n-2 times), 2
    assert np.allclose(spectrum(star_edges(n), n), [0] + [1] * (n - 2) + [2], atol=1e-9)
    # complete K_n: 0, n/(n-1) (n-1 times)
    assert np.allclose(spectrum(complete_edges(n), n), [0] + [n / (n - 1)] * (n - 1), atol=1e-9)


def test_combinatorial_spectrum_is_scaled_to_unit_max():
    n = 5  # K_5: D - A has eigenvalues 0 and 5 (x4) -> 0 and 1
    assert np.allclose(spectrum(complete_edges(n), n, "combinatorial"), [0, 1, 1, 1, 1], atol=1e-9)
    with pytest.raises(ValueError, match="Laplacian kind"):
        spectrum(complete_edges(n), n, "random-walk")


def test_direction_and_duplicate_edges_do_not_matter():
    e = path_edges(4)
    both = np.concatenate([e, e[::-1], e], axis=1)
    assert np.allclose(spectrum(both, 4), spectrum(e, 4))


def test_resampling_and_distance():
    s = resample(np.array([0.0, 1.0, 2.0]), 5)
    assert np.allclose(s, [0, 0.5, 1, 1.5, 2])
    a = graph_signature(path_edges(10), 10)
    b = graph_signature(path_edges(40), 40)  # long paths have nearly the same spectrum
    c = graph_signature(complete_edges(10), 10)
    assert spectral_distance(a, a) == 0
    assert spectral_distance(a, b) < spectral_distance(a, c)
    d = pairwise_spectral_distance(np.stack([a, b, c]))
    assert d.shape == (3, 3) and np.allclose(d, d.T) and np.allclose(np.diag(d), 0, atol=1e-6)
    assert d[0, 2] == pytest.approx(spectral_distance(a, c), rel=1e-6)
