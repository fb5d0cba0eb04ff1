"""The experimental protocol shared by the transfer experiment, search and the CLI pipeline.

One place for the facts that make results comparable (DESIGN.md section 4):

* the families and their metrics by role: :data:`TARGET_METRIC` is what a target is scored
  on, :data:`SOURCE_METRIC` what a source family's head is trained on;
* the target split: :func:`split_order`, one seeded permutation of a target's table whose
  first k rows are the k labeled architectures (nested in k) and whose rest is evaluated;
* the source sets (:func:`source_graphs`) and the unlabeled pre-training set
  (:func:`pretrain_set`);
* building the k=0 (source) predictor of a method (:func:`transferred_predictor`);
* the zero-cost baselines of a target table (:func:`proxy_scores`).

It sits below :mod:`cgnas.experiments` and :mod:`cgnas.search` and above the model,
training and data layers, so both experiments build predictors the same way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from cgnas.data.cache import labeled_graphs, table_spectra
from cgnas.data.graphset import GraphSet
from cgnas.data.tables import benchmark
from cgnas.errors import CgnasError
from cgnas.model.predictor import FINETUNE_DEFAULT, FIT_DEFAULT, Predictor
from cgnas.model.predictor_net import PredictorConfig
from cgnas.train.pretrain import PretrainConfig
from cgnas.train.supervised import TrainConfig
from cgnas.zcp.proxies import check_proxies
from cgnas.zcp.runner import score_archs

FAMILIES = ("nb101", "nb201", "nb301")
TARGET_METRIC = {"nb101": "val_acc_108ep", "nb201": "cifar10_test", "nb301": "val_acc", "ofa_mbv3": "top1"}
SOURCE_METRIC = {"nb101": "val_acc_108ep", "nb201": "cifar10_val", "nb301": "val_acc"}
METHODS = ("cl", "gnn", "target_only", "ridge", "params", "flops")
"""The transfer experiment's methods (besides zero-cost proxies and their blends)."""
OFA_TARGET = "ofa_mbv3"
TARGETS = FAMILIES + (OFA_TARGET,)
SPLIT_STREAM = 12345
"""Second word of the split's seed sequence, so that the split is not the stream of any
other seeded draw of the same seed."""


def split_order(n: int, seed: int) -> np.ndarray:
    """``[n]`` the seeded permutation of a target table's rows: its first k are the k labeled
    architectures of seed ``seed`` (nested: the first 10 are among the first 20), and every
    method is evaluated on the rows after the largest k."""
    return np.random.default_rng([seed, SPLIT_STREAM]).permutation(n)


@dataclass(frozen=True)
class TransferConfig:
    target: str
    samples: tuple[int, ...] = (0, 10, 20, 50, 100)
    seeds: int = 5
    metric: str | None = None
    methods: tuple[str, ...] = METHODS
    source_per_family: int | None = 4000
    """Labeled CGs drawn from each source family; ``None`` takes every row of its table."""
    table_limit: int | None = None
    """Use only the first N rows of each benchmark table (quick runs and tests)."""
    proxies: tuple[str, ...] = ()
    """Zero-cost proxies scored as baselines (computed on every target architecture, once)."""
    ensemble: bool = False
    """Also the ``zc`` and ``<method>+zc`` rows: rank ensembles of the proxies chosen on the k labels."""
    predictor: PredictorConfig = field(default_factory=PredictorConfig)
    pretrain: PretrainConfig = field(default_factory=lambda: PretrainConfig(epochs=3))
    fit: TrainConfig = FIT_DEFAULT
    finetune: TrainConfig = FINETUNE_DEFAULT
    target_only: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=200, batch_size=16, lr=1e-3))

    def validate(self) -> None:
        if self.target not in TARGETS:
            raise CgnasError(f"transfer target must be one of {', '.join(TARGETS)}, not {self.target!r}")
        if (self.target == OFA_TARGET) != isinstance(self, OFATransferConfig):
            wanted = "OFATransferConfig" if self.target == OFA_TARGET else "TransferConfig"
            raise CgnasError(f"the {self.target} transfer needs a {wanted}; build it with transfer_config(target)")
        unknown = set(self.methods) - set(METHODS)
        if unknown:
            raise CgnasError(f"unknown methods {sorted(unknown)}; choose from {', '.join(METHODS)}")
        if self.proxies:
            check_proxies(self.proxies)
        if self.ensemble and not self.proxies:
            raise CgnasError("--ensemble picks among zero-cost proxies: give them with --proxies")
        if self.source_per_family is not None and self.source_per_family < 1:
            raise CgnasError(f"source_per_family must be >= 1, or None for every row; got {self.source_per_family}")
        if any(k < 0 for k in self.samples) or self.seeds < 1:
            raise CgnasError("--samples must be >= 0 and --seeds >= 1")


@dataclass(frozen=True)
class OFATransferConfig(TransferConfig):
    """The transfer to ``ofa_mbv3``: :class:`TransferConfig` plus where contrastive
    pre-training gets its unlabeled CGs (drawn afresh for every seed)."""

    target: str = OFA_TARGET
    pretrain_per_family: int = 5000
    """Random CGs of each NAS-Bench table (NB101, NB201, NB301) in the pre-training set."""
    pretrain_space_samples: int = 5000
    """CGs sampled from the ofa_mbv3 space (half w1.0, half w1.2 on average; resolutions
    128..224) in the pre-training set; 0 pre-trains on the NAS-Bench families only."""

    def validate(self) -> None:
        super().validate()
        if self.pretrain_per_family < 0 or self.pretrain_space_samples < 0:
            raise CgnasError("pretrain_per_family and pretrain_space_samples must be >= 0")
        if "cl" in self.methods and self.pretrain_per_family + self.pretrain_space_samples < 2:
            raise CgnasError("cl needs at least 2 pre-training CGs: raise pretrain_per_family or "
                             "pretrain_space_samples")


