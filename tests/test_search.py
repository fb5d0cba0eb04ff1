"""Search: oracles count and refuse, mutation stays in the pool, runs are reproducible and resume.

Everything runs on the first rows of the tables (small pools) with a tiny predictor
(1 epoch of CL and of source training, 2 fine-tuning epochs), so the file takes seconds.
"""

import json
import random
from dataclasses import replace

import numpy as np
import pytest

from cgnas.cli import main
from cgnas.errors import CgnasError
from cgnas.experiments.search import SearchConfig, run_search
from cgnas.experiments.search_plots import load_logs, plot_search, queries_to, summarize
from cgnas.model.predictor import FIT_DEFAULT
from cgnas.protocol import TransferConfig
from cgnas.search import BenchmarkOracle, EvolutionConfig, OutsidePoolError, PoolMutation, evolve, random_search
from cgnas.search.oracle import Query
from cgnas.search.scorers import SEARCH_FINETUNE, BlendScorer, GraphLookup, RidgeScorer
from cgnas.train.pretrain import PretrainConfig

POOL = 200
TINY_BUILD = TransferConfig(target="nb201", source_per_family=60, pretrain=PretrainConfig(epochs=1, batch_size=64),
                            fit=replace(FIT_DEFAULT, epochs=1))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cgcache")


def tiny(method="cl", queries=30, seeds=(0,)):
    return SearchConfig("nb201", method, queries=queries, seeds=seeds, limit=POOL, build=TINY_BUILD,
                        finetune=replace(SEARCH_FINETUNE, epochs=2), evolution=EvolutionConfig(candidates=40))


# ------------------------------------------------------------------ oracle
def test_oracle_counts_each_architecture_once():
    oracle = BenchmarkOracle("nb201", limit=POOL)
    first = oracle.query(oracle.archs[3])
    assert (oracle.num_queries, first.query) == (1, 1)
    again = oracle.query(oracle.space.parse(first.arch))  # the same architecture, parsed anew
    assert again is first and oracle.num_queries == 1
    second = oracle.query(oracle.archs[7])
    assert (oracle.num_queries, second.query) == (2, 2)
    assert first.label == oracle.labels[3] and first.test == oracle.test_labels[3]
    assert first.rank == 1 + int(np.sum(oracle.labels > oracle.labels[3]))
    assert oracle.fresh().num_queries == 0 and oracle.num_queries == 2


def test_oracle_refuses_architectures_outside_its_pool():
    oracle = BenchmarkOracle("nb201", limit=POOL)
    outside = BenchmarkOracle("nb201").archs[POOL + 5]
    assert not oracle.contains(outside)
    with pytest.raises(OutsidePoolError, match="not in the oracle's pool"):
        oracle.query(outside)
    assert oracle.num_queries == 0
    assert isinstance(OutsidePoolError("x"), CgnasError)


def test_nb101_oracle_answers_isomorphic_cells_alike():
    oracle = BenchmarkOracle("nb101", limit=POOL)
    rng = random.Random(0)
    for row, arch in enumerate(oracle.archs):
        n = len(arch.ops)
        perm = [0] + rng.sample(range(1, n - 1), n - 2) + [n - 1]
        matrix = [[arch.matrix[perm.index(i)][perm.index(j)] for j in range(n)] for i in range(n)]
        ops = [arch.ops[perm.index(i)] for i in range(n)]
        if matrix != [list(r) for r in arch.matrix] and all(matrix[i][j] == 0 for i in range(n) for j in range(i + 1)):
            break
    else:
        pytest.fail("no cell with an order-preserving relabeling in the pool")
    twin = oracle.space.parse({"matrix": matrix, "ops": ops})
    assert oracle.query(twin).label == oracle.labels[row]
    assert oracle.query(arch).query == 1 and oracle.num_queries == 1


@pytest.mark.parametrize("space", ["nb101", "nb201", "nb301"])
def test_mutation_stays_inside_the_pool(space):
    oracle = BenchmarkOracle(space, limit=POOL)
    mutate = PoolMutation(oracle)
    rng = random.Random(1)
    parent = oracle.archs[0]
    children = [mutate(parent, rng) for _ in range(30)]
    assert all(oracle.contains(c) for c in children)
    assert all(oracle.space.key(c) != oracle.space.key(parent) for c in children)
    assert len({oracle.space.key(c) for c in children}) > 1


