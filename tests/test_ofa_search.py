"""OFA-MBv3: the predictor oracle and its MACs budget, search, transfer, comparison and export.

Predictors are tiny (16-wide, one epoch of each stage) and the tables cut to their first rows,
so the file takes seconds.
"""

import json
import random
from dataclasses import replace

import numpy as np
import pytest
import torch

import cgnas
from cgnas.cli import main
from cgnas.data.ofa_oracle import OFAAccuracyOracle
from cgnas.errors import CgnasError
from cgnas.experiments.ofa_compare import compare, plot_compare, specialized_points
from cgnas.experiments.search import SearchConfig, run_search
from cgnas.experiments.transfer import run_transfer
from cgnas.model import EncoderConfig, Predictor, PredictorConfig
from cgnas.protocol import OFATransferConfig, TransferConfig, transfer_config
from cgnas.search import EvolutionConfig
from cgnas.search.mutation import PoolMutation
from cgnas.search.oracle import OFAPredictorOracle, OverBudgetError
from cgnas.search.scorers import SEARCH_FINETUNE
from cgnas.spaces.ofa_mbv3 import TUTORIAL_ARCH
from cgnas.train.pretrain import PretrainConfig
from cgnas.train.supervised import TrainConfig

TINY = PredictorConfig(encoder=EncoderConfig(hidden=16, num_layers=2, embed_dim=16), head_hidden=16,
                       projection_dim=16)
TINY_OFA = OFATransferConfig(samples=(10,), seeds=1, table_limit=60, source_per_family=30, pretrain_per_family=20,
                             pretrain_space_samples=20, predictor=TINY, pretrain=PretrainConfig(epochs=1, batch_size=32),
                             fit=TrainConfig(epochs=1, batch_size=32), finetune=TrainConfig(epochs=3, batch_size=10),
                             target_only=TrainConfig(epochs=3, batch_size=10))
SMALL = "ks=" + ",".join(["3"] * 20) + ";e=" + ",".join(["3"] * 20) + ";d=2,2,2,2,2;r=128;w=1.2"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cgcache")


def search(method, budget=300.0, queries=20, seeds=(0,), **kw):
    return SearchConfig("ofa_mbv3", method, queries=queries, seeds=seeds, max_macs=budget, limit=60,
                        build=TINY_OFA, finetune=replace(SEARCH_FINETUNE, epochs=2),
                        evolution=EvolutionConfig(candidates=30), **kw)


# ------------------------------------------------------------------ oracle
def test_oracle_answers_ofa_predictor_in_percent_and_counts_queries():
    oracle = OFAPredictorOracle()
    arch = oracle.space.parse(TUTORIAL_ARCH)
    first = oracle.query(arch)
    assert first.label == pytest.approx(100 * OFAAccuracyOracle().predict([arch])[0]) == pytest.approx(81.71, abs=0.01)
    assert (first.test, first.rank, oracle.pool_size, oracle.num_queries) == (None, None, None, 1)
    assert oracle.query(oracle.space.parse(first.arch)) is first and oracle.num_queries == 1
    oracle.query(oracle.space.parse(SMALL))
    assert oracle.num_queries == 2 and oracle.fresh().num_queries == 0


def test_budget_bounds_sampling_and_queries():
    oracle = OFAPredictorOracle(max_macs=200)
    rng = random.Random(0)
    assert all(oracle.macs(oracle.sample(rng)) <= 200e6 for _ in range(50))
    big = oracle.space.parse(TUTORIAL_ARCH)
    assert oracle.macs(big) == oracle.space.to_cg(big).macs() > 200e6 and not oracle.contains(big)
    with pytest.raises(OverBudgetError, match="over the oracle's budget"):
        oracle.query(big)
    assert oracle.num_queries == 0
    with pytest.raises(OverBudgetError, match="smallest ofa_mbv3 sub-network"):
        OFAPredictorOracle(max_macs=50)


def test_grow_fills_the_budget_one_raised_gene_at_a_time():
    oracle = OFAPredictorOracle(max_macs=400)
    space, rng = oracle.space, random.Random(0)
    small = space.parse(SMALL)
    grown = space.grow(small, rng, oracle.contains)
    assert oracle.macs(small) < oracle.macs(grown) <= 400e6
    assert all(g >= s for g, s in zip(grown.d, small.d)) and grown.r >= small.r
    # every gene is at least what it was, so growth never trades one part for another
    assert all(g >= s for g, s, slot in zip(grown.e, small.e, range(20)) if slot in small.active_slots())
    assert space.grow(small, rng, lambda arch: False) == small
    biggest = space.parse("ks=" + ",".join(["7"] * 20) + ";e=" + ",".join(["6"] * 20) + ";d=4,4,4,4,4;r=224;w=1.2")
    assert space.grow(biggest, rng, lambda arch: True) == biggest  # nothing left to raise


