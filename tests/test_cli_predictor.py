"""The predictor commands end to end on the first rows of the tables (--limit)."""

import json

import pandas as pd

from cgnas.cli import main

NB201 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def run(capsys, *argv):
    code = main([*argv, "--json", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_pretrain_train_finetune_evaluate_predict(capsys, tmp_path):
    common = ["--cache-dir", str(tmp_path / "cache"), "--limit", "300"]
    enc, pred, ft = tmp_path / "enc.pt", tmp_path / "pred.pt", tmp_path / "ft.pt"
    out = run(capsys, "pretrain", "--spaces", "nb201", "--out", str(enc), "--epochs", "1", "--batch-size", "64",
              *common)
    assert out["epochs"] == 1 and enc.is_file()
    run(capsys, "train", "--encoder", str(enc), "--sources", "nb101,nb301", "--per-family", "100",
        "--epochs", "1", "--out", str(pred), *common)
    run(capsys, "finetune", "--predictor", str(pred), "--target", "nb201", "--samples", "20", "--epochs", "5",
        "--out", str(ft), *common)
    scores = run(capsys, "evaluate", "--predictor", str(ft), "--target", "nb201", *common)
    assert scores["n"] == 280 and -1 <= scores["spearman"] <= 1

    # a user CSV with the table's architecture columns and a label
    table = pd.read_csv("../shared/data/nb201/nb201_all.csv", nrows=50)
    csv = tmp_path / "mine.csv"
    table.assign(label=table["cifar10_test_acc_200ep"])[["arch_str", "label"]].to_csv(csv, index=False)
    scores = run(capsys, "evaluate", "--predictor", str(ft), "--target", "nb201", "--labels", str(csv), *common)
    assert scores["n"] == 50

    result = run(capsys, "predict", "--predictor", str(ft), "--space", "nb201", "--arch", NB201, *common)
    assert result["target"] == "nb201" and 0 <= result["percentile"] <= 100 and result["n"] == 300
    assert 0 < result["prediction"] < 100


def test_labels_file_errors(capsys, tmp_path):
    from cgnas.model import Predictor

    ckpt = Predictor().save(tmp_path / "p.pt")
    bad = tmp_path / "bad.csv"
    bad.write_text("arch_str,label\n" + NB201 + ",\n")
    code = main(["evaluate", "--predictor", str(ckpt), "--target", "nb201", "--labels", str(bad)])
    err = capsys.readouterr().err
    assert code == 2 and "not a number" in err
    bad.write_text("arch,label\nx,1\n")
    code = main(["evaluate", "--predictor", str(ckpt), "--target", "nb201", "--labels", str(bad)])
    assert code == 2 and "arch_str" in capsys.readouterr().err


def test_predict_takes_plain_pytorch_networks(capsys, tmp_path):
    from cgnas.model import Predictor

    ckpt = Predictor().save(tmp_path / "p.pt")
    for factory in ("ResNet", "MobileNetV2", "DenseNet", "Inception", "SENet"):
        result = run(capsys, "predict", "--predictor", str(ckpt), "--torch", f"tests.torch_zoo:{factory}",
                     "--input-shape", "1,3,32,32")
        assert result["units"] == "normalized score" and result["percentile"] is None
