"""Oracles: the true label of an architecture, one counted query at a time.

A search is judged by how many queries it needs. An :class:`Oracle` counts each *distinct*
architecture (by the space's canonical key) once: asking again for one already queried
returns the recorded answer without counting. Every answer is a :class:`Query` (its query
number, canonical string, label, test label where the benchmark has one, rank).

:class:`BenchmarkOracle` answers from a labeled benchmark table. Where the table covers only
part of the space (NB101: 30k of 423k cells, NB301: 10k random genotypes) its rows are the
oracle's **pool**: the search samples and mutates inside it, and a query outside it raises
:class:`OutsidePoolError`. NB201's table is the whole space. An oracle without a pool
(``pool_size is None``; e.g. an accuracy predictor such as OFA's) answers any architecture of
its space: implement :meth:`Oracle._answer` and :meth:`Oracle.sample`.

:class:`OFAPredictorOracle` is such an oracle: OFA's published accuracy predictor over the
whole ``ofa_mbv3`` space, optionally under a MACs budget (then it samples and answers only
sub-networks within the budget, and a search proposes only those).
"""

from __future__ import annotations

import copy
import os
import random
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, replace
from typing import Any, Sequence

import numpy as np
from scipy.stats import rankdata

from cgnas.data.tables import benchmark
from cgnas.errors import CgnasError

SEARCH_METRICS: dict[str, tuple[str, str | None]] = {
    "nb101": ("val_acc_108ep", None),
    "nb201": ("cifar10_val", "cifar10_test"),
    "nb301": ("val_acc", None),
}
"""Per benchmark space, the metric a search queries and the test metric reported beside it
(DESIGN.md section 4: NB201 queries CIFAR-10 validation accuracy, cifar10-valid at 200
epochs, and reports the CIFAR-10 test accuracy; NB101 validation accuracy at 108 epochs; NB301
the surrogate's accuracy). ``ofa_mbv3`` is searched through :class:`OFAPredictorOracle`."""

OFA_METRIC = "ofa_predicted_top1"
"""Label of :class:`OFAPredictorOracle`: ImageNet top-1 (percent) as OFA's accuracy predictor
predicts it."""

BUDGET_SAMPLE_TRIES = 1000
"""Uniform draws :meth:`OFAPredictorOracle.sample` makes before it gives up on a MACs budget."""


class OutsidePoolError(CgnasError):
    """A query for an architecture that the oracle's pool does not hold."""


class OverBudgetError(CgnasError):
    """A query for an architecture over the oracle's MACs budget, or a budget no architecture meets."""


@dataclass(frozen=True)
class Query:
    """One answered query.

    Attributes:
        query: 1-based number of the query (the oracle's count when it was first asked).
        arch: canonical string of the architecture (``space.format``).
        label: the queried metric (e.g. validation accuracy).
        test: the test metric of the same architecture, ``None`` where there is none.
        rank: rank of ``label`` in the pool (1 = best; ties share the best rank), ``None``
            for an oracle without a pool.
    """

    query: int
    arch: str
    label: float
    test: float | None
    rank: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Oracle(ABC):
    """Counted access to true labels of architectures of one search space.

    Attributes:
        space: the :class:`~cgnas.spaces.SearchSpace` queried.
        metric: name of the label.
        history: the queries answered so far, in order (each distinct architecture once).
    """

    pool_size: int | None = None
    """Number of architectures the oracle can answer, ``None`` when it answers the whole space."""

    def __init__(self, space, metric: str) -> None:
        self.space = space
        self.metric = metric
        self.history: list[Query] = []
        self._answers: dict[str, Query] = {}

    @property
    def num_queries(self) -> int:
        return len(self.history)

    def query(self, arch: Any) -> Query:
        """The true label of ``arch``; counted the first time this architecture is asked.

        Raises:
            OutsidePoolError: ``arch`` is not in the oracle's pool.
        """
        key = self.space.key(arch)
        if key in self._answers:
            return self._answers[key]
        label, test, rank = self._answer(arch, key)
        answer = Query(self.num_queries + 1, self.space.format(arch), float(label),
                       None if test is None else float(test), rank)
        self._answers[key] = answer
        self.history.append(answer)
        return answer

    def queried(self, arch: Any) -> bool:
        """Whether ``arch`` (or an architecture with the same key) has been queried."""
        return self.space.key(arch) in self._answers

    def contains(self, arch: Any) -> bool:
        """Whether the oracle can answer ``arch`` (always true without a pool)."""
        return True

    def fresh(self) -> Oracle:
        """The same oracle with no query made yet (shares the read-only tables)."""
        other = copy.copy(self)
        other.history, other._answers = [], {}
        return other

    def replay(self, archs: Sequence[str]) -> None:
        """Query logged architecture strings in order (resuming a search)."""
        for text in archs:
            self.query(self.space.parse(text))

    @abstractmethod
    def sample(self, rng: random.Random) -> Any:
        """A random architecture the oracle can answer."""

    def complete(self, arch: Any, rng: random.Random) -> Any:
        """The architecture a search proposes in place of ``arch`` (a mutated child the oracle
        can answer): ``arch`` itself, except for an oracle that fills a budget."""
        return arch

    @abstractmethod
    def _answer(self, arch: Any, key: str) -> tuple[float, float | None, int | None]:
        """``(label, test, rank)`` of ``arch``; raise :class:`OutsidePoolError` if it cannot."""