def test_filled_proposals_use_the_budget_and_uniform_ones_do_not():
    rng = random.Random(1)
    uniform = OFAPredictorOracle(max_macs=600, fill_budget=False)
    filled = OFAPredictorOracle(max_macs=600)
    mean_uniform = np.mean([uniform.macs(uniform.sample(rng)) for _ in range(30)]) / 1e6
    filled_macs = [filled.macs(filled.sample(rng)) / 1e6 for _ in range(30)]
    assert mean_uniform < 400 and min(filled_macs) > 500 and max(filled_macs) <= 600
    parent = filled.sample(rng)
    mutate = PoolMutation(filled)
    children = [mutate(parent, rng) for _ in range(20)]
    assert np.mean([filled.macs(c) / 1e6 for c in children if filled.contains(c)]) > 500
    assert not OFAPredictorOracle().fill_budget  # nothing to fill without a budget


def test_fill_budget_is_a_logged_setting(tmp_path):
    run_search(search("random", budget=250, queries=10, fill_budget=False), out_dir=tmp_path, progress=False)
    with pytest.raises(CgnasError, match="written with other settings"):
        run_search(search("random", budget=250, queries=10), out_dir=tmp_path, progress=False)
    assert main(["search", "--space", "ofa_mbv3", "--method", "random", "--max-macs", "250", "--queries", "10",
                 "--seeds", "1", "--limit", "60", "--no-fill-budget", "--out", str(tmp_path), "--quiet"]) == 0


def test_search_resolutions_restrict_every_proposal(tmp_path):
    ofa_search = (160, 176, 192, 208, 224)
    config = search("evolution", budget=400, queries=30, resolutions=ofa_search)
    result = run_search(config, out_dir=tmp_path, progress=False)
    space = cgnas.space("ofa_mbv3")
    assert {space.parse(q["arch"]).r for q in result["runs"][0]["queries"]} <= set(ofa_search)
    log = json.loads((tmp_path / "ofa_mbv3_evolution_seed0.json").read_text())
    assert log["settings"]["resolutions"] == list(ofa_search)
    assert "resolutions" not in search("evolution").settings()  # logs of the default stay valid
    with pytest.raises(CgnasError, match="apply to ofa_mbv3"):
        SearchConfig("nb201", "random", resolutions=(224,)).validate()


# ------------------------------------------------------------------ search
@pytest.mark.parametrize("method", ["random", "evolution", "ridge"])
def test_search_stays_within_budget_and_is_seeded(method, tmp_path):
    a = run_search(search(method, budget=250, queries=30, seeds=(0, 1)), out_dir=tmp_path, progress=False)
    b = run_search(search(method, budget=250, queries=30, seeds=(0, 1)), progress=False)
    assert a["runs"] == b["runs"] and a["runs"][0]["queries"] != a["runs"][1]["queries"]
    space = cgnas.space("ofa_mbv3")
    for run in a["runs"]:
        assert len({q["arch"] for q in run["queries"]}) == 30
        assert all(space.to_cg(space.parse(q["arch"])).macs() <= 250e6 for q in run["queries"])
        assert all(q["rank"] is None and q["test"] is None for q in run["queries"])
        assert run["best"]["macs"] <= 250e6
    assert (a["pool_size"], a["max_macs"], a["metric"]) == (None, 250, "ofa_predicted_top1")
    log = json.loads((tmp_path / f"ofa_mbv3_{method}_seed0.json").read_text())
    assert log["settings"]["max_macs"] == 250 and log["queries"] == a["runs"][0]["queries"]


def test_predictor_guided_search_builds_the_ofa_transfer_predictor(cache, tmp_path):
    config = search("cl", budget=300, queries=20)
    result = run_search(config, out_dir=tmp_path, cache_root=cache, progress=False)
    space = cgnas.space("ofa_mbv3")
    queries = result["runs"][0]["queries"]
    assert len(queries) == 20 and all(space.to_cg(space.parse(q["arch"])).macs() <= 300e6 for q in queries)
    assert (cache / "predictors" / f"{config.predictor_id()}.pt").is_file()
    # the OFA pre-training set is part of the predictor's identity; the NAS-Bench ids are not changed by it
    assert config.predictor_id() != replace(config, build=replace(TINY_OFA, pretrain_space_samples=10)).predictor_id()
    assert SearchConfig("nb201", "cl").predictor_id() == "nb201_cl_seed0_f94ea90a72c1"
    again = run_search(config, out_dir=tmp_path, cache_root=cache, progress=False)  # resumed from the log
    assert again["runs"] == result["runs"]


def test_measured_prior_ranks_the_first_generation(cache, tmp_path):
    """The first generation's candidates are the same uniform proposals for both methods; the
    plain ridge has no label yet and queries them in proposal order, the prior (a ridge on the
    364 measured subnets) queries the ten it ranks best."""
    config = replace(search("ridge-measured", budget=480, queries=10), evolution=EvolutionConfig(), limit=None)
    prior = run_search(config, out_dir=tmp_path, cache_root=cache, progress=False)
    plain = run_search(replace(config, method="ridge"), cache_root=cache, progress=False)
    labels = {name: [q["label"] for q in r["runs"][0]["queries"]] for name, r in (("prior", prior), ("plain", plain))}
    assert np.mean(labels["prior"]) > np.mean(labels["plain"]) + 0.3
    assert json.loads((tmp_path / "ofa_mbv3_ridge-measured_seed0.json").read_text())["queries"] == \
        prior["runs"][0]["queries"]
    with pytest.raises(CgnasError, match="ofa_mbv3 only"):
        SearchConfig("nb201", "ridge-measured").validate()


