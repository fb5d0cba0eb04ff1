"""Input batches of the data-dependent proxies.

A proxy that needs data sees one fixed batch. By default it is *synthetic*: images drawn
i.i.d. from N(0, 1) per pixel (what standardized images look like to a network at
initialization) and labels uniform over the classes, from a ``torch.Generator`` seeded with
the run's seed, shaped like the benchmark's data (``DATASETS``). A real batch can be given
as a file (:func:`load_batch`); its SHA-1 then names the batch in the cache.

The synthetic batch has no spatial or class structure, so proxies that compare samples or
use the loss (jacov, nwot, snip, grad_norm, fisher, grasp) measure a network's response to
noise rather than to images; data-free proxies (params, flops, synflow, zen) do not
depend on it at all.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cgnas.errors import CgnasError, ShapeError

BATCH_SIZE = 32
"""Images per batch: what NASLib's Suite-Zero values imply (docs/DECISIONS.md 12, "Batch size 32")."""

DATASETS: dict[str, tuple[tuple[int, int, int], int]] = {
    "cifar10": ((3, 32, 32), 10), "cifar100": ((3, 32, 32), 100),
    "imagenet16-120": ((3, 16, 16), 120), "imagenet": ((3, 224, 224), 1000)}
"""Benchmark datasets: (image shape C, H, W; number of classes)."""


@dataclass(frozen=True)
class Batch:
    """One batch of images ``[N, C, H, W]`` (float32) and integer labels ``[N]``.

    ``ident`` names the batch in the proxy cache; ``seed`` seeds the proxies that draw their
    own random inputs (zen).
    """

    images: torch.Tensor
    labels: torch.Tensor
    ident: str
    seed: int = 0

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.images.shape[1:])

    def check(self, image_shape: tuple[int, ...], num_classes: int) -> None:
        """Raise :class:`ShapeError` unless the batch fits a network taking ``image_shape``
        images and predicting ``num_classes`` classes."""
        if self.image_shape != tuple(image_shape):
            raise ShapeError(f"data batch {self.ident} has images of shape {self.image_shape}; "
                             f"the network takes {tuple(image_shape)} (C, H, W)")
        if self.labels.numel() and (int(self.labels.min()) < 0 or int(self.labels.max()) >= num_classes):
            raise ShapeError(f"data batch {self.ident} has labels outside 0..{num_classes - 1}")


def synthetic_batch(image_shape: tuple[int, ...], num_classes: int, seed: int = 0,
                    batch_size: int = BATCH_SIZE) -> Batch:
    """Seeded N(0, 1) images of ``image_shape`` with uniform labels below ``num_classes``."""
    gen = torch.Generator().manual_seed(seed)
    images = torch.randn((batch_size, *image_shape), generator=gen)
    labels = torch.randint(0, num_classes, (batch_size,), generator=gen)
    return Batch(images, labels, f"synthetic-s{seed}-n{batch_size}", seed)


def load_batch(path: str | os.PathLike, num_classes: int, seed: int = 0) -> Batch:
    """A real batch from ``path``: an ``.npz`` with arrays ``images`` ``[N, C, H, W]`` and
    ``labels`` ``[N]``, or an ``.npy`` of images alone (labels are then drawn as in
    :func:`synthetic_batch`; they only matter to the loss-based proxies).

    Raises:
        CgnasError: the file is missing or not such arrays.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):  # .npy: images only
            images, labels = loaded, None
        else:
            with loaded:
                images, labels = loaded["images"], loaded["labels"]
    except FileNotFoundError:
        raise CgnasError(f"data batch {path} does not exist") from None
    except (OSError, ValueError, KeyError) as exc:
        raise CgnasError(f"cannot read data batch {path}: {exc} "
                         "(expected .npz with 'images' [N,C,H,W] and 'labels' [N], or .npy images)") from None
    if images.ndim != 4 or images.shape[0] < 2:
        raise ShapeError(f"data batch {path}: images have shape {images.shape}; expected [N, C, H, W] with N >= 2")
    ident = f"file-{hashlib.sha1(data).hexdigest()[:16]}"
    images_t = torch.as_tensor(np.asarray(images, dtype=np.float32))
    if labels is None:
        gen = torch.Generator().manual_seed(seed)
        labels_t = torch.randint(0, num_classes, (images.shape[0],), generator=gen)
    else:
        if labels.shape != (images.shape[0],):
            raise ShapeError(f"data batch {path}: labels have shape {labels.shape}; expected ({images.shape[0]},)")
        labels_t = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    return Batch(images_t, labels_t, ident, seed)
