"""Zero-cost proxies: hand-computed values, agreement with the CG costs, determinism,
resume, and one clear error for each kind of bad input."""

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

import cgnas
from cgnas.cli import main
from cgnas.errors import CgnasError, ShapeError
from cgnas.graph.compgraph import CompGraph
from cgnas.zcp import PROXIES, ProxyError, compute, load_batch, synthetic_batch
from cgnas.zcp import run_proxies, score_archs

NB201 = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
         "|nor_conv_1x1~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|",
         "|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|",
         "|none~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small networks run fastest on one thread; more only oversubscribe a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_batch(shape=(2,), n=4, classes=3, seed=0):
    return synthetic_batch(shape, classes, seed, batch_size=n)


def test_synflow_of_a_positive_linear_net_is_depth_times_output():
    # With |W| and an all-ones input, R = 1^T |W2| relu(|W1| 1) is linear in each layer's
    # weights, so sum |w * dR/dw| over the two layers is 2 R; batch norm is removed.
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 3, bias=False), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 1, bias=False))
    w1, w2 = net[0].weight.detach().abs().double(), net[3].weight.detach().abs().double()
    r = float((w2 @ (w1 @ torch.ones(2, dtype=torch.float64))).sum())
    assert compute(net, ["synflow"], tiny_batch())["synflow"] == pytest.approx(2 * r, rel=1e-12)


def test_nwot_is_the_logdet_of_the_activation_code_kernel():
    net = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))
    batch = tiny_batch(shape=(5,), n=6)
    with torch.no_grad():
        codes = (net[0](batch.images) > 0).double().numpy()
    kernel = codes @ codes.T + (1 - codes) @ (1 - codes).T
    assert compute(net, ["nwot"], batch)["nwot"] == pytest.approx(np.linalg.slogdet(kernel)[1], rel=1e-9)


def test_jacov_of_a_linear_net_has_one_correlated_direction():
    # every input has the same Jacobian: the correlation matrix is all ones, eigenvalues n and 0
    net = nn.Linear(5, 3)
    n, k = 6, 1e-5
    expected = -((math.log(n + k) + 1 / (n + k)) + (n - 1) * (math.log(k) + 1 / k))
    assert compute(net, ["jacov"], tiny_batch(shape=(5,), n=n))["jacov"] == pytest.approx(expected, rel=1e-6)


def test_loss_gradient_proxies_match_direct_autograd():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))
    batch = tiny_batch(shape=(4,), n=8)
    loss = nn.functional.cross_entropy(net(batch.images), batch.labels)
    grads = torch.autograd.grad(loss, [net[0].weight, net[2].weight])
    weights = [net[0].weight.detach(), net[2].weight.detach()]
    values = compute(net, ["snip", "grad_norm"], batch)
    assert values["snip"] == pytest.approx(float(sum((w * g).abs().sum() for w, g in zip(weights, grads))), rel=1e-5)
    assert values["grad_norm"] == pytest.approx(float(sum(g.norm() for g in grads)), rel=1e-5)


def test_all_proxies_on_a_real_network_leave_it_untouched():
    sp = cgnas.space("nb201")
    cg = sp.to_cg(sp.parse(NB201[0]))
    torch.manual_seed(0)
    net = cg.to_torch()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    values = compute(net, list(PROXIES), synthetic_batch((3, 32, 32), 10, 0, batch_size=8))
    assert all(math.isfinite(v) for v in values.values()), values
    assert values["params"] == cg.num_params() and values["flops"] == cg.macs()
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())


@pytest.mark.parametrize("space", ["nb101", "nb301"])
def test_params_and_flops_of_torch_equal_the_cg_costs(space):
    import random
    sp = cgnas.space(space)
    cg = sp.to_cg(sp.sample(random.Random(4)))
    values = compute(cg.to_torch(), ["params", "flops"], synthetic_batch((3, 32, 32), 10, batch_size=2))
    assert (values["params"], values["flops"]) == (cg.num_params(), cg.macs())


