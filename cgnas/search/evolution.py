"""Scorer-guided evolutionary search (and random search, its degenerate case).

One generation::

    population = the last `population` architectures queried        (aging, as in regularized evolution)
    candidates = `candidates` distinct, unqueried architectures the oracle can answer (inside its
                 pool or MACs budget; others are redrawn); each, with probability 1 - `explore`:
                 parent = best of `tournament` random members of the population
                 child  = mutate(parent)                             (inside the oracle's pool)
                 else (and while the population is empty) a uniform sample of the oracle
    scorer.update(every query so far); rank the candidates by scorer.score
    query the best `per_generation` of them

until the query budget is spent. A predictor scorer therefore sees many candidates but only
the few it ranks best cost a query. Without a scorer the candidates are queried in the order
they were proposed; with ``population=0`` every proposal is a fresh uniform sample, which is
plain random search (:func:`random_search`).

Determinism and resuming: each generation draws from a ``random.Random`` seeded by the search
seed and the number of queries made before it, and the scorer is a function of the queries
alone, so a search whose logged queries are replayed into the oracle continues exactly as the
uninterrupted run would have.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import numpy as np

from cgnas.errors import CgnasError
from cgnas.search.mutation import PoolMutation
from cgnas.search.oracle import Oracle, Query
from cgnas.search.scorers import Scorer

PROPOSAL_TRIES = 5
"""Proposals drawn per wanted candidate before a generation makes do with fewer (duplicates,
already-queried architectures and constraint failures are redrawn)."""


@dataclass(frozen=True)
class EvolutionConfig:
    population: int = 20
    """Size of the aging population (the most recent queries); 0 = random search."""
    tournament: int = 5
    """Population members compared to pick a parent (the best of them by true label)."""
    candidates: int = 200
    """Candidates the scorer ranks per generation."""
    explore: float = 0.25
    """Fraction of the candidates drawn uniformly from the oracle instead of mutated: far-away
    architectures the scorer may rank above the neighbourhood of the population, which keeps
    the search from settling on a local optimum."""
    per_generation: int = 10
    """Children queried per generation (the best-ranked)."""

    def validate(self) -> None:
        if self.population < 0 or self.tournament < 1 or self.per_generation < 1 \
                or self.candidates < self.per_generation or not 0 <= self.explore <= 1:
            raise CgnasError("evolution needs population >= 0, tournament >= 1, per_generation >= 1, "
                             f"candidates >= per_generation and 0 <= explore <= 1; got {self}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def generation_rng(seed: int, queries_so_far: int) -> random.Random:
    """The random stream of the generation that starts after ``queries_so_far`` queries."""
    return random.Random(f"cgnas-search:{seed}:{queries_so_far}")


def tournament(labels: Sequence[float], size: int, rng: random.Random) -> int:
    """Index of the best label among ``size`` distinct random members of the population."""
    return max(rng.sample(range(len(labels)), min(size, len(labels))), key=lambda i: labels[i])


def propose(oracle: Oracle, population: Sequence[Query], mutate: PoolMutation, config: EvolutionConfig,
            rng: random.Random, constraint: Callable[[Any], bool] | None = None) -> list[Any]:
    """Up to ``config.candidates`` distinct, unqueried candidates that the oracle can answer
    (inside its pool or MACs budget; others are redrawn) and that satisfy ``constraint``."""
    space = oracle.space
    parents = [space.parse(q.arch) for q in population]
    labels = [q.label for q in population]
    found: dict[str, Any] = {}
    for _ in range(PROPOSAL_TRIES * config.candidates):
        if len(found) == config.candidates:
            break
        if parents and rng.random() >= config.explore:
            child = mutate(parents[tournament(labels, config.tournament, rng)], rng)
        else:
            child = oracle.sample(rng)
        key = space.key(child)
        if key not in found and not oracle.queried(child) and oracle.contains(child) \
                and (constraint is None or constraint(child)):
            found[key] = child
    return list(found.values())


def evolve(oracle: Oracle, scorer: Scorer | None, budget: int, seed: int = 0,
           config: EvolutionConfig = EvolutionConfig(), constraint: Callable[[Any], bool] | None = None,
           on_generation: Callable[[Oracle], None] | None = None) -> list[Query]:
    """Search until ``oracle`` has answered ``budget`` queries; returns its history.

    Args:
        oracle: answers (and counts) queries; queries it already holds (a replayed log) are
            the start of the search.
        scorer: ranks the candidates; ``None`` queries them in proposal order.
        budget: total number of queries.
        seed: seeds every random choice of the search.
        config: population, tournament, candidates, queries per generation.
        constraint: only architectures for which it returns true are proposed (e.g. a MACs
            budget).
        on_generation: called after each generation (logging, progress).
    """
    config.validate()
    mutate = PoolMutation(oracle)
    while oracle.num_queries < budget:
        rng = generation_rng(seed, oracle.num_queries)
        population = oracle.history[-config.population:] if config.population else []
        candidates = propose(oracle, population, mutate, config, rng, constraint)
        if not candidates:
            break  # nothing left to query (a small pool, or a constraint nothing satisfies)
        if scorer is not None:
            scorer.update(oracle.history)
            order = np.argsort(-scorer.score(candidates), kind="stable")
        else:
            order = np.arange(len(candidates))
        for i in order[:min(config.per_generation, budget - oracle.num_queries)]:
            oracle.query(candidates[i])
        if on_generation is not None:
            on_generation(oracle)
    return oracle.history


def random_search(oracle: Oracle, budget: int, seed: int = 0, batch: int = 10,
                  constraint: Callable[[Any], bool] | None = None,
                  on_generation: Callable[[Oracle], None] | None = None) -> list[Query]:
    """Uniform random search (without repeats): :func:`evolve` with no population and no
    scorer, ``batch`` queries per generation."""
    config = EvolutionConfig(population=0, candidates=batch, per_generation=batch, explore=1.0)
    return evolve(oracle, None, budget, seed, config, constraint, on_generation)
