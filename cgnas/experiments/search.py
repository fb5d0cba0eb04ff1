"""``cgnas search``: seeded search runs with a resumable JSON log per run.

Methods (DESIGN.md section 4, experiment 2):

* ``cl``: evolution guided by the transferred predictor (contrastive pre-training on the
  pool's unlabeled CGs, head trained on the other two NAS-Bench families, as the transfer
  experiment builds it for k=0), fine-tuned on every query each generation;
* ``gnn``: the same without contrastive pre-training;
* ``synflow``: evolution with the synflow proxy as the fitness, queried the same way;
* ``evolution``: plain evolution on the oracle, no fitness model: each generation proposes
  ``per_generation`` children (the same mutation, tournament and exploration) and queries
  them all;
* ``random``: uniform random search in the pool;
* ``ridge``: evolution with ridge regression on fixed-length CG descriptors
  (:class:`~cgnas.search.scorers.RidgeScorer`) as the fitness, refitted on every query: no
  source family and no pre-training, the cheapest learned surrogate;
* ``ridge-measured`` (``ofa_mbv3`` only): the same ridge on the residuals of a prior, a ridge
  fitted on the 364 measured subnets of ``ofa/ofa_mbv3_w1.0_measured_364.csv`` (labels that
  cost no query; DECISIONS 30);
* ``cl+synflow``, ``gnn+synflow``, ``cl+ridge``, ``gnn+ridge``: evolution with the
  equal-weight rank blend of the fine-tuned predictor and synflow or the ridge as the fitness
  (:class:`~cgnas.search.scorers.BlendScorer`).

``ofa_mbv3`` (DESIGN.md section 4, experiment 3) has no table to search: its oracle is OFA's
published accuracy predictor over the whole space
(:class:`~cgnas.search.oracle.OFAPredictorOracle`), optionally under a MACs budget
(``max_macs``, millions, MACs of the real network at its resolution) that sampling and
mutation respect; by default every proposal is grown to fill the budget (``fill_budget``).
Its source predictor is the OFA transfer's k=0 predictor
(:class:`~cgnas.protocol.OFATransferConfig`); ``synflow`` is not offered there.

The source predictor (before any target label) depends on the space, the method, its build
seed and options, not on the search seed: it is built once and kept in the cache directory
(``<cache>/predictors/``), so repeated seeds and runs reuse it; ``predictor=`` takes one from
``cgnas train`` instead.

Log of a run: ``<out_dir>/<space>_<method>_seed<seed>.json``, rewritten atomically after every
generation: the settings, and every query in order (query number, canonical architecture,
label, test label, rank in the pool). Running the same search again continues from the log
(its queries are replayed into the oracle; see :mod:`cgnas.search.evolution` for why the
continuation is exact); a log written with other settings is an error, not silently mixed.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from cgnas.data.cache import cache_dir, labeled_graphs
from cgnas.errors import CgnasError
from cgnas.model.predictor import Predictor
from cgnas.model.ridge import RidgeLOO
from cgnas.protocol import (FAMILIES, TARGETS, TransferConfig, pretrain_set, source_graphs, transfer_config,
                            transferred_predictor)
from cgnas.search.evolution import EvolutionConfig, evolve, random_search
from cgnas.search.oracle import BenchmarkOracle, OFAPredictorOracle, Oracle, Query
from cgnas.search.scorers import (SEARCH_FINETUNE, BlendScorer, GraphLookup, PredictorScorer, RidgeScorer,
                                   Scorer, SynflowScorer)
from cgnas.train.supervised import TrainConfig
from cgnas.utils import atomic_write_text

METHODS = ("cl", "gnn", "random", "synflow", "evolution", "ridge", "ridge-measured", "cl+synflow", "gnn+synflow",
           "cl+ridge", "gnn+ridge")
PREDICTORS = ("cl", "gnn")
OFA_SPACE = "ofa_mbv3"
SPACE_UNSUPPORTED = {OFA_SPACE: {"synflow": "synflow of a 1000-class ImageNet network costs about a second per "
                                            "candidate on a CPU, and thousands are ranked per run"}}
"""Methods a space does not offer, and why."""
LOG_VERSION = 1
PathLike = str | os.PathLike


@dataclass(frozen=True)
class SearchConfig:
    space: str
    method: str
    queries: int = 100
    seeds: tuple[int, ...] = tuple(range(10))
    evolution: EvolutionConfig = field(default_factory=EvolutionConfig)
    finetune: TrainConfig = SEARCH_FINETUNE
    """Fine-tuning of the predictor scorer on the queries, each generation."""
    predictor: str | None = None
    """A predictor checkpoint (``cgnas train``) instead of building the source predictor."""
    build: TransferConfig | None = None
    """How to build the source predictor (default: the transfer experiment's settings)."""
    build_seed: int = 0
    metric: str | None = None
    """Label queried (default: :data:`cgnas.search.oracle.SEARCH_METRICS`)."""
    limit: int | None = None
    """Search only the first N rows of the table (quick runs and tests; for ofa_mbv3 it only
    limits the tables the source predictor and the ``ridge-measured`` prior are built from)."""
    max_macs: float | None = None
    """ofa_mbv3 only: MACs budget in millions; every proposed and queried sub-network is within it."""
    fill_budget: bool = True
    """With ``max_macs``: proposals are grown until they fill the budget
    (:class:`~cgnas.search.oracle.OFAPredictorOracle`); ``False`` keeps uniform draws."""
    resolutions: tuple[int, ...] | None = None
    """ofa_mbv3 only: the input resolutions searched (default the space's, 128..224 step 4)."""

    def validate(self) -> None:
        if self.method not in METHODS:
            raise CgnasError(f"unknown search method {self.method!r}; choose one of {', '.join(METHODS)}")
        unsupported = SPACE_UNSUPPORTED.get(self.space, {})
        for part in self.fitness:
            if part in unsupported:
                offered = [m for m in METHODS if not set(m.split("+")) & set(unsupported)]
                raise CgnasError(f"{self.method} is not a search method for {self.space} ({unsupported[part]}); "
                                 f"choose one of {', '.join(offered)}")
        if self.queries < 1 or not self.seeds:
            raise CgnasError("--queries and --seeds must be at least 1")
        if self.predictor_method and self.predictor is None and self.space not in TARGETS:
            raise CgnasError(f"no transferred predictor can be built for {self.space} (the sources are the "
                             f"NAS-Bench families {', '.join(FAMILIES)}); pass --predictor")
        if "ridge-measured" in self.fitness and self.space != OFA_SPACE:
            raise CgnasError(f"ridge-measured fits its prior on OFA's measured subnets (ofa_mbv3 only); the labeled "
                             f"architectures of {self.space} are the search's own pool, so use ridge")
        if self.space == OFA_SPACE and self.metric is not None:
            raise CgnasError("ofa_mbv3 is searched through OFA's accuracy predictor, which has one label; "
                             "leave out --metric")
        if (self.max_macs is not None or self.resolutions is not None) and self.space != OFA_SPACE:
            raise CgnasError(f"--max-macs and --resolutions apply to ofa_mbv3, whose oracle answers the whole "
                             f"space; the {self.space} search stays inside its benchmark table")
        self.evolution.validate()

    @property
    def fitness(self) -> tuple[str, ...]:
        """The scorers the method blends (``cl+synflow``: ``("cl", "synflow")``)."""
        return tuple(self.method.split("+"))

    @property
    def predictor_method(self) -> str | None:
        """``cl`` or ``gnn`` when the method's fitness includes a fine-tuned predictor."""
        return next((part for part in self.fitness if part in PREDICTORS), None)

    def search_evolution(self) -> EvolutionConfig:
        """The evolution settings the method runs with (``evolution`` proposes only the
        children it queries)."""
        if self.method == "evolution":
            return replace(self.evolution, candidates=self.evolution.per_generation)
        return self.evolution

    def build_config(self) -> TransferConfig:
        return replace(self.build or transfer_config(self.space), target=self.space, table_limit=self.limit)

    def settings(self) -> dict[str, Any]:
        """What a run's result depends on besides its seed and budget (checked on resume)."""
        out: dict[str, Any] = {"space": self.space, "method": self.method, "metric": self.metric,
                               "limit": self.limit}
        out["evolution"] = (self.search_evolution().to_dict() if self.method != "random"
                            else {"per_generation": self.evolution.per_generation})
        if self.max_macs is not None:
            out["max_macs"] = self.max_macs
            if self.fill_budget:  # absent in logs from before the option, which drew uniformly
                out["fill_budget"] = True
        if self.resolutions is not None:  # absent by default, so default logs stay valid
            out["resolutions"] = list(self.resolutions)
        if self.predictor_method:
            out["finetune"] = self.finetune.to_dict()
            out["predictor"] = self.predictor_id()
        return out

    def predictor_id(self) -> str:
        """The source predictor's identity: the checksum of a given checkpoint, else the
        cache name of the one built (method, build seed, digest of the build options)."""
        if self.predictor is not None:
            path = Path(self.predictor)
            if not path.is_file():
                raise CgnasError(f"predictor checkpoint not found: {path}")
            return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
        build = asdict(self.build_config())
        spec = {k: build[k] for k in ("target", "source_per_family", "table_limit", "predictor", "pretrain", "fit")}
        # fields a target's config adds (OFA's pre-training set) shape the predictor too
        spec.update({k: v for k, v in build.items() if k not in asdict(TransferConfig(target=self.space))})
        if spec["predictor"]["encoder"].get("kind") == "mean":
            # the encoder kind joined the config after predictors were cached and logged under
            # these names; the default is left out so that they stay valid
            del spec["predictor"]["encoder"]["kind"]
        method = self.predictor_method
        digest = hashlib.sha1(json.dumps([method, self.build_seed, spec], sort_keys=True).encode()).hexdigest()
        return f"{self.space}_{method}_seed{self.build_seed}_{digest[:12]}"


def source_predictor(config: SearchConfig, cache_root: PathLike | None, data_dir: PathLike | None,
                     progress: bool, log: Callable[[str], None]) -> Predictor:
    """The predictor before any target label: loaded from ``config.predictor``, from the
    cache, or built (CL or not, then the head on the other families) and cached."""
    if config.predictor is not None:
        return Predictor.load(config.predictor)
    path = cache_dir(cache_root) / "predictors" / f"{config.predictor_id()}.pt"
    if path.is_file():
        log(f"source predictor: {path}")
        return Predictor.load(path)
    build, space, method = config.build_config(), config.space, config.predictor_method
    log(f"building the {method} source predictor for {space} (once; kept as {path})")
    start = time.perf_counter()
    graphs, _ = labeled_graphs(space, None, cache_root, data_dir, progress, config.limit)
    graphs, spectra = (pretrain_set(build, config.build_seed, graphs, cache_root, data_dir, progress)
                       if method == "cl" else (graphs, None))
    sources = source_graphs([f for f in FAMILIES if f != space], build.source_per_family, config.build_seed,
                            cache_root, data_dir, progress, config.limit)
    pred = transferred_predictor(method, graphs, spectra, sources, build, config.build_seed, progress)
    pred.save(path)
    log(f"built in {time.perf_counter() - start:.0f} s")
    return pred


def measured_prior(config: SearchConfig, cache_root: PathLike | None, data_dir: PathLike | None,
                   progress: bool) -> RidgeLOO:
    """The prior of ``ridge-measured``: a ridge from the CG descriptors of the space's labeled
    table (ofa_mbv3: the 364 measured subnets, or its first ``config.limit``) to their labels."""
    graphs, labels = labeled_graphs(config.space, None, cache_root, data_dir, progress, config.limit)
    return RidgeLOO().fit(graphs.descriptors(), labels)


def log_path(out_dir: PathLike, space: str, method: str, seed: int) -> Path:
    return Path(out_dir) / f"{space}_{method}_seed{seed}.json"


def read_log(path: Path, settings: dict[str, Any]) -> dict[str, Any] | None:
    """The log at ``path`` if there is one; an error if it was written with other settings."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CgnasError(f"search log {path} is not valid JSON ({exc}); delete it to start over") from exc
    if data.get("version") != LOG_VERSION or data.get("settings") != settings:
        raise CgnasError(f"search log {path} was written with other settings; use another --out "
                         f"directory or delete it to start over (its settings: {data.get('settings')})")
    return data


def search_oracle(config: SearchConfig, data_dir: PathLike | None = None) -> Oracle:
    """The oracle of a search: OFA's accuracy predictor (under ``max_macs``) for ofa_mbv3, the
    benchmark table (its first ``limit`` rows) otherwise."""
    if config.space == OFA_SPACE:
        return OFAPredictorOracle(config.max_macs, data_dir=data_dir, fill_budget=config.fill_budget,
                                  resolutions=config.resolutions)
    return BenchmarkOracle(config.space, config.metric, data_dir=data_dir, limit=config.limit)


def pool_facts(oracle: Oracle) -> dict[str, Any]:
    """Metric names, pool size, the pool's best label and best test label (``None`` where
    there is none; all four for an oracle without a pool)."""
    if not isinstance(oracle, BenchmarkOracle):
        return {"metric": oracle.metric, "test_metric": None, "pool_size": None, "pool_best": None,
                "test_best": None}
    return {"metric": oracle.metric, "test_metric": oracle.test_metric, "pool_size": oracle.pool_size,
            "pool_best": float(oracle.labels.max()),
            "test_best": None if oracle.test_labels is None else float(oracle.test_labels.max())}


def best_query(queries: list[Query]) -> Query:
    """The query with the best label (the earliest among equals)."""
    return max(queries, key=lambda q: (q.label, -q.query))


def run_search(config: SearchConfig, out_dir: PathLike | None = None, cache_root: PathLike | None = None,
               data_dir: PathLike | None = None, progress: bool = True,
               log: Callable[[str], None] = lambda msg: None) -> dict[str, Any]:
    """Run (or continue) one search per seed; returns the ``search`` JSON of DESIGN.md
    section 5 plus :func:`pool_facts` and each run's best query."""
    config.validate()
    base = search_oracle(config, data_dir)
    settings = config.settings()
    pool = pool_facts(base)
    shared: dict[str, Any] = {}  # source predictor, prior and pool CGs, loaded when a run first needs them

    def scorer_for(seed: int) -> Scorer | None:
        if config.method in ("random", "evolution"):
            return None
        scorers: list[Scorer] = []
        if config.predictor_method:
            if "source" not in shared:
                shared["source"] = source_predictor(config, cache_root, data_dir, progress, log)
            scorers.append(PredictorScorer(shared["source"], graph_lookup(), seed=seed, finetune=config.finetune))
        if "ridge" in config.fitness:
            scorers.append(RidgeScorer(graph_lookup()))
        if "ridge-measured" in config.fitness:
            if "prior" not in shared:
                shared["prior"] = measured_prior(config, cache_root, data_dir, progress)
            scorers.append(RidgeScorer(graph_lookup(), prior=shared["prior"]))
        if "synflow" in config.fitness:
            scorers.append(SynflowScorer(config.space, seed=0, cache_root=cache_root, data_dir=data_dir))
        return scorers[0] if len(scorers) == 1 else BlendScorer(*scorers)

    def graph_lookup() -> GraphLookup:
        if "graphs" not in shared:
            if base.pool_size is None:  # CGs built as candidates come
                shared["graphs"] = GraphLookup(base)
            else:
                graphs, _ = labeled_graphs(config.space, None, cache_root, data_dir, progress, config.limit)
                shared["graphs"] = GraphLookup(base, graphs)
        return shared["graphs"]

    runs = []
    for seed in config.seeds:
        oracle = base.fresh()
        path = log_path(out_dir, config.space, config.method, seed) if out_dir is not None else None
        logged = read_log(path, settings) if path is not None else None
        if logged:
            oracle.replay([q["arch"] for q in logged["queries"][:config.queries]])
        scorer = scorer_for(seed) if oracle.num_queries < config.queries else None
        seconds = logged["seconds"] if logged else 0.0
        start = time.perf_counter()

        def on_generation(o: Oracle, seed: int = seed, path: Path | None = path, seconds: float = seconds,
                          start: float = start) -> None:
            best = best_query(o.history)
            elapsed = seconds + time.perf_counter() - start
            if path is not None:
                atomic_write_text(path, json.dumps({
                    "version": LOG_VERSION, "settings": settings, "seed": seed, **pool,
                    "seconds": round(elapsed, 1), "queries": [q.to_dict() for q in o.history]}, indent=1))
            details = [] if best.rank is None else [f"rank {best.rank}"]
            if best.test is not None:
                details.append(f"test {best.test:.4g}")
            if isinstance(base, OFAPredictorOracle):
                details.append(f"{base.macs(base.space.parse(best.arch)) / 1e6:.1f}M MACs")
            log(f"{config.space} {config.method} seed {seed}: {o.num_queries}/{config.queries} queries, "
                f"best {base.metric} {best.label:.4g} ({', '.join(details)}) [{elapsed:.0f} s]")

        if oracle.num_queries < config.queries:
            if config.method == "random":
                random_search(oracle, config.queries, seed, config.evolution.per_generation,
                              on_generation=on_generation)
            else:
                evolve(oracle, scorer, config.queries, seed, config.search_evolution(), on_generation=on_generation)
        history = oracle.history[:config.queries]
        best = best_query(history).to_dict()
        if isinstance(base, OFAPredictorOracle):
            best["macs"] = base.macs(base.space.parse(best["arch"]))
        runs.append({"seed": seed, "queries": [q.to_dict() for q in history], "best": best})
    budget = {} if config.max_macs is None else {"max_macs": config.max_macs}
    return {"space": config.space, "method": config.method, **pool, **budget, "runs": runs}