# ------------------------------------------------------------------ search loop
def test_random_search_is_seeded_and_never_repeats():
    oracle = BenchmarkOracle("nb201", limit=POOL)
    a = random_search(oracle.fresh(), 25, seed=3)
    b = random_search(oracle.fresh(), 25, seed=3)
    c = random_search(oracle.fresh(), 25, seed=4)
    assert [q.arch for q in a] == [q.arch for q in b] != [q.arch for q in c]
    assert len({q.arch for q in a}) == 25 and [q.query for q in a] == list(range(1, 26))


@pytest.mark.parametrize("bad", [{"explore": 1.5}, {"candidates": 5, "per_generation": 10}, {"tournament": 0}])
def test_evolution_settings_are_checked(bad):
    with pytest.raises(CgnasError, match="evolution needs"):
        EvolutionConfig(**bad).validate()


def test_evolution_follows_its_scorer():
    """With the true labels as the fitness, evolution beats random search on the same budget."""
    oracle = BenchmarkOracle("nb201", limit=2000)

    class TrueLabels:
        def update(self, queries):
            pass

        def score(self, archs):
            return np.array([oracle.labels[oracle.row(a)] for a in archs])

    guided = evolve(oracle.fresh(), TrueLabels(), 20, seed=0, config=EvolutionConfig(candidates=100))
    blind = random_search(oracle.fresh(), 20, seed=0)
    assert max(q.label for q in guided) > max(q.label for q in blind)
    assert min(q.rank for q in guided) <= 5


def test_search_is_reproducible_and_resumes_exactly(cache, tmp_path):
    kw = {"cache_root": cache, "progress": False}
    a = run_search(tiny(), out_dir=tmp_path / "a", **kw)
    b = run_search(tiny(), out_dir=tmp_path / "b", **kw)
    assert a["runs"] == b["runs"]
    run_search(tiny(queries=20), out_dir=tmp_path / "c", **kw)  # interrupted after 20 queries
    c = run_search(tiny(), out_dir=tmp_path / "c", **kw)       # the same command again continues
    assert c["runs"] == a["runs"]
    with pytest.raises(CgnasError, match="other settings"):
        run_search(replace(tiny(), evolution=EvolutionConfig(candidates=50)), out_dir=tmp_path / "c", **kw)


def test_tiny_cli_search_logs_every_query(cache, tmp_path, capsys):
    out = tmp_path / "runs"
    common = ["--space", "nb201", "--queries", "20", "--seeds", "2", "--limit", str(POOL), "--out", str(out),
              "--cache-dir", str(cache), "--json", "--quiet"]
    assert main(["search", "--method", "random", *common]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["space"], result["method"]) == ("nb201", "random")
    assert [r["seed"] for r in result["runs"]] == [0, 1]
    for run in result["runs"]:
        log = json.loads((out / f"nb201_random_seed{run['seed']}.json").read_text())
        assert log["queries"] == run["queries"]
        assert [q["query"] for q in run["queries"]] == list(range(1, 21))
        assert len({q["arch"] for q in run["queries"]}) == 20
        for q in run["queries"]:
            assert set(q) >= {"arch", "label", "test", "rank"}
            assert 1 <= q["rank"] <= POOL and q["test"] is not None

    runs, pool = load_logs(out, "nb201")
    rows = summarize(runs, pool, 20)
    assert rows[0]["method"] == "random" and rows[0]["seeds"] == 2
    assert plot_search(runs, pool, "nb201", 20, tmp_path / "fig").is_file()
    assert queries_to(runs["random"][0], lambda q: q["rank"] <= POOL) == 1
    assert queries_to(runs["random"][0], lambda q: q["rank"] < 1) == float("inf")


