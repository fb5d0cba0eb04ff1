"""``Predictor``: the estimator users hold (``pretrain``/``fit``/``finetune``/``predict``/``save``/``load``).

    pred = Predictor(seed=0)
    pred.pretrain(unlabeled_graphs, spectra)          # contrastive learning, encoder only
    pred.fit(source_graphs, source_labels, families)  # head (+ encoder) on other families
    pred.finetune(target_graphs[:50], target_labels[:50])
    scores = pred.predict(graphs)                      # numpy [N]

Graph arguments are a :class:`GraphSet` or a list of :class:`CompGraph`. After ``finetune``
predictions are in the target's label units (the fine-tuning labels' z-score is inverted);
before it they are normalized scores, good for ranking only.

Checkpoint file: a header line ``cgnas-predictor <format_version> <sha256>`` followed by a
``torch.save`` payload (config, weights, label statistics, history, and the CG format and
vocabulary it was trained with). It is written atomically and verified on load.
"""

from __future__ import annotations

import copy
import hashlib
import io
import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from cgnas.data.graphset import GraphSet
from cgnas.errors import CgnasError
from cgnas.graph.compgraph import FORMAT_VERSION as CG_FORMAT_VERSION
from cgnas.graph.compgraph import CompGraph
from cgnas.graph.ops import OPS
from cgnas.model.predictor_net import PredictorConfig, PredictorNet
from cgnas.train.pretrain import PretrainConfig, pretrain
from cgnas.train.supervised import (TrainConfig, check_labels, denormalize, normalize, normalize_per_family,
                                    predict_scores, train_regression)
from cgnas.utils import atomic_write, cross_val_parts

MAGIC = b"cgnas-predictor"
FIT_DEFAULT = TrainConfig(epochs=8, batch_size=64, lr=1e-3, label_norm="rank", loss="mse+pairwise")
"""Training on source families: per-family rank-normalized labels, MSE plus pairwise loss (on
NB201 at k=50 it fine-tunes to SRCC 0.816 against 0.774 with z-scored labels and MSE)."""
FINETUNE_DEFAULT = TrainConfig(epochs=100, batch_size=16, lr=3e-4, label_norm="rank", loss="mse+pairwise")
"""Fine-tuning recipe on k target labels: rank-normalized labels, MSE plus pairwise loss, whole
network trained (chosen on NB201 at k=50 against frozen-encoder and z-score variants). lr 3e-4
rather than 1e-3: at 1e-3 fine-tuning on 50 labels could fall below the zero-shot ranking
(DECISIONS 16)."""
CHECKPOINT_VERSION = 1


def as_graphset(graphs: GraphSet | Sequence[CompGraph]) -> GraphSet:
    if isinstance(graphs, GraphSet):
        return graphs
    graphs = list(graphs)
    if not all(isinstance(g, CompGraph) for g in graphs):
        raise CgnasError("graphs must be a GraphSet or a list of CompGraph")
    return GraphSet.from_cgs(graphs)