class BenchmarkOracle(Oracle):
    """Labels from a benchmark table; its rows are the pool.

    Args:
        space_name: ``nb101``, ``nb201``, ``nb301`` or ``ofa_mbv3``.
        metric: the label queried (default :data:`SEARCH_METRICS`).
        test_metric: reported beside it (default :data:`SEARCH_METRICS`).
        data_dir: benchmark data directory.
        limit: use only the first ``limit`` rows (a small pool, for quick runs and tests).
    """

    def __init__(self, space_name: str, metric: str | None = None, test_metric: str | None = None,
                 data_dir: str | os.PathLike | None = None, limit: int | None = None) -> None:
        default_metric, default_test = SEARCH_METRICS.get(space_name, (None, None))
        bench = benchmark(space_name, metric=metric or default_metric, data_dir=data_dir)
        super().__init__(bench.space, bench.metric)
        rows = len(bench) if limit is None else max(0, min(limit, len(bench)))
        if rows < 1:
            raise CgnasError(f"--limit {limit} leaves no {space_name} architecture to search")
        test_metric = test_metric or default_test
        pool = replace(bench, table=bench.table.iloc[:rows], labels=bench.labels[:rows])
        self.labels = pool.labels
        self.test_labels = (benchmark(space_name, metric=test_metric, data_dir=data_dir).labels[:rows]
                            if test_metric else None)
        self.test_metric = test_metric
        self.archs: list[Any] = pool.archs()
        self.keys: list[str] = [self.space.key(a) for a in self.archs]
        self.index: dict[str, int] = {}
        for row, key in enumerate(self.keys):  # isomorphic duplicates: the first row answers
            self.index.setdefault(key, row)
        self.ranks = rankdata(-self.labels, method="min").astype(np.int64)
        self.pool_size = len(self.index)
        self.source = f"{bench.table.shape[0]:,}-row {space_name} table" + (f" (first {rows})" if limit else "")

    def contains(self, arch: Any) -> bool:
        return self.space.key(arch) in self.index

    def row(self, arch: Any) -> int:
        """Table row of ``arch``.

        Raises:
            OutsidePoolError: ``arch`` is not in the pool.
        """
        row = self.index.get(self.space.key(arch))
        if row is None:
            raise OutsidePoolError(
                f"{self.space.name}: {self.space.format(arch)} is not in the oracle's pool (the "
                f"{self.pool_size:,} architectures of the {self.source}); a benchmark oracle only "
                "answers architectures its table holds, so the search must stay inside the pool")
        return row

    def sample(self, rng: random.Random) -> Any:
        return self.archs[rng.randrange(len(self.archs))]

    def _answer(self, arch: Any, key: str) -> tuple[float, float | None, int | None]:
        row = self.row(arch)
        test = None if self.test_labels is None else self.test_labels[row]
        return self.labels[row], test, int(self.ranks[row])