def test_cli_search_errors(capsys, tmp_path):
    code = main(["search", "--space", "ofa_mbv3", "--method", "synflow", "--queries", "5", "--seeds", "1"])
    assert code == 2 and "not a search method for ofa_mbv3" in capsys.readouterr().err
    code = main(["search", "--space", "nb201", "--method", "random", "--queries", "0", "--seeds", "1"])
    assert code == 2 and "at least 1" in capsys.readouterr().err
    code = main(["search", "--space", "nb201", "--method", "cl+nwot", "--queries", "5", "--seeds", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "unknown search method 'cl+nwot'; choose one of cl, gnn" in err


def test_synflow_guided_search_runs(cache, tmp_path):
    config = replace(tiny("synflow", queries=6), evolution=EvolutionConfig(candidates=5, per_generation=3))
    result = run_search(config, out_dir=tmp_path, cache_root=cache, progress=False)
    queries = result["runs"][0]["queries"]
    assert len(queries) == 6 and len({q["arch"] for q in queries}) == 6


def test_blend_scorer_averages_the_ranks_of_its_scorers():
    class Fixed:
        def __init__(self, values):
            self.values, self.seen = np.asarray(values, dtype=float), None

        def update(self, queries):
            self.seen = list(queries)

        def score(self, archs):
            return self.values

    predictor, proxy = Fixed([3.0, 1.0, 2.0]), Fixed([-np.inf, 5.0, 7.0])  # a failed network scores -inf
    blend = BlendScorer(predictor, proxy)
    blend.update(["q1", "q2"])
    assert predictor.seen == proxy.seen == ["q1", "q2"]
    np.testing.assert_allclose(blend.score(["a", "b", "c"]), [(3 + 1) / 6, (1 + 2) / 6, (2 + 3) / 6])
    with pytest.raises(CgnasError, match="at least two"):
        BlendScorer(predictor)


def test_ridge_fits_a_linear_signal_and_falls_back_to_the_mean_on_noise():
    from cgnas.model.ridge import RidgeLOO

    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 5))
    y = x @ np.array([2.0, -1.0, 0.0, 0.5, 0.0]) + rng.normal(0, 0.1, 80)
    x_new = rng.normal(size=(20, 5))
    fitted = RidgeLOO().fit(np.c_[x, np.ones(80)], y)  # a constant column is dropped, not divided by 0
    np.testing.assert_allclose(fitted.predict(np.c_[x_new, np.ones(20)]), x_new @ [2.0, -1.0, 0.0, 0.5, 0.0],
                               atol=0.1)
    noise = RidgeLOO().fit(rng.normal(size=(10, 200)), rng.normal(size=10))
    assert noise.penalty == max(noise.penalties)
    with pytest.raises(CgnasError, match="not fitted"):
        RidgeLOO().predict(x)
    with pytest.raises(CgnasError, match="n >= 3"):
        RidgeLOO().fit(x[:2], y[:2])


def test_ridge_scorer_learns_to_rank_nb201_from_50_queries():
    from scipy.stats import spearmanr

    oracle = BenchmarkOracle("nb201", limit=2000)
    order = np.random.default_rng(0).permutation(2000)
    scorer = RidgeScorer(GraphLookup(oracle))
    scorer.update([Query(1, oracle.space.format(oracle.archs[0]), 90.0, None, None)])
    assert not scorer.score(oracle.archs[:3]).any()  # too few labels: proposal order
    scorer.update([Query(i + 1, oracle.space.format(oracle.archs[j]), float(oracle.labels[j]), None, None)
                   for i, j in enumerate(order[:50])])
    held = order[1000:1500]
    assert spearmanr(scorer.score([oracle.archs[j] for j in held]), oracle.labels[held])[0] > 0.4


def test_ridge_scorer_with_a_prior_fits_the_residuals():
    from cgnas.model.ridge import RidgeLOO

    oracle = BenchmarkOracle("nb201", limit=300)
    graphs = GraphLookup(oracle)
    prior = RidgeLOO().fit(graphs(oracle.archs[200:]).descriptors(), oracle.labels[200:])
    scorer = RidgeScorer(graphs, prior=prior)
    expected = prior.predict(graphs(oracle.archs[:100]).descriptors())
    np.testing.assert_allclose(scorer.score(oracle.archs[:100]), expected)  # no query yet: the prior
    # labels that are the prior plus a constant leave residuals with nothing to learn but the constant
    queries = [Query(i + 1, oracle.space.format(oracle.archs[i]), float(expected[i]) + 5.0, None, None)
               for i in range(50)]
    scorer.update(queries)
    np.testing.assert_allclose(scorer.score(oracle.archs[50:100]), expected[50:] + 5.0, atol=1e-8)


@pytest.mark.parametrize("method", ["cl+synflow", "cl+ridge"])
def test_blend_search_shares_the_source_predictor_and_runs(method, cache, tmp_path):
    config = replace(tiny(method, queries=6), evolution=EvolutionConfig(candidates=5, per_generation=3))
    assert config.predictor_id() == tiny("cl").predictor_id()
    assert config.settings()["finetune"] == tiny("cl").settings()["finetune"]
    result = run_search(config, out_dir=tmp_path, cache_root=cache, progress=False)
    assert (tmp_path / f"nb201_{method}_seed0.json").is_file()
    assert len({q["arch"] for q in result["runs"][0]["queries"]}) == 6
    with pytest.raises(CgnasError, match="not a search method for ofa_mbv3"):
        SearchConfig("ofa_mbv3", "gnn+synflow").validate()