def test_nb101_networks_get_nasbench_pytorch_init(tmp_path):
    from cgnas.zcp.init import nasbench_pytorch_init
    sp = cgnas.space("nb101")
    spec = {"matrix": [[0, 1, 1], [0, 0, 1], [0, 0, 0]], "ops": ["input", "conv3x3-bn-relu", "output"]}
    torch.manual_seed(0)
    net = sp.to_cg(sp.parse(spec)).to_torch()
    nasbench_pytorch_init(net)
    conv = next(m for m in net.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3))
    assert float(conv.weight.detach().std()) == pytest.approx(math.sqrt(2 / (9 * conv.out_channels)), rel=0.05)
    expected = compute(net, ["synflow"], synthetic_batch((3, 32, 32), 10))["synflow"]
    assert score_archs("nb101", [spec], ["synflow"], cache_root=tmp_path)["synflow"][0] == expected


def test_scores_are_deterministic_and_depend_on_the_seed(tmp_path):
    proxies = ["synflow", "nwot", "snip"]
    a = score_archs("nb201", NB201[1:2], proxies, seed=3, cache_root=tmp_path / "a")
    b = score_archs("nb201", NB201[1:2], proxies, seed=3, cache_root=tmp_path / "b")
    c = score_archs("nb201", NB201[1:2], proxies, seed=4, cache_root=tmp_path / "a")
    for p in proxies:
        np.testing.assert_array_equal(a[p], b[p])
    assert not np.array_equal(a["snip"], c["snip"]) and not np.array_equal(a["nwot"], c["nwot"])


def test_resume_after_an_interrupted_write(tmp_path):
    first = run_proxies("nb201", NB201[:3], ["params", "synflow"], cache_root=tmp_path)
    assert first.computed == 3
    cache = tmp_path / "zcp" / "nb201" / first.cache_file.rsplit("/", 1)[-1]
    text = cache.read_text()
    cache.write_text(text[: text.rstrip("\n").rfind("\n") + 1] + text.splitlines()[-1][:20])  # cut the last line
    again = run_proxies("nb201", NB201, ["params", "synflow"], cache_root=tmp_path)
    assert again.computed == 2  # the cut architecture and the new one
    fresh = run_proxies("nb201", NB201, ["params", "synflow"], cache_root=tmp_path / "fresh")
    for p in ("params", "synflow"):
        np.testing.assert_array_equal(again.values[p], fresh.values[p])
    assert all(json.loads(line) for line in cache.read_text().splitlines()[-2:])


def test_a_failing_network_is_recorded_and_skipped(tmp_path, monkeypatch):
    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("forward exploded")

    real = CompGraph.to_torch
    broken = cgnas.space("nb201").to_cg(cgnas.space("nb201").parse(NB201[1])).signature()
    monkeypatch.setattr(CompGraph, "to_torch", lambda cg: Broken() if cg.signature() == broken else real(cg))
    with pytest.raises(ProxyError, match="synflow: RuntimeError: forward exploded"):
        compute(Broken(), ["synflow"], tiny_batch())
    scores = run_proxies("nb201", NB201[:3], ["params", "synflow"], cache_root=tmp_path)
    assert list(scores.errors) == [1] and "forward exploded" in scores.errors[1]
    assert np.isnan(scores.values["synflow"][1]) and np.isfinite(scores.values["synflow"][[0, 2]]).all()
    assert np.isnan(scores.values["params"][1])
    monkeypatch.setattr(CompGraph, "to_torch", real)
    retried = run_proxies("nb201", NB201[:3], ["params", "synflow"], cache_root=tmp_path)
    assert retried.computed == 1 and not retried.errors


def test_unknown_proxy_is_one_clear_error(tmp_path):
    with pytest.raises(CgnasError, match="unknown proxy 'synflo'; choose from params, flops, synflow"):
        score_archs("nb201", NB201[:1], ["synflow", "synflo"], cache_root=tmp_path)


