"""Search with few true evaluations (DESIGN.md section 4, experiment 2).

    oracle = BenchmarkOracle("nb201")                       # counted queries, pool = table rows
    history = evolve(oracle, scorer, budget=100, seed=0)    # scorer-guided evolution
    history = random_search(oracle.fresh(), budget=100)     # the uniform baseline
    oracle = OFAPredictorOracle(max_macs=600)               # ofa_mbv3: OFA's predictor, a MACs budget
    scorer = BlendScorer(predictor_scorer, SynflowScorer("nb201"))   # mean normalized rank of two fitnesses

Modules: :mod:`~cgnas.search.oracle` (oracles, queries), :mod:`~cgnas.search.mutation`
(mutation inside a pool), :mod:`~cgnas.search.scorers` (predictor, synflow and blended fitness),
:mod:`~cgnas.search.evolution` (the search loop). The search experiment (seeds, logs, source
predictors: ``run_search(SearchConfig("nb201", "cl"), out_dir="runs")``) is
:mod:`cgnas.experiments.search`.
"""

from cgnas.search.evolution import EvolutionConfig, evolve, random_search
from cgnas.search.mutation import PoolMutation
from cgnas.search.oracle import (SEARCH_METRICS, BenchmarkOracle, OFAPredictorOracle, Oracle, OutsidePoolError,
                                 OverBudgetError, Query)
from cgnas.search.scorers import BlendScorer, GraphLookup, PredictorScorer, Scorer, SynflowScorer

__all__ = ["BenchmarkOracle", "BlendScorer", "EvolutionConfig", "GraphLookup", "OFAPredictorOracle",
           "Oracle", "OutsidePoolError", "OverBudgetError", "PoolMutation",
           "PredictorScorer", "Query", "SEARCH_METRICS", "Scorer", "SynflowScorer", "evolve",
           "random_search"]
