"""``cgnas search``: seeded search runs with a resumable JSON log per run.

Methods (DESIGN.md section 4, experiment 2):

* ``cl``: evolution guided by the transferred predictor (contrastive pre-training on the
  pool's unlabeled CGs, head trained on the other two NAS-Bench families, as the transfer
  experiment builds it for k=0), fine-tuned on every query each generation;
* ``gnn``: the same without contrastive pre-training;
* ``synflow``: evolution with the synflow proxy as the fitness, queried the same way;
* ``random``: uniform random search in the pool.

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
from cgnas.experiments.transfer import FAMILIES, TransferConfig, source_graphs, target_spectra, transferred_predictor
from cgnas.model.predictor import Predictor
from cgnas.search.evolution import EvolutionConfig, evolve, random_search
from cgnas.search.oracle import BenchmarkOracle, Oracle, Query
from cgnas.search.scorers import SEARCH_FINETUNE, GraphLookup, PredictorScorer, Scorer, SynflowScorer
from cgnas.train.supervised import TrainConfig
from cgnas.utils import atomic_write_text

METHODS = ("cl", "gnn", "random", "synflow")
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
    """Search only the first N rows of the table (quick runs and tests)."""

    def validate(self) -> None:
        if self.method not in METHODS:
            raise CgnasError(f"unknown search method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.queries < 1 or not self.seeds:
            raise CgnasError("--queries and --seeds must be at least 1")
        if self.method in ("cl", "gnn") and self.predictor is None and self.space not in FAMILIES:
            raise CgnasError(f"no transferred predictor can be built for {self.space} (the sources are the "
                             f"other NAS-Bench families of {', '.join(FAMILIES)}); pass --predictor")
        self.evolution.validate()

    def build_config(self) -> TransferConfig:
        return replace(self.build or TransferConfig(target=self.space), target=self.space,
                       table_limit=self.limit)

    def settings(self) -> dict[str, Any]:
        """What a run's result depends on besides its seed and budget (checked on resume)."""
        out: dict[str, Any] = {"space": self.space, "method": self.method, "metric": self.metric,
                               "limit": self.limit}
        out["evolution"] = (self.evolution.to_dict() if self.method != "random"
                            else {"per_generation": self.evolution.per_generation})
        if self.method in ("cl", "gnn"):
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
        digest = hashlib.sha1(json.dumps([self.method, self.build_seed, spec], sort_keys=True).encode()).hexdigest()
        return f"{self.space}_{self.method}_seed{self.build_seed}_{digest[:12]}"


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
    build, space = config.build_config(), config.space
    log(f"building the {config.method} source predictor for {space} (once; kept as {path})")
    start = time.perf_counter()
    graphs, _ = labeled_graphs(space, None, cache_root, data_dir, progress, config.limit)
    spectra = target_spectra(graphs, build, cache_root, data_dir, progress) if config.method == "cl" else None
    sources = source_graphs([f for f in FAMILIES if f != space], build.source_per_family, config.build_seed,
                            cache_root, data_dir, progress, config.limit)
    pred = transferred_predictor(config.method, graphs, spectra, sources, build, config.build_seed, progress)
    pred.save(path)
    log(f"built in {time.perf_counter() - start:.0f} s")
    return pred


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


def pool_facts(oracle: BenchmarkOracle) -> dict[str, Any]:
    """Metric names, pool size, the pool's best label and best test label (``None`` if none)."""
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
    base = BenchmarkOracle(config.space, config.metric, data_dir=data_dir, limit=config.limit)
    settings = config.settings()
    pool = pool_facts(base)
    shared: dict[str, Any] = {}  # source predictor and pool CGs, loaded when a run first needs them

    def scorer_for(seed: int) -> Scorer | None:
        if config.method == "random":
            return None
        if config.method == "synflow":
            return SynflowScorer(config.space, seed=0, cache_root=cache_root, data_dir=data_dir)
        if not shared:
            shared["source"] = source_predictor(config, cache_root, data_dir, progress, log)
            graphs, _ = labeled_graphs(config.space, None, cache_root, data_dir, progress, config.limit)
            shared["graphs"] = GraphLookup(base, graphs)
        return PredictorScorer(shared["source"], shared["graphs"], seed=seed, finetune=config.finetune)

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
            test = "" if best.test is None else f", test {best.test:.4g}"
            log(f"{config.space} {config.method} seed {seed}: {o.num_queries}/{config.queries} queries, "
                f"best {base.metric} {best.label:.4g} (rank {best.rank}{test}) [{elapsed:.0f} s]")

        if oracle.num_queries < config.queries:
            if config.method == "random":
                random_search(oracle, config.queries, seed, config.evolution.per_generation,
                              on_generation=on_generation)
            else:
                evolve(oracle, scorer, config.queries, seed, config.evolution, on_generation=on_generation)
        history = oracle.history[:config.queries]
        runs.append({"seed": seed, "queries": [q.to_dict() for q in history],
                     "best": best_query(history).to_dict()})
    return {"space": config.space, "method": config.method, **pool, "runs": runs}