def test_data_batch_of_the_wrong_shape_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, images=np.zeros((4, 3, 16, 16), np.float32), labels=np.zeros(4, np.int64))
    with pytest.raises(ShapeError, match=r"images of shape \(3, 16, 16\); the network takes \(3, 32, 32\)"):
        score_archs("nb201", NB201[:2], ["nwot"], cache_root=tmp_path, data_batch=bad)
    assert not (tmp_path / "zcp").exists() or not any((tmp_path / "zcp").rglob("*.jsonl"))
    good = tmp_path / "good.npz"
    rng = np.random.default_rng(0)
    np.savez(good, images=rng.normal(size=(6, 3, 32, 32)).astype(np.float32), labels=rng.integers(0, 10, 6))
    batch = load_batch(good, 10)
    assert batch.ident.startswith("file-") and batch.images.shape == (6, 3, 32, 32)
    scores = run_proxies("nb201", NB201[:1], ["nwot"], cache_root=tmp_path, data_batch=good)
    assert scores.batch == batch.ident and np.isfinite(scores.values["nwot"]).all()


def test_zen_needs_global_pooling():
    with pytest.raises(ProxyError, match="global average pooling"):
        compute(nn.Linear(2, 3), ["zen"], tiny_batch())


class Relu6Gate(nn.Module):
    def forward(self, x):
        return nn.functional.relu6(x + 3) / 6


def test_grasp_through_hardsigmoid_equals_its_relu6_form():
    # PyTorch has no second derivative for hardsigmoid; MobileNetV3's SE gates need one in GraSP.
    torch.manual_seed(0)
    fused = nn.Sequential(nn.Linear(2, 8), nn.Hardsigmoid(), nn.Linear(8, 3))
    written_out = nn.Sequential(fused[0], Relu6Gate(), fused[2])
    batch = tiny_batch(n=8)
    value = compute(fused, ["grasp"], batch)["grasp"]
    assert value != 0 and value == pytest.approx(compute(written_out, ["grasp"], batch)["grasp"], rel=1e-6)


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_zcp_json(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "zcp", "--space", "nb201", "--proxies", "params,synflow", "--limit", "4",
                           "--cache-dir", str(tmp_path), "--json", "--quiet")
    assert code == 0
    report = json.loads(out)
    assert report["space"] == "nb201" and set(report["spearman"]) == {"params", "synflow"}
    bench = cgnas.benchmark("nb201")
    assert [r["arch"] for r in report["archs"]] == [bench.spec(i) for i in range(4)]
    assert [r["label"] for r in report["archs"]] == list(bench.labels[:4])
    assert all(r["params"] > 0 and r["synflow"] > 0 for r in report["archs"])


def test_cli_zcp_parts_share_one_cache(capsys, tmp_path):
    """Two --part runs split the rows; a run without --part then computes nothing."""
    common = ("zcp", "--space", "nb201", "--proxies", "synflow", "--limit", "5", "--cache-dir", str(tmp_path),
              "--json", "--quiet")
    parts = [json.loads(run_cli(capsys, *common, "--part", f"{k}/2")[1]) for k in (1, 2)]
    whole = json.loads(run_cli(capsys, *common)[1])
    bench = cgnas.benchmark("nb201")
    assert [r["arch"] for r in parts[0]["archs"]] == [bench.spec(i) for i in (0, 2, 4)]
    assert [r["arch"] for r in parts[1]["archs"]] == [bench.spec(i) for i in (1, 3)]
    assert whole["computed"] == 0 and whole["part"] == "1/1"
    by_arch = {r["arch"]: r["synflow"] for p in parts for r in p["archs"]}
    assert {r["arch"]: r["synflow"] for r in whole["archs"]} == by_arch


