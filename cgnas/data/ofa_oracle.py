"""The OFA-MBv3 accuracy oracle: OFA's published accuracy predictor.

``ofa/ofa_mbv3_acc_predictor.pth`` (mit-han-lab/once-for-all, ``ofa/tutorial``) is the state
dict of an MLP 128 -> 400 -> 400 -> 400 -> 1 with ReLU (``nn.Sequential`` keys 0, 2, 4, 6),
trained on sub-nets of ``ofa_mbv3_d234_e346_k357_w1.2`` to predict ImageNet top-1 (a fraction)
on a 10k holdout of the ImageNet *train* set (about 5 points above the official val set).

Input encoding (OFA's ``AccuracyPredictor.spec2feats``): for each of the 20 block slots a
one-hot of the kernel size over (3, 5, 7) (60 values), then a one-hot of the expand ratio over
(3, 4, 6) (60 values), both all-zero for inactive slots (slot ``4*s+j`` with ``j >= d[s]``),
then a one-hot of ``(r - 112) // 16`` over 8 values. So it accepts 112 <= r < 240; OFA's code
fails beyond (index error); here that is an :class:`InvalidArchitectureError` unless the
oracle is built with ``clip_resolution=True`` (bucket clamped to 0..7, e.g. OFA's specialized
nets at r=240/260 count as 224..239).

The width multiplier is not an input: a w1.0 architecture is scored as the w1.2 sub-net with
the same ks/e/d/r (on the 364 measured w1.0 subnets the oracle ranks with Spearman 0.937 against measured top-1).

    oracle = OFAAccuracyOracle()
    oracle.predict([space.parse(TUTORIAL_ARCH)])   # array([0.8171...])
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Sequence

import numpy as np

from cgnas.data.paths import data_file
from cgnas.errors import CorruptDataFileError, InvalidArchitectureError
from cgnas.spaces.ofa_mbv3 import (EXPAND_RATIOS, KERNEL_SIZES, MAX_DEPTH, NUM_SLOTS, NUM_STAGES,
                                   OFAArch, OFAMBv3Space)

PREDICTOR_FILE = "ofa/ofa_mbv3_acc_predictor.pth"
FEATURE_DIM = 2 * 3 * NUM_SLOTS + 8
"""128: ks one-hots (60), e one-hots (60), resolution bucket (8)."""

_LAYERS = (("0", (400, 128)), ("2", (400, 400)), ("4", (400, 400)), ("6", (1, 400)))
_KS_INDEX = {k: i for i, k in enumerate(KERNEL_SIZES)}
_E_INDEX = {e: i for i, e in enumerate(EXPAND_RATIOS)}


def encode(archs: Iterable[OFAArch], clip_resolution: bool = False) -> np.ndarray:
    """OFA's 128-d predictor features of each architecture, ``[N, 128]`` float32."""
    archs = list(archs)
    feats = np.zeros((len(archs), FEATURE_DIM), dtype=np.float32)
    for n, a in enumerate(archs):
        for s in range(NUM_STAGES):
            for j in range(min(a.d[s], MAX_DEPTH)):
                slot = 4 * s + j
                feats[n, 3 * slot + _KS_INDEX[a.ks[slot]]] = 1.0
                feats[n, 60 + 3 * slot + _E_INDEX[a.e[slot]]] = 1.0
        bucket = (a.r - 112) // 16
        if not 0 <= bucket < 8:
            if not clip_resolution:
                raise InvalidArchitectureError(
                    f"ofa oracle: resolution r={a.r} is outside the predictor's range 112..239 "
                    "(one-hot of (r-112)//16 over 8 values); build the oracle with "
                    "clip_resolution=True to clamp it")
            bucket = min(max(bucket, 0), 7)
        feats[n, 120 + bucket] = 1.0
    return feats


class OFAAccuracyOracle:
    """OFA's accuracy predictor as an oracle: ``predict(archs)`` -> ImageNet top-1 fractions.

    Args:
        data_dir: the data directory (default: ``$CGNAS_DATA``, then ``../shared/data``).
        clip_resolution: clamp resolutions outside 112..239 to the nearest bucket instead of
            raising.

    Raises:
        DataFileNotFoundError: the predictor file is missing.
        CorruptDataFileError: it exists but is not the expected state dict.
    """

    def __init__(self, data_dir: str | os.PathLike | None = None, clip_resolution: bool = False) -> None:
        self.path = data_file(PREDICTOR_FILE, data_dir)
        self.clip_resolution = clip_resolution
        self._space = OFAMBv3Space()
        self._weights = _load_state(self.path)

    def encode(self, archs: Sequence[Any]) -> np.ndarray:
        """The ``[N, 128]`` predictor input of ``archs`` (``OFAArch`` or anything ``parse`` takes)."""
        return encode((self._as_arch(a) for a in archs), self.clip_resolution)

    def predict(self, archs: Sequence[Any]) -> np.ndarray:
        """Predicted top-1 accuracy (fraction, float64) of each architecture."""
        x = self.encode(archs).astype(np.float64)
        last = len(self._weights) - 1
        for i, (w, b) in enumerate(self._weights):
            x = x @ w.T + b
            if i < last:
                np.maximum(x, 0.0, out=x)
        return x[:, 0]

    __call__ = predict

    def _as_arch(self, a: Any) -> OFAArch:
        return a if isinstance(a, OFAArch) else self._space.parse(a)

    def __repr__(self) -> str:
        return f"OFAAccuracyOracle({str(self.path)!r})"


def _load_state(path: os.PathLike) -> list[tuple[np.ndarray, np.ndarray]]:
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and torch errors all mean the same to the user
        raise CorruptDataFileError(
            f"the OFA accuracy predictor {path} cannot be loaded ({type(exc).__name__}: {exc}); "
            "it should be the state dict ofa_mbv3_acc_predictor.pth from mit-han-lab/once-for-all "
            "(han-cai/files)") from None
    if not isinstance(state, dict):
        raise CorruptDataFileError(f"the OFA accuracy predictor {path} is a {type(state).__name__}, "
                                   "not a state dict")
    weights = []
    for key, shape in _LAYERS:
        w, b = state.get(f"{key}.weight"), state.get(f"{key}.bias")
        if not (isinstance(w, torch.Tensor) and isinstance(b, torch.Tensor)
                and tuple(w.shape) == shape and tuple(b.shape) == (shape[0],)):
            raise CorruptDataFileError(
                f"the OFA accuracy predictor {path} does not hold an MLP 128-400-400-400-1: "
                f"layer {key} is missing or has the wrong shape (keys: {sorted(state)[:10]})")
        wn = w.detach().double().numpy()
        bn = b.detach().double().numpy()
        if not (np.isfinite(wn).all() and np.isfinite(bn).all()):
            raise CorruptDataFileError(f"the OFA accuracy predictor {path} has non-finite weights in layer {key}")
        weights.append((wn, bn))
    return weights
