"""Predictor: pre-training with resume, fit/finetune/predict, checkpoints, a small transfer run."""

import json
from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import spearmanr

import cgnas
from cgnas.data.cache import labeled_graphs
from cgnas.data.graphset import GraphSet
from cgnas.errors import CgnasError
from cgnas.experiments.transfer import run_transfer
from cgnas.model import EncoderConfig, Predictor, PredictorConfig
from cgnas.model.ridge import RidgeLOO
from cgnas.protocol import TransferConfig
from cgnas.train.pretrain import PretrainConfig
from cgnas.train.supervised import TrainConfig
from cgnas.zcp.runner import score_archs

TINY = PredictorConfig(encoder=EncoderConfig(hidden=16, num_layers=2, embed_dim=16), head_hidden=16,
                       projection_dim=8)


@pytest.fixture(scope="module")
def nb201_sample():
    bench = cgnas.benchmark("nb201", metric="cifar10_test")
    space = cgnas.space("nb201")
    idx = np.random.default_rng(0).permutation(len(bench))[:160]
    graphs = GraphSet.from_cgs([space.to_cg(bench.arch(i)) for i in idx], "nb201")
    return graphs, bench.labels[idx]


def test_pretrain_resume_equals_uninterrupted_run(nb201_sample, tmp_path, monkeypatch):
    graphs, _ = nb201_sample
    config = PretrainConfig(epochs=2, batch_size=32)
    full = Predictor(TINY, seed=3).pretrain(graphs, config=config, progress=False)

    ckpt = tmp_path / "enc.pt"
    interrupted = Predictor(TINY, seed=3)
    original_save = Predictor.save

    def save_then_stop(self, path):
        original_save(self, path)
        raise KeyboardInterrupt  # simulate Ctrl-C right after the first epoch's checkpoint

    monkeypatch.setattr(Predictor, "save", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        interrupted.pretrain(graphs, config=config, checkpoint=ckpt, progress=False)
    monkeypatch.setattr(Predictor, "save", original_save)

    resumed = Predictor.load(ckpt)
    assert resumed.pretrain_progress["epoch"] == 0 and len(resumed.pretrain_progress["losses"]) == 1
    resumed.pretrain(graphs, config=config, checkpoint=ckpt, progress=False)
    for a, b in zip(full.net.state_dict().values(), resumed.net.state_dict().values()):
        assert np.allclose(a.numpy(), b.numpy(), atol=1e-5)


def test_fit_finetune_predict_save_load(nb201_sample, tmp_path):
    graphs, labels = nb201_sample
    train, test = np.arange(120), np.arange(120, 160)
    pred = Predictor(TINY, seed=0).finetune(graphs.subset(train), labels[train],
                                            TrainConfig(epochs=40, batch_size=16), progress=False)
    out = pred.predict(graphs.subset(test))
    assert out.shape == (40,)
    assert spearmanr(out, labels[test]).statistic > 0.3
    assert 0 < out.mean() < 100  # in label units (accuracy percent) after finetune
    path = pred.save(tmp_path / "p.pt")
    again = Predictor.load(path)
    assert np.allclose(again.predict(graphs.subset(test)), out)
    assert again.stage == "finetune"

    # predict takes CompGraphs too
    space = cgnas.space("nb201")
    cg = space.to_cg(space.sample(__import__("random").Random(0)))
    assert again.predict([cg]).shape == (1,)


def test_checkpoint_errors(nb201_sample, tmp_path):
    path = Predictor(TINY).save(tmp_path / "p.pt")
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    (tmp_path / "bad.pt").write_bytes(bytes(data))
    with pytest.raises(CgnasError, match="checksum"):
        Predictor.load(tmp_path / "bad.pt")
    (tmp_path / "junk.pt").write_bytes(b"hello world")
    with pytest.raises(CgnasError, match="not a cgnas predictor"):
        Predictor.load(tmp_path / "junk.pt")
    with pytest.raises(CgnasError, match="not found"):
        Predictor.load(tmp_path / "missing.pt")
    header, _, payload = bytes(path.read_bytes()).partition(b"\n")
    (tmp_path / "v9.pt").write_bytes(header.replace(b" 1 ", b" 9 ") + b"\n" + payload)
    with pytest.raises(CgnasError, match="format 9"):
        Predictor.load(tmp_path / "v9.pt")


def test_bad_labels_are_clear_errors(nb201_sample):
    graphs, labels = nb201_sample
    bad = labels.copy()
    bad[3] = np.nan
    with pytest.raises(CgnasError, match="NaN"):
        Predictor(TINY).fit(graphs, bad, progress=False)
    with pytest.raises(CgnasError, match="one label per graph"):
        Predictor(TINY).fit(graphs, labels[:5], progress=False)


def test_small_transfer_run_ranks_positively(tmp_path):
    config = TransferConfig(
        target="nb201", samples=(0, 20), seeds=1, table_limit=500, source_per_family=200,
        methods=("cl", "gnn", "target_only", "ridge", "params"), predictor=TINY,
        pretrain=PretrainConfig(epochs=1, batch_size=64),
        fit=TrainConfig(epochs=3, batch_size=32),
        finetune=TrainConfig(epochs=20, batch_size=10, lr=5e-4, encoder_lr_scale=0.2),
        target_only=TrainConfig(epochs=20, batch_size=10))
    result = run_transfer(config, cache_root=tmp_path, progress=False)
    rows = {(r["method"], r["samples"]): r for r in result["rows"]}
    assert result["eval_size"] == 480
    assert set(rows) == {("cl", 0), ("cl", 20), ("gnn", 0), ("gnn", 20), ("target_only", 20), ("ridge", 20),
                         ("params", 0), ("params", 20)}
    assert rows[("cl", 20)]["spearman_mean"] > 0
    assert rows[("params", 0)]["spearman_mean"] > 0.3  # params rank NB201 well
    # ridge: fitted on the descriptors of the 20 labeled cells, scored on the other 480
    graphs, labels = labeled_graphs("nb201", "cifar10_test", tmp_path, limit=500, progress=False)
    order = np.random.default_rng([0, 12345]).permutation(500)
    descriptors = graphs.descriptors()
    ridge = RidgeLOO().fit(descriptors[order[:20]], labels[order[:20]])
    expected = spearmanr(ridge.predict(descriptors[order[20:]]), labels[order[20:]]).statistic
    assert rows[("ridge", 20)]["spearman_mean"] == pytest.approx(expected, abs=1e-4)
    assert expected > 0.3


def test_transfer_resumes_after_the_last_finished_seed(tmp_path):
    config = TransferConfig(target="nb201", samples=(0, 10), seeds=2, table_limit=300, source_per_family=100,
                            methods=("gnn", "params"), predictor=TINY, fit=TrainConfig(epochs=1, batch_size=32),
                            finetune=TrainConfig(epochs=5, batch_size=10))
    out = tmp_path / "transfer.json"
    full = run_transfer(config, cache_root=tmp_path, progress=False, out=out)
    assert json.loads(out.read_text())["runs"] == full["runs"]

    # An interrupt after seed 0: only seed 0 is on disk (marked, to see that it is not recomputed).
    partial = json.loads(out.read_text())
    partial["runs"] = [dict(r, kendall=-1.0) for r in full["runs"] if r["seed"] == 0]
    out.write_text(json.dumps(partial))
    resumed = run_transfer(config, cache_root=tmp_path, progress=False, out=out)
    assert [r for r in resumed["runs"] if r["seed"] == 0] == partial["runs"]
    assert [r for r in resumed["runs"] if r["seed"] == 1] == [r for r in full["runs"] if r["seed"] == 1]

    # Other settings start over instead of mixing two experiments in one table.
    other = run_transfer(replace(config, seeds=1, samples=(0, 20)), cache_root=tmp_path, progress=False, out=out)
    assert {r["samples"] for r in other["runs"]} == {0, 20}


def test_transfer_scores_proxies_on_the_evaluated_architectures(tmp_path):
    config = TransferConfig(target="nb201", samples=(0, 5), seeds=1, table_limit=30,
                            methods=("params", "gnn", "target_only"), proxies=("synflow", "params"),
                            source_per_family=60, predictor=TINY, fit=TrainConfig(epochs=1, batch_size=32),
                            finetune=TrainConfig(epochs=2, batch_size=5),
                            target_only=TrainConfig(epochs=2, batch_size=5))
    result = run_transfer(config, cache_root=tmp_path, progress=False)
    bench = cgnas.benchmark("nb201", metric="cifar10_test")
    evaluated = np.random.default_rng([0, 12345]).permutation(30)[5:]
    synflow = score_archs("nb201", [bench.spec(i) for i in evaluated], ["synflow"], cache_root=tmp_path)["synflow"]
    expected = spearmanr(synflow, bench.labels[evaluated]).statistic
    rows = {(r["method"], r["samples"]): r["spearman_mean"] for r in result["rows"]}
    assert rows[("synflow", 0)] == rows[("synflow", 5)] == pytest.approx(expected, abs=1e-4)
    # each transferred method is also scored blended with each proxy, where the proxy joins
    assert {m for m, _ in rows} == {"params", "gnn", "synflow", "gnn+synflow", "gnn+params", "target_only",
                                    "target_only+synflow", "target_only+params"}
    assert [r["method"] for r in result["runs"] if r["samples"] == 0].count("params") == 1  # a method and a proxy
    blends = {r["samples"]: r for r in result["runs"] if r["method"] == "gnn+synflow"}
    assert blends[0]["proxy_joined"]  # no labels to judge it by
    assert rows[("gnn+synflow", 0)] not in (rows[("gnn", 0)], rows[("synflow", 0)])
    if blends[5]["proxy_joined"]:
        assert rows[("gnn+synflow", 5)] not in (rows[("gnn", 5)], rows[("synflow", 5)])
    else:
        assert rows[("gnn+synflow", 5)] == rows[("gnn", 5)]
    # target_only is blended too, the proxy joining if it ranks the 5 labels at all
    labeled = np.random.default_rng([0, 12345]).permutation(30)[:5]
    synflow_k = score_archs("nb201", [bench.spec(i) for i in labeled], ["synflow"], cache_root=tmp_path)["synflow"]
    joined = [r["proxy_joined"] for r in result["runs"] if r["method"] == "target_only+synflow"]
    assert joined == [bool(spearmanr(synflow_k, bench.labels[labeled]).statistic >= 0)]
    with pytest.raises(CgnasError, match="unknown proxy"):
        run_transfer(replace(config, proxies=("synflo",)), cache_root=tmp_path, progress=False)


def test_rank_blend_averages_normalized_ranks():
    from cgnas.ranking import rank_blend

    predictor = np.array([0.1, 0.9, 0.5, 0.3])  # ranks 1 4 3 2
    proxy = np.array([1e20, 1e18, 1e22, 1e19])   # ranks 3 1 4 2
    np.testing.assert_allclose(rank_blend(predictor, proxy), [0.5, 0.625, 0.875, 0.5])
    np.testing.assert_allclose(rank_blend(predictor), [0.25, 1.0, 0.75, 0.5])


def test_a_proxy_joins_the_blend_only_if_it_ranks_the_labels_as_well_as_the_source():
    from cgnas.ranking import proxy_joins_blend

    labels = np.array([0.1, 0.2, 0.3, 0.4])
    good, fair, bad = np.array([1, 2, 3, 4]), np.array([2, 1, 3, 4]), np.array([4, 3, 2, 1])
    assert proxy_joins_blend(source_scores=fair, proxy_scores=good, labels=labels)
    assert proxy_joins_blend(source_scores=fair, proxy_scores=fair, labels=labels)
    assert not proxy_joins_blend(source_scores=fair, proxy_scores=bad, labels=labels)
    assert proxy_joins_blend(source_scores=np.empty(0), proxy_scores=bad[:1], labels=labels[:1])


@pytest.mark.parametrize("kind", ["zscore", "rank"])
def test_denormalize_inverts_normalize_and_keeps_order(kind):
    from cgnas.train.supervised import denormalize, normalize

    y = np.array([93.1, 10.0, 91.5, 91.5, 88.0, 94.2])
    z, stats = normalize(y, kind)
    assert np.allclose(denormalize(z, stats), y)
    scores = np.linspace(-5, 5, 101)
    back = denormalize(scores, stats)
    assert np.all(np.diff(back) > 0)  # strictly monotone, also past the fine-tuning labels


def test_size_features_carry_each_networks_params_and_macs(nb201_sample):
    graphs, _ = nb201_sample
    batch = graphs.batch([0, 5, 7])
    expected = np.log2(1 + np.stack([graphs.params[[0, 5, 7]], graphs.macs[[0, 5, 7]]], axis=1)) / 32
    np.testing.assert_allclose(batch.size.numpy(), expected, rtol=1e-6)
    encoder = Predictor(TINY).net.encoder.eval()
    bigger = graphs.batch([0, 5, 7])
    bigger.size = bigger.size + 0.1  # same graphs, larger networks
    assert not np.allclose(encoder(batch).detach().numpy(), encoder(bigger).detach().numpy())
    blind = Predictor(PredictorConfig(encoder=EncoderConfig(hidden=16, num_layers=2, embed_dim=16,
                                                            size_features=False))).net.encoder.eval()
    np.testing.assert_allclose(blind(batch).detach().numpy(), blind(bigger).detach().numpy())


def test_forward_select_adds_proxies_while_the_ensemble_ranks_the_labels_better():
    from cgnas.ranking import forward_select, proxy_joins_blend, rank_blend, rank_scores

    rng = np.random.default_rng(0)
    labels = np.arange(200.0)
    anchor = labels + rng.normal(0, 30, 200)        # the predictor's out-of-fold view
    independent = labels + rng.normal(0, 40, 200)   # weaker alone, but errs elsewhere
    candidates = {"reversed": -labels, "independent": independent, "noise": rng.normal(size=200)}
    assert rank_scores(independent, labels)[0] < rank_scores(anchor, labels)[0]
    assert not proxy_joins_blend(anchor, independent, labels)  # the one-proxy gate keeps it out
    chosen = forward_select(labels, candidates, anchor)
    assert chosen[0] == "independent" and "reversed" not in chosen
    ensemble = rank_blend(anchor, *[candidates[p] for p in chosen])
    assert rank_scores(ensemble, labels)[0] > rank_scores(anchor, labels)[0]
    # from nothing, the best single candidate comes first; nothing helps a perfect anchor
    assert forward_select(labels, {"independent": independent, "exact": labels * 2})[0] == "exact"
    assert forward_select(labels, candidates, labels) == []


def test_cross_val_predict_predicts_each_label_with_a_model_that_did_not_see_it(nb201_sample):
    graphs, labels = nb201_sample
    recipe = TrainConfig(epochs=5, batch_size=8)
    model = Predictor(TINY, seed=2)
    before = model.predict(graphs.subset(np.arange(20)))
    oof = model.cross_val_predict(graphs.subset(np.arange(20)), labels[:20], recipe, folds=4)
    assert oof.shape == (20,)
    np.testing.assert_allclose(model.predict(graphs.subset(np.arange(20))), before)  # left unchanged
    part = np.array_split(np.random.default_rng(2).permutation(20), 4)[0]
    rest = np.setdiff1d(np.arange(20), part)
    by_hand = model.copy().finetune(graphs.subset(rest), labels[rest], recipe, progress=False)
    np.testing.assert_allclose(oof[part], by_hand.predict(graphs.subset(part)))
    with pytest.raises(CgnasError, match="folds"):
        model.cross_val_predict(graphs.subset(np.arange(3)), labels[:3], recipe, folds=5)


def test_copy_with_a_seed_seeds_only_the_copys_training(nb201_sample):
    graphs, labels = nb201_sample
    recipe = TrainConfig(epochs=3, batch_size=8)
    train, held = graphs.subset(np.arange(12)), graphs.subset(np.arange(12, 30))
    source = Predictor(TINY, seed=0)
    before = source.predict(held)
    reseeded = source.copy(seed=7)
    assert (reseeded.seed, source.seed) == (7, 0)
    np.testing.assert_allclose(reseeded.predict(held), before)  # same weights, only the seed differs
    tuned = [source.copy(seed).finetune(train, labels[:12], recipe, progress=False).predict(held)
             for seed in (7, 7, 0)]
    np.testing.assert_allclose(tuned[0], tuned[1])
    assert not np.allclose(tuned[0], tuned[2])
    np.testing.assert_allclose(source.predict(held), before)


def test_transfer_ensemble_rows_blend_the_proxies_chosen_on_the_labels(tmp_path):
    from cgnas.ranking import forward_select, rank_blend, rank_scores

    config = TransferConfig(target="nb201", samples=(0, 10), seeds=1, table_limit=40,
                            methods=("gnn", "target_only"), proxies=("synflow", "params"), ensemble=True,
                            source_per_family=60, predictor=TINY, fit=TrainConfig(epochs=1, batch_size=32),
                            finetune=TrainConfig(epochs=2, batch_size=5),
                            target_only=TrainConfig(epochs=2, batch_size=5))
    result = run_transfer(config, cache_root=tmp_path, progress=False)
    rows = {(r["method"], r["samples"]): r for r in result["rows"]}
    assert {m for m, k in rows if k == 10} >= {"zc", "gnn+zc", "target_only+zc"}
    assert not {m for m, k in rows if k == 0} & {"zc", "gnn+zc"}  # no labels to choose by
    bench = cgnas.benchmark("nb201", metric="cifar10_test")
    order = np.random.default_rng([0, 12345]).permutation(40)
    values = score_archs("nb201", [bench.spec(i) for i in order], ["synflow"], cache_root=tmp_path)
    values["params"] = np.array([cgnas.space("nb201").to_cg(bench.arch(i)).num_params() for i in order], float)
    chosen = forward_select(bench.labels[order[:10]], {p: values[p][:10] for p in ("synflow", "params")})
    zc_run = next(r for r in result["runs"] if r["method"] == "zc")
    assert zc_run["proxies_chosen"] == chosen
    expected = rank_scores(rank_blend(*[values[p][10:] for p in chosen]), bench.labels[order[10:]])[0]
    assert zc_run["spearman"] == pytest.approx(expected, abs=1e-6)
    assert sum(rows[("gnn+zc", 10)]["proxies_chosen"].values()) == len(
        next(r for r in result["runs"] if r["method"] == "gnn+zc")["proxies_chosen"])
    with pytest.raises(CgnasError, match="--proxies"):
        run_transfer(replace(config, proxies=()), cache_root=tmp_path, progress=False)