class Predictor:
    """Transferable accuracy predictor over computational graphs.

    Args:
        config: network sizes (:class:`PredictorConfig`).
        seed: seeds weight initialization and every training step.
    """

    def __init__(self, config: PredictorConfig | None = None, seed: int = 0) -> None:
        self.config = config or PredictorConfig()
        self.seed = seed
        torch.manual_seed(seed)
        self.net = PredictorNet(self.config)
        self.target_stats: dict[str, Any] | None = None
        self.history: dict[str, Any] = {"stages": []}
        self._pretrain_state: dict[str, Any] | None = None

    # ----------------------------------------------------------------- training
    def pretrain(self, graphs: GraphSet | Sequence[CompGraph], spectra: np.ndarray | None = None,
                 config: PretrainConfig | None = None, checkpoint: str | os.PathLike | None = None,
                 progress: bool = True) -> "Predictor":
        """Contrastive pre-training of the encoder on unlabeled graphs.

        ``spectra`` (``[N, L]``) default to the graphs' resampled Laplacian spectra. With
        ``checkpoint`` the predictor is saved after every epoch; a predictor loaded from such a
        checkpoint continues from the next epoch when ``pretrain`` is called again.
        """
        graphs = as_graphset(graphs)
        config = config or PretrainConfig()
        if spectra is None:
            spectra = graphs.spectra(config.spectrum_kind, config.spectrum_length)
        state = self._pretrain_state or {}
        start = state.get("epoch", -1) + 1 if state.get("config") == config.to_dict() else 0

        def on_epoch(epoch: int, loss: float, optimizer_state: dict) -> None:
            self._pretrain_state = {"epoch": epoch, "config": config.to_dict(),
                                    "optimizer": optimizer_state,
                                    "losses": state.get("losses", [])[:epoch] + [loss]}
            state["losses"] = self._pretrain_state["losses"]
            if checkpoint is not None:
                self.save(checkpoint)

        pretrain(self.net, graphs, spectra, config, seed=self.seed, start_epoch=start,
                 optimizer_state=state.get("optimizer") if start else None, on_epoch=on_epoch,
                 progress=progress)
        self._record("pretrain", graphs=len(graphs), config=config.to_dict())
        return self

    def fit(self, graphs: GraphSet | Sequence[CompGraph], labels: Sequence[float],
            families: Sequence[str] | None = None, config: TrainConfig | None = None,
            progress: bool = True) -> "Predictor":
        """Train head and encoder on labeled graphs of one or more source families.

        Labels are normalized per family (``config.label_norm``) so families with different
        scales can be mixed.
        """
        graphs = as_graphset(graphs)
        config = config or FIT_DEFAULT
        y = check_labels(labels, len(graphs))
        fam = np.asarray(families if families is not None else [graphs.space] * len(graphs))
        targets = normalize_per_family(y, fam, config.label_norm)
        train_regression(self.net, graphs, targets, config, seed=self.seed, progress=progress, desc="fit")
        self.target_stats = None
        self._record("fit", graphs=len(graphs), families=sorted(set(fam.tolist())), config=config.to_dict())
        return self

    def finetune(self, graphs: GraphSet | Sequence[CompGraph], labels: Sequence[float],
                 config: TrainConfig | None = None, progress: bool = True) -> "Predictor":
        """Fine-tune on k labeled graphs of the target family (k >= 2)."""
        graphs = as_graphset(graphs)
        config = config or FINETUNE_DEFAULT
        y = check_labels(labels, len(graphs))
        if len(y) < 2:
            raise CgnasError("fine-tuning needs at least 2 labeled architectures (k=0 means: skip finetune)")
        targets, stats = normalize(y, config.label_norm)
        train_regression(self.net, graphs, targets, config, seed=self.seed + 1, progress=progress, desc="finetune")
        self.target_stats = stats
        self._record("finetune", graphs=len(graphs), config=config.to_dict())
        return self

    def cross_val_predict(self, graphs: GraphSet | Sequence[CompGraph], labels: Sequence[float],
                          config: TrainConfig | None = None, folds: int = 5) -> np.ndarray:
        """``[k]`` out-of-fold predictions for k labeled graphs: the k are split into ``folds``
        seeded parts (at most k), and a copy of this predictor fine-tuned on the other parts
        predicts each part. They stand for the fine-tuned predictor on its own labels, where
        its in-sample predictions would be overfitted; this predictor is left unchanged."""
        graphs = as_graphset(graphs)
        y = check_labels(labels, len(graphs))
        if not 2 <= folds <= len(y) or len(y) - math.ceil(len(y) / folds) < 2:  # the largest part held out
            raise CgnasError(f"cross-validation needs 2 <= folds <= k and 2 labels to fine-tune on in every "
                             f"fold; got k={len(y)}, folds={folds}")
        out = np.zeros(len(y))
        for part, rest in cross_val_parts(len(y), folds, self.seed):
            model = self.copy().finetune(graphs.subset(rest), y[rest], config, progress=False)
            out[part] = model.predict(graphs.subset(part))
        return out

    def predict(self, graphs: GraphSet | Sequence[CompGraph]) -> np.ndarray:
        """``[N]`` predictions: target-label units after ``finetune``, normalized scores before."""
        scores = predict_scores(self.net, as_graphset(graphs)).astype(np.float64)
        if self.target_stats is not None:
            return denormalize(scores, self.target_stats)
        return scores

    def copy(self, seed: int | None = None) -> "Predictor":
        """An independent deep copy; with ``seed``, the copy's training steps (e.g. a later
        :meth:`finetune`) are seeded by it instead of this predictor's seed."""
        twin = copy.deepcopy(self)
        if seed is not None:
            twin.seed = seed
        return twin

    def _record(self, stage: str, **info: Any) -> None:
        self.history["stages"].append({"stage": stage, **info})

    @property
    def pretrain_progress(self) -> dict[str, Any]:
        """Contrastive pre-training so far: ``epoch`` (last finished, -1 if none), ``losses``
        (mean loss of each epoch) and the ``config`` it ran with."""
        state = self._pretrain_state or {}
        return {"epoch": state.get("epoch", -1), "losses": list(state.get("losses", [])),
                "config": state.get("config")}

    @property
    def stage(self) -> str:
        stages = self.history["stages"]
        return stages[-1]["stage"] if stages else "untrained"

    # ------------------------------------------------------------- checkpoints
    def state(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "seed": self.seed, "weights": self.net.state_dict(),
                "target_stats": self.target_stats, "history": self.history,
                "pretrain_state": self._pretrain_state,
                "cg_format_version": CG_FORMAT_VERSION, "vocabulary": list(OPS)}

    def save(self, path: str | os.PathLike) -> Path:
        """Write the checkpoint atomically (header with format version and SHA-256, then payload)."""
        buffer = io.BytesIO()
        torch.save(self.state(), buffer)
        payload = buffer.getvalue()
        header = b"%s %d %s\n" % (MAGIC, CHECKPOINT_VERSION, hashlib.sha256(payload).hexdigest().encode())

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                fh.write(header)
                fh.write(payload)

        return atomic_write(path, write)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Predictor":
        """Read a checkpoint written by :meth:`save`.

        Raises:
            CgnasError: the file is missing, not a cgnas checkpoint, corrupt (checksum), of
                another format version, or made for another CG vocabulary.
        """
        p = Path(path)
        if not p.is_file():
            raise CgnasError(f"predictor checkpoint not found: {p}")
        data = p.read_bytes()
        header, _, payload = data.partition(b"\n")
        parts = header.split(b" ")
        if len(parts) != 3 or parts[0] != MAGIC:
            raise CgnasError(f"{p} is not a cgnas predictor checkpoint")
        if parts[1] != str(CHECKPOINT_VERSION).encode():
            raise CgnasError(f"{p} has checkpoint format {parts[1].decode()}, this cgnas reads "
                             f"{CHECKPOINT_VERSION}; retrain or use the matching cgnas version")
        if hashlib.sha256(payload).hexdigest().encode() != parts[2]:
            raise CgnasError(f"{p} is corrupt (checksum mismatch); it was truncated or modified")
        state = torch.load(io.BytesIO(payload), weights_only=True)
        if state["cg_format_version"] != CG_FORMAT_VERSION or state["vocabulary"] != list(OPS):
            raise CgnasError(f"{p} was trained on another CG format or operator vocabulary; retrain it")
        pred = cls(PredictorConfig.from_dict(state["config"]), seed=state["seed"])
        pred.net.load_state_dict(state["weights"])
        pred.net.eval()
        pred.target_stats = state["target_stats"]
        pred.history = state["history"]
        pred._pretrain_state = state["pretrain_state"]
        return pred