@pytest.mark.parametrize("argv,needle", [
    (["--method", "random", "--max-macs", "40"], "below the smallest ofa_mbv3 sub-network"),
    (["--method", "synflow", "--max-macs", "400"], "not a search method for ofa_mbv3"),
    (["--method", "random", "--metric", "top1"], "leave out --metric"),
    (["--method", "random", "--max-macs", "400", "--space", "nb201"], "--max-macs and --resolutions apply to ofa_mbv3"),
])
def test_search_errors_are_one_clear_line(capsys, argv, needle):
    argv = ["search", "--space", "ofa_mbv3", "--queries", "5", "--seeds", "1", *argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err and err.count("\n") == 1


# ------------------------------------------------------------------ transfer
def test_tiny_ofa_transfer_gives_finite_rank_correlations(cache):
    result = run_transfer(TINY_OFA, cache_root=cache, progress=False)
    rows = {(r["method"], r["samples"]): r for r in result["rows"]}
    assert (result["target"], result["metric"], result["eval_size"]) == ("ofa_mbv3", "top1", 50)
    assert set(rows) == {(m, 10) for m in ("cl", "gnn", "target_only", "ridge", "params", "flops")}
    assert all(np.isfinite(r["spearman_mean"]) and np.isfinite(r["kendall_mean"]) for r in rows.values())
    assert rows[("flops", 10)]["spearman_mean"] > 0.5  # MACs rank the measured subnets well
    assert result["config"]["pretrain_space_samples"] == 20


def test_transfer_config_per_target():
    assert type(transfer_config("ofa_mbv3")) is OFATransferConfig and type(transfer_config("nb201")) is TransferConfig
    with pytest.raises(CgnasError, match="transfer_config"):
        TransferConfig(target="ofa_mbv3").validate()
    assert main(["transfer", "--target", "nb201", "--pretrain-space-samples", "10"]) == 2


# ------------------------------------------------------------------ comparison with OFA's nets
def test_specialized_nets_through_the_same_oracle():
    points = specialized_points()
    assert len(points) == 34
    assert sorted(round(p["macs_m"]) for p in points if p["hardware"] == "flops") == [389, 482, 595]
    assert all(p["clipped"] == (p["r"] >= 240) for p in points) and any(p["clipped"] for p in points)
    assert all(60 < p["oracle"] < 90 for p in points)


def test_compare_table_and_plot(tmp_path):
    for method in ("random", "evolution"):
        run_search(search(method, budget=390, queries=10, seeds=(0, 1)), out_dir=tmp_path / "b390", progress=False)
    result = compare([tmp_path / "b390"], queries=10)
    (budget,) = result["budgets"]
    assert budget["published"]["name"].startswith("flops-389M")
    assert {m["method"] for m in budget["methods"]} == {"random", "evolution"}
    for m in budget["methods"]:
        assert m["seeds"] == 2 and m["beats_published"] == (m["best_median"] > budget["published"]["oracle"])
        assert all(r["macs_m"] <= 390 for r in m["runs"])
    assert "not a measurement" in result["note"]
    assert plot_compare(result, tmp_path / "fig").is_file()
    run_search(search("random", budget=480, queries=10, seeds=(5,)), out_dir=tmp_path / "b390", progress=False)
    with pytest.raises(CgnasError, match="mix MACs budgets"):
        compare([tmp_path / "b390"], queries=10)


# ------------------------------------------------------------------ export and predict
def test_exported_onnx_reimports_to_the_same_cg_and_exported_torch_runs(capsys, tmp_path):
    space = cgnas.space("ofa_mbv3")
    cg = space.to_cg(space.parse(SMALL))
    for suffix in ("onnx", "pt2"):
        assert main(["cg", "--space", "ofa_mbv3", "--arch", SMALL, "--out", str(tmp_path / f"net.{suffix}")]) == 0
    capsys.readouterr()
    assert cgnas.from_onnx(tmp_path / "net.onnx").same_as(cg)
    net = torch.export.load(tmp_path / "net.pt2").module()
    assert net(torch.randn(1, 3, 128, 128)).shape == (1, 1000) and net(torch.randn(3, 3, 128, 128)).shape == (3, 1000)
    assert sum(p.numel() for p in net.parameters()) == cg.num_params()


def test_predict_an_ofa_subnet(capsys, tmp_path, cache):
    Predictor(TINY).save(tmp_path / "p.pt")
    argv = ["predict", "--predictor", str(tmp_path / "p.pt"), "--space", "ofa_mbv3", "--arch", SMALL,
            "--target", "ofa_mbv3", "--cache-dir", str(cache), "--json", "--quiet"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert np.isfinite(out["prediction"]) and out["n"] == 364 and 0 <= out["percentile"] <= 100