def transfer_config(target: str, **options: Any) -> TransferConfig:
    """The experiment's config for ``target``: :class:`OFATransferConfig` for ofa_mbv3,
    :class:`TransferConfig` otherwise; ``options`` are its fields."""
    return (OFATransferConfig if target == OFA_TARGET else TransferConfig)(target=target, **options)


def proxy_scores(target: str, graphs: GraphSet, proxies: Sequence[str], cache_root: Any, data_dir: Any,
                 progress: bool) -> dict[str, np.ndarray]:
    """``{proxy: [n]}`` zero-cost proxy values of the ``n`` CGs of the first rows of the
    target's table, failed networks set below every other value; ``params`` and ``flops``
    (MACs) are read off the CGs, the others computed by :mod:`cgnas.zcp`."""
    values = {"params": graphs.params.astype(np.float64), "flops": graphs.macs.astype(np.float64)}
    computed = [p for p in proxies if p not in values]
    if computed:
        bench = benchmark(target, data_dir=data_dir)
        raw = score_archs(target, [bench.spec(i) for i in range(len(graphs))], computed, cache_root=cache_root,
                          data_dir=data_dir, progress=progress)
        values.update({name: np.where(np.isnan(v), np.nanmin(v) - 1, v) for name, v in raw.items()})
    return {p: values[p] for p in proxies}


def source_graphs(families: Sequence[str], per_family: int | None, seed: int, cache_root: Any, data_dir: Any,
                  progress: bool, limit: int | None = None) -> tuple[GraphSet, np.ndarray, np.ndarray]:
    """``per_family`` random labeled CGs of each source family (``None``: all of them, in a
    seeded order), with labels and family names."""
    parts, labels, fams = [], [], []
    for fam in families:
        graphs, y = labeled_graphs(fam, SOURCE_METRIC[fam], cache_root, data_dir, progress, limit)
        idx = np.random.default_rng([seed, FAMILIES.index(fam)]).permutation(len(graphs))[:per_family]
        parts.append(graphs.subset(idx))
        labels.append(y[idx])
        fams += [fam] * len(idx)
    return GraphSet.concat(parts), np.concatenate(labels), np.asarray(fams)


def pretrain_set(config: TransferConfig, seed: int, graphs: GraphSet, cache_root: Any, data_dir: Any,
                 progress: bool) -> tuple[GraphSet, np.ndarray]:
    """The unlabeled CGs that ``cl`` pre-trains on, with their Laplacian spectra.

    For a NAS-Bench target: the target's own ``graphs`` (its whole table, or its first
    ``table_limit`` rows). For ofa_mbv3 (:class:`OFATransferConfig`): ``pretrain_per_family``
    random CGs of each NAS-Bench table plus ``pretrain_space_samples`` CGs sampled from the OFA
    space, both drawn with ``seed``.
    """
    kind, length = config.pretrain.spectrum_kind, config.pretrain.spectrum_length
    if not isinstance(config, OFATransferConfig):
        return graphs, table_spectra(config.target, graphs, kind, length, config.table_limit, cache_root, data_dir,
                                     progress)
    from cgnas.spaces.ofa_mbv3 import WIDTHS, OFAMBv3Space

    parts, spectra = [], []
    for fam in FAMILIES:
        fam_graphs, _ = labeled_graphs(fam, None, cache_root, data_dir, progress, config.table_limit)
        fam_spectra = table_spectra(fam, fam_graphs, kind, length, config.table_limit, cache_root, data_dir,
                                    progress)
        # a stream of its own, so the pre-training sample is not the first rows of the source sample
        rng = np.random.default_rng([seed, FAMILIES.index(fam), len(FAMILIES)])
        idx = rng.permutation(len(fam_graphs))[:config.pretrain_per_family]
        parts.append(fam_graphs.subset(idx))
        spectra.append(fam_spectra[idx])
    if config.pretrain_space_samples:
        rng_ofa = random.Random(f"cgnas-ofa-pretrain:{seed}")
        widths = [OFAMBv3Space(default_w=w) for w in WIDTHS]
        archs = [rng_ofa.choice(widths).sample(rng_ofa) for _ in range(config.pretrain_space_samples)]
        sampled = GraphSet.from_cgs((widths[0].to_cg(a) for a in archs), OFA_TARGET,
                                    keys=[widths[0].key(a) for a in archs])
        parts.append(sampled)
        spectra.append(sampled.spectra(kind, length))
    return GraphSet.concat(parts), np.concatenate(spectra)


def transferred_predictor(method: str, graphs: GraphSet, spectra: np.ndarray | None,
                          sources: tuple[GraphSet, np.ndarray, np.ndarray], config: TransferConfig, seed: int,
                          progress: bool) -> Predictor:
    """The k=0 predictor of ``method``: ``cl`` pre-trains the encoder contrastively on the
    unlabeled ``graphs`` (with their ``spectra``; see :func:`pretrain_set`), ``gnn`` does not;
    both then train on
    the labeled ``sources`` (graphs, labels, families; see :func:`source_graphs`)."""
    pred = Predictor(config.predictor, seed=seed)
    if method == "cl":
        pred.pretrain(graphs, spectra, config.pretrain, progress=progress)
    pred.fit(*sources, config.fit, progress=progress)
    return pred
