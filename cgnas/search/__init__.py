"""Search with few true evaluations (DESIGN.md section 4, experiment 2).

    oracle = BenchmarkOracle("nb201")                       # counted queries, pool = table rows
    history = evolve(oracle, scorer, budget=100, seed=0)    # scorer-guided evolution
    history = random_search(oracle.fresh(), budget=100)     # the uniform baseline
    oracle = OFAPredictorOracle(max_macs=600)               # ofa_mbv3: OFA's predictor, a MACs budget
    scorer = BlendScorer(predictor_scorer, SynflowScorer("nb201"))   # mean normalized rank of two fitnesses
    result = run_search(SearchConfig("nb201", "cl", queries=100, seeds=(0,)), out_dir="runs")

Modules: :mod:`~cgnas.search.oracle` (oracles, queries), :mod:`~cgnas.search.mutation`
(mutation inside a pool), :mod:`~cgnas.search.scorers` (predictor, synflow and blended fitness),
:mod:`~cgnas.search.evolution` (the search loop), :mod:`~cgnas.search.runner` (seeds, logs,
source predictors).
"""

from cgnas.search.evolution import EvolutionConfig, evolve, random_search
from cgnas.search.mutation import PoolMutation
from cgnas.search.oracle import (SEARCH_METRICS, BenchmarkOracle, OFAPredictorOracle, Oracle, OutsidePoolError,
                                 OverBudgetError, Query)
from cgnas.search.runner import METHODS, SearchConfig, run_search
from cgnas.search.scorers import BlendScorer, GraphLookup, PredictorScorer, Scorer, SynflowScorer

__all__ = ["BenchmarkOracle", "BlendScorer", "EvolutionConfig", "GraphLookup", "METHODS", "OFAPredictorOracle",
           "Oracle", "OutsidePoolError", "OverBudgetError", "PoolMutation",
           "PredictorScorer", "Query", "SEARCH_METRICS", "Scorer", "SearchConfig", "SynflowScorer", "evolve",
           "random_search", "run_search"]
