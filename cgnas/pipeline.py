"""The predictor pipeline on benchmark data, as the CLI runs it.

``pretrain_on_spaces`` -> ``train_on_sources`` -> ``finetune_on_target`` -> ``evaluate_on_target``,
each reading CGs from the cache and labels from the benchmark tables (or a user CSV).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from cgnas.data.cache import labeled_graphs, table_spectra
from cgnas.data.graphset import GraphSet
from cgnas.data.tables import ARCH_COLUMNS, row_spec
from cgnas.errors import CgnasError
from cgnas.protocol import SOURCE_METRIC, TARGET_METRIC, source_graphs, split_order
from cgnas.model.predictor import Predictor
from cgnas.model.predictor_net import PredictorConfig
from cgnas.ranking import rank_scores
from cgnas.train.pretrain import PretrainConfig
from cgnas.train.supervised import TrainConfig, check_labels

PathLike = str | os.PathLike


def pretrain_on_spaces(spaces: Sequence[str], out: PathLike, config: PretrainConfig, seed: int = 0,
                       resume: bool = False, predictor_config: PredictorConfig | None = None,
                       cache_root: PathLike | None = None, data_dir: PathLike | None = None,
                       progress: bool = True, limit: int | None = None) -> Predictor:
    """Contrastive pre-training on the cached CGs of ``spaces``; checkpoint ``out`` every epoch.

    With ``resume`` and an existing ``out`` from the same configuration, training continues
    after the last finished epoch. ``limit`` uses only the first N rows of each table.
    """
    parts, spectra = [], []
    for name in spaces:
        graphs, _ = labeled_graphs(name, None, cache_root, data_dir, progress, limit)
        parts.append(graphs)
        spectra.append(table_spectra(name, graphs, config.spectrum_kind, config.spectrum_length, limit,
                                     cache_root, data_dir, progress))
    if resume and Path(out).is_file():
        pred = Predictor.load(out)
        if pred.pretrain_progress["config"] != config.to_dict():
            raise CgnasError(f"--resume: {out} was pre-trained with other options; "
                             "rerun with the same options or without --resume")
    else:
        pred = Predictor(predictor_config, seed=seed)
    return pred.pretrain(GraphSet.concat(parts), np.concatenate(spectra), config, checkpoint=out,
                         progress=progress)


def train_on_sources(sources: Sequence[str], out: PathLike, encoder: PathLike | None = None,
                     per_family: int = 4000, config: TrainConfig | None = None, seed: int = 0,
                     cache_root: PathLike | None = None, data_dir: PathLike | None = None,
                     progress: bool = True, limit: int | None = None) -> Predictor:
    """Train head (+ encoder) on ``per_family`` labeled CGs of each source; no encoder = no CL."""
    pred = Predictor.load(encoder) if encoder is not None else Predictor(seed=seed)
    pred.seed = seed
    unknown = [s for s in sources if s not in SOURCE_METRIC]
    if unknown or not sources:
        raise CgnasError(f"--sources must name families from {', '.join(SOURCE_METRIC)}; got {list(sources)}")
    graphs, labels, families = source_graphs(sources, per_family, seed, cache_root, data_dir, progress, limit)
    pred.fit(graphs, labels, families, config, progress=progress)
    pred.save(out)
    return pred


def read_labels_csv(space: str, path: PathLike) -> tuple[list[Any], np.ndarray]:
    """Architecture specs and labels of a user CSV (the space's architecture columns + ``label``)."""
    p = Path(path)
    if not p.is_file():
        raise CgnasError(f"labels file not found: {p}")
    try:
        table = pd.read_csv(p)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CgnasError(f"cannot read {p} as CSV: {exc}") from exc
    needed = list(ARCH_COLUMNS[space]) + ["label"]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise CgnasError(f"{p} lacks column(s) {', '.join(missing)}; a {space} labels file needs "
                         f"{', '.join(needed)}")
    labels = pd.to_numeric(table["label"], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(labels))
    if bad.size:
        raise CgnasError(f"{p}: label of row {bad[0] + 2} is missing or not a number ({bad.size} such rows)")
    return [row_spec(space, r) for r in table.to_dict("records")], labels


def target_graphs(target: str, metric: str | None, labels_csv: PathLike | None, cache_root: Any,
                  data_dir: Any, progress: bool, limit: int | None) -> tuple[GraphSet, np.ndarray]:
    """Labeled CGs of ``target``: from a user CSV when given, else from the benchmark table."""
    if labels_csv is not None:
        specs, labels = read_labels_csv(target, labels_csv)
        return graphs_from_specs(target, specs), labels
    return labeled_graphs(target, metric or TARGET_METRIC.get(target), cache_root, data_dir, progress, limit)


def graphs_from_specs(space_name: str, specs: Sequence[Any]) -> GraphSet:
    from cgnas.spaces import space
    sp = space(space_name)
    archs = [sp.parse(s) for s in specs]
    return GraphSet.from_cgs([sp.to_cg(a) for a in archs], space_name, keys=[sp.key(a) for a in archs])


def finetune_on_target(predictor: PathLike, target: str, samples: int, out: PathLike, seed: int = 0,
                       metric: str | None = None, labels_csv: PathLike | None = None,
                       config: TrainConfig | None = None, cache_root: PathLike | None = None,
                       data_dir: PathLike | None = None, progress: bool = True,
                       limit: int | None = None) -> Predictor:
    """Fine-tune on ``samples`` random labeled architectures of ``target`` (or of a user CSV).

    The keys of the architectures used are stored in the checkpoint, so that
    :func:`evaluate_on_target` scores only the others.
    """
    pred = Predictor.load(predictor)
    graphs, labels = target_graphs(target, metric, labels_csv, cache_root, data_dir, progress, limit)
    if not 2 <= samples <= len(graphs):
        raise CgnasError(f"--samples must be between 2 and {len(graphs)} (the labeled {target} architectures)")
    idx = split_order(len(graphs), seed)[:samples]
    pred.seed = seed
    pred.finetune(graphs.subset(idx), labels[idx], config, progress=progress)
    pred.history["finetune_target"] = target
    pred.history["finetune_keys"] = [str(k) for k in graphs.keys[idx]]
    pred.save(out)
    return pred


def evaluate_on_target(predictor: PathLike, target: str, metric: str | None = None,
                       labels_csv: PathLike | None = None, cache_root: PathLike | None = None,
                       data_dir: PathLike | None = None, progress: bool = True,
                       limit: int | None = None) -> dict[str, Any]:
    """Spearman and Kendall of the predictor on the target's labeled architectures it was not
    fine-tuned on (or on every row of a user CSV)."""
    pred = Predictor.load(predictor)
    graphs, labels = target_graphs(target, metric, labels_csv, cache_root, data_dir, progress, limit)
    if labels_csv is None and pred.history.get("finetune_target") == target:
        used = set(pred.history.get("finetune_keys", []))
        keep = np.array([str(k) not in used for k in graphs.keys])
        graphs, labels = graphs.subset(np.flatnonzero(keep)), labels[keep]
    check_labels(labels, len(graphs))
    if len(graphs) < 3:
        raise CgnasError("need at least 3 labeled architectures to compute rank correlations")
    rho, tau = rank_scores(pred.predict(graphs), labels)
    return {"spearman": round(rho, 4), "kendall": round(tau, 4), "n": len(graphs)}


def predict_with_percentile(predictor: PathLike, cg: Any, target: str | None = None,
                            cache_root: PathLike | None = None, data_dir: PathLike | None = None,
                            progress: bool = True, limit: int | None = None) -> dict[str, Any]:
    """Prediction for one CG and its percentile among the predictions for the target family.

    ``target`` defaults to the family the predictor was fine-tuned on; without one, only the
    prediction (a normalized score) is returned.
    """
    pred = Predictor.load(predictor)
    value = float(pred.predict([cg])[0])
    target = target or pred.history.get("finetune_target")
    result: dict[str, Any] = {"name": cg.name, "prediction": round(value, 4),
                              "units": "target label" if pred.target_stats else "normalized score",
                              "target": target, "percentile": None, "n": 0}
    if target:
        graphs, _ = labeled_graphs(target, None, cache_root, data_dir, progress, limit)
        family = pred.predict(graphs)
        pct = 100.0 * (np.sum(family < value) + 0.5 * np.sum(family == value)) / len(family)
        result.update(percentile=round(float(pct), 2), n=len(family))
    return result