class OFAPredictorOracle(Oracle):
    """OFA's published accuracy predictor as a counted oracle over the whole ``ofa_mbv3`` space.

    The label of a sub-network is the ImageNet top-1 (percent) that
    :class:`~cgnas.data.ofa_oracle.OFAAccuracyOracle` predicts: a model of accuracy (on OFA's
    10k holdout of the ImageNet *train* set, about 5 points above the official val set), not a
    measurement. There is no pool, no test label and no rank. Architectures are sampled from
    the space's resolutions (default 128..224 step 4) and width (default 1.2, the predictor's
    supernet).

    Args:
        max_macs: MACs budget in millions (``None``: none). MACs are those of the real network
            at its resolution, read off its CG (``cg.macs()``). With a budget, :meth:`sample`
            draws uniformly among the sub-networks within it (rejection; then see
            ``fill_budget``), :meth:`contains` is true only for them, and querying one over
            it raises :class:`OverBudgetError`.
        data_dir: data directory holding ``ofa/ofa_mbv3_acc_predictor.pth``.
        clip_resolution: score resolutions above the predictor's 112..239 as 224..239 instead
            of raising (for OFA's published nets at r=240..260; sampled ones never are).
        resolutions: the resolutions sampled, mutated to and grown through (default: the
            space's, 128..224 step 4); e.g. OFA's own search's ``(160, 176, 192, 208, 224)``.
        fill_budget: with ``max_macs``, :meth:`sample` and :meth:`complete` grow each
            sub-network until it fills the budget (:meth:`OFAMBv3Space.grow`), so a search
            proposes the large nets that accuracy favours instead of uniform draws, which
            average half the budget (default, as in ``cgnas search``); ``False``: uniform draws.

    Raises:
        OverBudgetError: ``max_macs`` is below the smallest sub-network of the space.
    """

    def __init__(self, max_macs: float | None = None, data_dir: str | os.PathLike | None = None,
                 clip_resolution: bool = False, fill_budget: bool = True,
                 resolutions: Sequence[int] | None = None) -> None:
        from cgnas.data.ofa_oracle import OFAAccuracyOracle
        from cgnas.spaces.ofa_mbv3 import OFAMBv3Space

        super().__init__(OFAMBv3Space() if resolutions is None else OFAMBv3Space(resolutions=resolutions),
                         OFA_METRIC)
        self.predictor = OFAAccuracyOracle(data_dir, clip_resolution=clip_resolution)
        self.max_macs = max_macs
        self.fill_budget = fill_budget and max_macs is not None
        self._macs: dict[str, int] = {}  # key -> MACs, shared by fresh() copies (values never change)
        if max_macs is not None:
            smallest = self.space.smallest()
            floor = self.macs(smallest) / 1e6
            if not max_macs >= floor:
                raise OverBudgetError(
                    f"--max-macs {max_macs:g} is below the smallest ofa_mbv3 sub-network ({floor:.1f}M MACs: "
                    f"{self.space.format(smallest)}); give a budget of at least {floor:.1f} (millions)")

    def macs(self, arch: Any) -> int:
        """Multiply-accumulates of the network of ``arch`` (its CG, at its resolution)."""
        key = self.space.key(arch)
        if key not in self._macs:
            self._macs[key] = self.space.to_cg(arch).macs()
        return self._macs[key]

    def contains(self, arch: Any) -> bool:
        """Whether ``arch`` is within the MACs budget (always true without one)."""
        return self.max_macs is None or self.macs(arch) <= self.max_macs * 1e6

    def sample(self, rng: random.Random) -> Any:
        for _ in range(BUDGET_SAMPLE_TRIES):
            arch = self.space.sample(rng)
            if self.contains(arch):
                return self.complete(arch, rng)
        raise OverBudgetError(f"{BUDGET_SAMPLE_TRIES} random ofa_mbv3 sub-networks were all over --max-macs "
                              f"{self.max_macs:g}; the budget is too close to the smallest sub-network, raise it")

    def complete(self, arch: Any, rng: random.Random) -> Any:
        """``arch`` grown to fill the budget when ``fill_budget`` is set, else ``arch``."""
        return self.space.grow(arch, rng, self.contains) if self.fill_budget else arch

    def _answer(self, arch: Any, key: str) -> tuple[float, float | None, int | None]:
        if not self.contains(arch):
            raise OverBudgetError(f"ofa_mbv3: {self.space.format(arch)} has {self.macs(arch) / 1e6:.1f}M MACs, "
                                  f"over the oracle's budget of {self.max_macs:g}M")
        return 100.0 * float(self.predictor.predict([arch])[0]), None, None
