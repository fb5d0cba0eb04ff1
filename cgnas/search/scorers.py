"""Fitness for the evolutionary search: scorers that rank candidate architectures.

A scorer is told everything queried so far (:meth:`Scorer.update`, before each generation)
and then scores candidates (:meth:`Scorer.score`, higher = better). Only the best-scored
candidates are queried, so a good scorer saves queries.

* :class:`PredictorScorer`: a cgnas :class:`~cgnas.model.Predictor`, fine-tuned afresh from
  its source state on all architectures queried so far (once at least two are). Starting
  from the same source model each generation keeps the scorer a function of the queries
  alone, so a resumed search continues exactly.
* :class:`SynflowScorer`: the synflow zero-cost proxy of each candidate's real network
  (``cgnas.zcp``), computed once per architecture; it does not learn from queries.
* :class:`RidgeScorer`: ridge regression on fixed-length CG descriptors
  (:mod:`cgnas.graph.descriptor`), refitted on every query each generation: a surrogate
  that costs milliseconds and starts from nothing, with no source family; or, given a
  prior (a ridge fitted on labels outside the search, e.g. OFA's measured subnets), the
  prior plus a ridge on the queries' residuals from it.
* :class:`BlendScorer`: the mean normalized rank of several scorers
  (:func:`~cgnas.ranking.rank_blend`), e.g. the fine-tuned predictor and synflow.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any, Callable, Iterable, Protocol, Sequence

import numpy as np

from cgnas.data.graphset import GraphSet
from cgnas.errors import CgnasError
from cgnas.model.predictor import FINETUNE_DEFAULT, Predictor
from cgnas.model.ridge import MIN_SAMPLES, RidgeLOO
from cgnas.ranking import rank_blend
from cgnas.search.oracle import Oracle, Query
from cgnas.train.supervised import TrainConfig

SEARCH_FINETUNE = replace(FINETUNE_DEFAULT, epochs=30, lr=1e-3)
"""Fine-tuning recipe of the predictor scorer: the transfer experiment's (rank labels, MSE +
pairwise, whole network) for 30 epochs at lr 1e-3 instead of 100 at 3e-4. The queries of a
search are not a random sample but clusters around the population, and 100 epochs at lr 1e-3
on them overfit: on NB201
(CL predictor, 30 queries of a search run) the fine-tuned model ranked 3,000 random
architectures with Spearman 0.47 after 100 epochs and 0.72 after 30 (0.65 before fine-tuning).
It also costs a third: about 30 s of fine-tuning over a 100-query NB201 search on one thread."""


class Scorer(Protocol):
    def update(self, queries: Sequence[Query]) -> None:
        """Learn from every query answered so far (in order)."""

    def score(self, archs: Sequence[Any]) -> np.ndarray:
        """``[len(archs)]`` fitness of candidate architectures, higher = better."""


def memoized(known: dict[str, Any], keys: Sequence[str], archs: Sequence[Any],
             compute: Callable[[list[Any]], Iterable[Any]]) -> list[Any]:
    """``known[key]`` for each key, computing (in one call, for the architectures whose key
    is not known yet) and storing the missing ones first."""
    todo = {k: a for k, a in zip(keys, archs) if k not in known}
    if todo:
        known.update(zip(todo, compute(list(todo.values()))))
    return [known[k] for k in keys]


class GraphLookup:
    """CGs of architectures: from the CG cache for pool rows, built otherwise.

    Args:
        oracle: the oracle searched.
        pool_graphs: the cached CGs of the oracle's pool rows, in row order (optional).
    """

    def __init__(self, oracle: Oracle, pool_graphs: GraphSet | None = None) -> None:
        if pool_graphs is not None and len(pool_graphs) != len(getattr(oracle, "archs", ())):
            raise CgnasError(f"{len(pool_graphs)} cached CGs for a pool of {len(oracle.archs)} rows")
        self.oracle = oracle
        self.pool_graphs = pool_graphs

    def __call__(self, archs: Sequence[Any]) -> GraphSet:
        if self.pool_graphs is not None:
            return self.pool_graphs.subset([self.oracle.row(a) for a in archs])
        space = self.oracle.space
        return GraphSet.from_cgs((space.to_cg(a) for a in archs), space.name, keys=[space.key(a) for a in archs])


class PredictorScorer:
    """Predictions of a CG predictor, fine-tuned on all queried architectures each generation.

    Args:
        source: the predictor before any target label (e.g. CL + head on other families).
        graphs: maps architectures to their CGs (:class:`GraphLookup`).
        seed: seeds the fine-tuning (the search seed).
        finetune: the fine-tuning recipe (default :data:`SEARCH_FINETUNE`).
    """

    def __init__(self, source: Predictor, graphs: GraphLookup, seed: int = 0,
                 finetune: TrainConfig = SEARCH_FINETUNE) -> None:
        self.source = source
        self.graphs = graphs
        self.seed = seed
        self.finetune = finetune
        self.model = source

    def update(self, queries: Sequence[Query]) -> None:
        if len(queries) < 2:
            return
        space = self.graphs.oracle.space
        archs = [space.parse(q.arch) for q in queries]
        self.model = self.source.copy(self.seed).finetune(self.graphs(archs), [q.label for q in queries],
                                                          self.finetune, progress=False)

    def score(self, archs: Sequence[Any]) -> np.ndarray:
        return self.model.predict(self.graphs(archs))


class RidgeScorer:
    """Ridge regression (:class:`~cgnas.model.ridge.RidgeLOO`) from each architecture's CG
    descriptor ``x`` to its label, refitted on all queries each generation.

    Without a prior the score is ``r(x)``, the ridge fitted on the queries' labels ``y``;
    until :data:`~cgnas.model.ridge.MIN_SAMPLES` are queried every candidate scores 0 (they
    keep their proposal order). With a prior ``p`` (a model of the same descriptors, fitted
    on labels that cost no query) the score is ``p(x) + r(x)``, ``r`` fitted on the residuals
    ``y - p(x)``: ``p`` alone ranks the first generation, and the ridge's own intercept
    absorbs a constant offset between the prior's labels and the oracle's. Where the
    residuals have no structure the leave-one-out penalty grows and the score falls back to
    the prior.

    Args:
        graphs: maps architectures to their CGs (:class:`GraphLookup`).
        prior: a fitted model with ``predict(descriptors [m, DESCRIPTOR_LENGTH]) -> [m]``.
    """

    def __init__(self, graphs: GraphLookup, prior: RidgeLOO | None = None) -> None:
        self.graphs = graphs
        self.prior = prior
        self.known: dict[str, np.ndarray] = {}
        self.model: RidgeLOO | None = None

    def descriptors(self, archs: Sequence[Any]) -> np.ndarray:
        """``[len(archs), DESCRIPTOR_LENGTH]``, each computed once."""
        space = self.graphs.oracle.space
        return np.stack(memoized(self.known, [space.key(a) for a in archs], archs,
                                 lambda todo: self.graphs(todo).descriptors()))

    def _prior(self, features: np.ndarray) -> np.ndarray:
        return np.zeros(len(features)) if self.prior is None else self.prior.predict(features)

    def update(self, queries: Sequence[Query]) -> None:
        if len(queries) < MIN_SAMPLES:
            self.model = None
            return
        space = self.graphs.oracle.space
        features = self.descriptors([space.parse(q.arch) for q in queries])
        residuals = np.array([q.label for q in queries]) - self._prior(features)
        self.model = RidgeLOO().fit(features, residuals)

    def score(self, archs: Sequence[Any]) -> np.ndarray:
        if self.model is None and self.prior is None:
            return np.zeros(len(archs))
        features = self.descriptors(archs)
        return self._prior(features) + (0.0 if self.model is None else self.model.predict(features))


class SynflowScorer:
    """The synflow proxy of each architecture's network (NaN scores rank last).

    Args:
        space_name: the search space.
        seed, cache_root, data_dir: passed to :func:`cgnas.zcp.score_archs`.
    """

    def __init__(self, space_name: str, seed: int = 0, cache_root: str | os.PathLike | None = None,
                 data_dir: str | os.PathLike | None = None) -> None:
        self.space_name = space_name
        self.options = {"seed": seed, "cache_root": cache_root, "data_dir": data_dir}
        self.known: dict[str, float] = {}

    def update(self, queries: Sequence[Query]) -> None:
        """Synflow does not learn from labels."""

    def score(self, archs: Sequence[Any]) -> np.ndarray:
        from cgnas.spaces import space
        from cgnas.zcp.runner import score_archs

        sp = space(self.space_name)
        scores = np.array(memoized(self.known, [sp.key(a) for a in archs], archs,
                                   lambda todo: score_archs(self.space_name, todo, ["synflow"],
                                                            **self.options)["synflow"]), dtype=np.float64)
        return np.where(np.isfinite(scores), scores, -np.inf)



class BlendScorer:
    """Equal-weight rank ensemble of scorers: ``(1/m) Σ_j rank(s_j(x)) / n`` over the ``n``
    candidates of a generation.

    Each scorer learns from the queries as it would alone. The weights stay equal for the
    reason of :func:`~cgnas.ranking.rank_blend`: the queried labels that could fit
    them are the ones the predictor was fine-tuned on.
    """

    def __init__(self, *scorers: Scorer) -> None:
        if len(scorers) < 2:
            raise CgnasError("a blend needs at least two scorers")
        self.scorers = scorers

    def update(self, queries: Sequence[Query]) -> None:
        for scorer in self.scorers:
            scorer.update(queries)

    def score(self, archs: Sequence[Any]) -> np.ndarray:
        return rank_blend(*(scorer.score(archs) for scorer in self.scorers))
