"""Data-directory resolution and labeled benchmark tables."""

import numpy as np
import pytest

import cgnas
from cgnas.data.paths import DEFAULT_DATA_DIR, data_dir
from cgnas.errors import CgnasError, DataFileNotFoundError


def test_data_dir_resolution_order(monkeypatch, tmp_path):
    monkeypatch.delenv("CGNAS_DATA", raising=False)
    assert data_dir() == DEFAULT_DATA_DIR
    monkeypatch.setenv("CGNAS_DATA", str(tmp_path))
    assert data_dir() == tmp_path
    assert data_dir("/elsewhere") == data_dir("/elsewhere")
    assert str(data_dir("/elsewhere")) == "/elsewhere"


def test_missing_file_error_says_what_where_and_whence(monkeypatch, tmp_path):
    monkeypatch.setenv("CGNAS_DATA", str(tmp_path))
    with pytest.raises(DataFileNotFoundError) as info:
        cgnas.benchmark("nb201")
    msg = str(info.value)
    assert "nb201/nb201_all.csv" in msg and str(tmp_path) in msg and "CGNAS_DATA" in msg
    assert "NAS-Bench-201" in msg


@pytest.mark.parametrize("space,metric,n,lo,hi", [
    ("nb101", "val_acc_108ep", 30001, 0.0, 1.0),
    ("nb201", "cifar10_test", 15625, 10.0, 94.38),
    ("nb201", "cifar10_val_12ep", 15625, 9.0, 85.0),
    ("nb301", "val_acc", 10000, 90.0, 95.0),
    ("ofa_mbv3", "top1", 364, 73.0, 78.0),
])
def test_benchmark_tables(space, metric, n, lo, hi):
    bench = cgnas.benchmark(space, metric=metric)
    assert len(bench) == n and bench.labels.shape == (n,)
    assert lo <= bench.labels.min() and bench.labels.max() <= hi


def test_nb201_best_test_accuracy_is_the_published_one():
    bench = cgnas.benchmark("nb201", metric="cifar10_test")
    best = int(np.argmax(bench.labels))
    assert bench.table["nb201_index"].iloc[best] == 6111
    assert bench.labels[best] == pytest.approx(94.373, abs=1e-3)


def test_metric_aliases_and_errors():
    assert cgnas.benchmark("nb201", metric="cifar10_test_acc_200ep").metric == "cifar10_test"
    with pytest.raises(CgnasError, match="unknown metric"):
        cgnas.benchmark("nb201", metric="top5")
    with pytest.raises(CgnasError, match="no labeled benchmark"):
        cgnas.benchmark("darts")


def test_corrupt_table_gives_clear_error(tmp_path):
    (tmp_path / "nb301").mkdir()
    (tmp_path / "nb301" / "nb301_10k_surrogate.csv").write_text("idx,genotype,val_acc_surrogate\n0,x,abc\n")
    with pytest.raises(CgnasError, match="no numeric"):
        cgnas.benchmark("nb301", data_dir=tmp_path)
    (tmp_path / "nb301" / "nb301_10k_surrogate.csv").write_text("idx,genotype\n0,x\n")
    with pytest.raises(CgnasError, match="no column"):
        cgnas.benchmark("nb301", data_dir=tmp_path)