@pytest.mark.parametrize("argv, message", [
    (["--part", "3/2"], "part 3/2: expected K/N"),
    (["--part", "half"], "--part 'half': expected K/N"),
    (["--proxies", "params,nope"], "unknown proxy 'nope'"),
    (["--proxies", "nwot", "--data-batch", "missing.npz"], "missing.npz does not exist"),
])
def test_cli_zcp_bad_input(capsys, tmp_path, argv, message):
    code, out, err = run_cli(capsys, "zcp", "--space", "nb201", "--limit", "2", "--cache-dir", str(tmp_path),
                             "--quiet", *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def zcp_json(capsys, *argv):
    code, out, err = run_cli(capsys, "zcp", *argv, "--json")
    assert code == 0, err
    return json.loads(out), err


RESNET = ("--torch", "tests.torch_zoo:ResNet", "--input-shape", "1,3,32,32")


def test_cli_zcp_of_a_plain_pytorch_network(capsys):
    """--torch: the proxies of the user's own module, deterministic under --seed."""
    from tests.torch_zoo import ResNet

    argv = (*RESNET, "--proxies", "params,flops,synflow,snip,nwot")
    report, err = zcp_json(capsys, *argv)
    assert err == "" and report["errors"] == {} and report["batch"] == "synthetic-s0-n32"
    assert report["values"]["params"] == sum(p.numel() for p in ResNet().parameters())
    assert all(math.isfinite(v) for v in report["values"].values())
    assert zcp_json(capsys, *argv)[0] == report
    other, _ = zcp_json(capsys, *argv, "--seed", "1")
    assert other["values"]["params"] == report["values"]["params"]
    assert other["values"]["snip"] != report["values"]["snip"]


def test_cli_zcp_of_an_onnx_graph_and_of_one_benchmark_arch(capsys, tmp_path):
    from tests.torch_zoo import ResNet

    path = cgnas.export_onnx(ResNet(), (1, 3, 32, 32), tmp_path / "resnet.onnx")
    onnx_report, _ = zcp_json(capsys, "--onnx", str(path), "--proxies", "params,flops,nwot")
    torch_report, _ = zcp_json(capsys, *RESNET, "--proxies", "params,flops")
    assert {p: onnx_report["values"][p] for p in ("params", "flops")} == torch_report["values"]
    assert math.isfinite(onnx_report["values"]["nwot"])
    arch_report, _ = zcp_json(capsys, "--space", "nb201", "--arch", NB201[0], "--proxies", "params,synflow",
                              "--cache-dir", str(tmp_path))
    table = run_proxies("nb201", NB201[:1], ["params", "synflow"], cache_root=tmp_path)
    assert arch_report["values"] == {p: float(v[0]) for p, v in table.values.items()}


def test_cli_zcp_names_the_proxies_a_network_lacks(capsys):
    """A transformer block: no [N, classes] output, no ReLU, no global pooling."""
    report, err = zcp_json(capsys, "--torch", "tests.torch_zoo:EncoderBlock", "--input-shape", "1,16,32",
                           "--proxies", "params,snip,nwot,zen")
    assert report["values"]["params"] > 0
    assert [p for p, v in report["values"].items() if v is None] == ["snip", "nwot", "zen"]
    assert "classifier" in report["errors"]["snip"] and "ReLU" in report["errors"]["nwot"]
    assert "global average pooling" in report["errors"]["zen"]
    assert err.count("warning: ") == 3


@pytest.mark.parametrize("argv, message", [
    ([], "give --space S"),
    (["--torch", "tests.torch_zoo:ResNet"], "--torch needs --input-shape"),
    (["--torch", "tests.torch_zoo:ResNet", "--input-shape", "1,1,32,32"], "forward pass fails on input of shape"),
    (["--space", "nb201", *RESNET], "--space goes with --arch"),
    (["--arch", NB201[0]], "--arch needs --space"),
    ([*RESNET, "--part", "1/2"], "apply to a space's table"),
    ([*RESNET, "--data-batch", "{tmp}/small.npz"], "has images of shape (3, 16, 16)"),
    (["--torch", "tests.torch_zoo:EncoderBlock", "--input-shape", "1,16,32", "--proxies", "snip"],
     "no proxy could be computed"),
])
def test_cli_zcp_of_one_network_bad_input(capsys, tmp_path, argv, message):
    np.savez(tmp_path / "small.npz", images=np.zeros((4, 3, 16, 16), np.float32), labels=np.zeros(4, np.int64))
    code, out, err = run_cli(capsys, "zcp", "--quiet", *(a.format(tmp=tmp_path) for a in argv))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
