"""Laplacian spectrum of a CG and the spectral distance between two CGs of any sizes.

For the undirected simple graph of a CG (edge directions and repeated edges dropped),
with adjacency ``A`` and degrees ``D``:

* ``normalized``:     ``L = I - D^{-1/2} A D^{-1/2}``, eigenvalues in ``[0, 2]``;
* ``combinatorial``:  ``L = D - A``, eigenvalues divided by the largest so they lie in ``[0, 1]``.

The sorted eigenvalues ``λ_1 <= ... <= λ_n`` are read as a function of the rank fraction
``q_k = (k-1)/(n-1)`` and resampled by linear interpolation at ``length`` equally spaced
``q`` in ``[0, 1]``, so graphs of different sizes compare. The spectral distance is the
root-mean-square difference of two resampled spectra:
``σ(i, j) = sqrt(mean_t (s_i(t) - s_j(t))^2)``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

LaplacianKind = Literal["normalized", "combinatorial"]
DEFAULT_LENGTH = 64


def laplacian(edges: np.ndarray, num_nodes: int, kind: LaplacianKind = "normalized") -> np.ndarray:
    """``[n, n]`` Laplacian of the undirected simple graph given by ``edges [2, E]``."""
    adj = np.zeros((num_nodes, num_nodes), dtype=np.float64)
    src, dst = np.asarray(edges[0]), np.asarray(edges[1])
    keep = src != dst
    adj[src[keep], dst[keep]] = 1.0
    adj[dst[keep], src[keep]] = 1.0
    deg = adj.sum(axis=1)
    if kind == "combinatorial":
        return np.diag(deg) - adj
    if kind != "normalized":
        raise ValueError(f"unknown Laplacian kind {kind!r}; use 'normalized' or 'combinatorial'")
    inv_sqrt = np.zeros_like(deg)
    np.divide(1.0, np.sqrt(deg), out=inv_sqrt, where=deg > 0)
    lap = -adj * inv_sqrt[:, None] * inv_sqrt[None, :]
    lap[np.diag_indices(num_nodes)] = (deg > 0).astype(np.float64)
    return lap


def spectrum(edges: np.ndarray, num_nodes: int, kind: LaplacianKind = "normalized") -> np.ndarray:
    """Sorted eigenvalues ``[n]`` of the Laplacian (see the module docstring for scaling)."""
    eig = np.linalg.eigvalsh(laplacian(edges, num_nodes, kind))
    eig = np.clip(eig, 0.0, None)
    if kind == "combinatorial" and eig[-1] > 0:
        eig = eig / eig[-1]
    return eig


def resample(eigenvalues: np.ndarray, length: int = DEFAULT_LENGTH) -> np.ndarray:
    """Sorted eigenvalues of any count -> ``[length]`` by interpolation over rank fraction."""
    eig = np.sort(np.asarray(eigenvalues, dtype=np.float64))
    if len(eig) == 1:
        return np.full(length, eig[0])
    return np.interp(np.linspace(0.0, 1.0, length), np.linspace(0.0, 1.0, len(eig)), eig)


def graph_signature(edges: np.ndarray, num_nodes: int, kind: LaplacianKind = "normalized",
                    length: int = DEFAULT_LENGTH) -> np.ndarray:
    """The fixed-length spectrum ``[length]`` used by the spectral distance."""
    return resample(spectrum(edges, num_nodes, kind), length)


def spectral_distance(a: np.ndarray, b: np.ndarray) -> float:
    """RMS difference of two resampled spectra of equal length."""
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def pairwise_spectral_distance(spectra: np.ndarray) -> np.ndarray:
    """``[N, N]`` matrix of :func:`spectral_distance` between rows of ``spectra [N, L]``."""
    s = np.asarray(spectra, dtype=np.float64)
    sq = (s * s).sum(axis=1)
    d2 = (sq[:, None] + sq[None, :] - 2.0 * s @ s.T) / s.shape[1]
    return np.sqrt(np.clip(d2, 0.0, None))
