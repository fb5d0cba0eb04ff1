"""Labeled benchmark tables: ``cgnas.benchmark("nb201", metric="cifar10_test")``.

Each table is a published benchmark file from the data directory (see
``shared/data/README.md``); one row is one architecture with its labels. Metric names are
short aliases for the file's columns (the raw column names are accepted too):

========== ====================================================================================
space      metrics (default first)
========== ====================================================================================
nb101      ``val_acc_108ep``, ``val_acc_36ep``, ``val_acc_12ep``, ``val_acc_4ep`` (fraction 0-1)
nb201      ``cifar10_test``, ``cifar10_val``, ``cifar100_val``, ``cifar100_test``,
           ``imagenet16_val``, ``imagenet16_test`` (200 epochs, percent), the same with
           ``_12ep``; CIFAR-10 "val" is the cifar10-valid split
nb301      ``val_acc`` (NB301 v0.9 surrogate, percent, noisy)
ofa_mbv3   ``top1`` (ImageNet val top-1 of 364 measured w1.0 subnets at r=224, percent)
========== ====================================================================================
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from cgnas.data.paths import data_file
from cgnas.errors import CgnasError


@dataclass(frozen=True)
class TableSpec:
    """Where a space's labeled table lives and how to read architectures and metrics from it."""

    file: str
    metrics: dict[str, str]
    """alias -> column; the first entry is the default metric."""
    extra: tuple[str, ...] = ()
    """Other useful columns kept in the table (params, MACs, training time...)."""


def _nb201_metrics() -> dict[str, str]:
    metrics = {}
    for epochs, suffix in (("200ep", ""), ("12ep", "_12ep")):
        metrics[f"cifar10_test{suffix}"] = f"cifar10_test_acc_{epochs}"
        metrics[f"cifar10_val{suffix}"] = f"cifar10valid_val_acc_{epochs}"
        for ds in ("cifar100", "imagenet16"):
            metrics[f"{ds}_val{suffix}"] = f"{ds}_val_acc_{epochs}"
            metrics[f"{ds}_test{suffix}"] = f"{ds}_test_acc_{epochs}"
    return metrics


TABLES: dict[str, TableSpec] = {
    "nb101": TableSpec("nb101/nb101_30k.csv",
                       {f"val_acc_{e}ep": f"val_acc_{e}ep" for e in (108, 36, 12, 4)},
                       ("hash", "trainable_params", "training_time_s", "spec_is_original")),
    "nb201": TableSpec("nb201/nb201_all.csv", _nb201_metrics(), ("nb201_index",)),
    "nb301": TableSpec("nb301/nb301_10k_surrogate.csv", {"val_acc": "val_acc_surrogate"},
                       ("runtime_s_surrogate",)),
    "ofa_mbv3": TableSpec("ofa/ofa_mbv3_w1.0_measured_364.csv", {"top1": "top1"}, ("macs", "params")),
}


def row_spec(space: str, row: dict[str, Any]) -> Any:
    """The architecture of one table row in a form ``cgnas.space(space).parse`` accepts.

    Used for the benchmark tables and for user label files with the same columns.
    """
    if space == "nb101":
        return {"matrix": json.loads(row["adjacency"]), "ops": str(row["ops"]).split("|")}
    if space == "nb201":
        return row["arch_str"]
    if space == "nb301":
        return row["genotype"]
    if space == "ofa_mbv3":
        return {"ks": _ints(row["ks"]), "e": _ints(row["e"]), "d": _ints(row["d"]),
                "r": int(row["r"]), "w": float(row.get("w", 1.0))}
    raise CgnasError(f"no labeled table format for space {space!r}")


ARCH_COLUMNS: dict[str, tuple[str, ...]] = {
    "nb101": ("adjacency", "ops"), "nb201": ("arch_str",), "nb301": ("genotype",),
    "ofa_mbv3": ("ks", "e", "d", "r")}
"""Columns a labeled CSV of each space must have to name its architectures."""


def _ints(text: Any) -> list[int]:
    return [int(v) for v in str(text).split()]


@dataclass
class Benchmark:
    """A labeled table over a search space.

    Attributes:
        space_name: ``nb101``, ``nb201``, ``nb301`` or ``ofa_mbv3``.
        metric: the metric alias the labels come from.
        table: the whole CSV as a DataFrame (one row per architecture).
        labels: ``[N]`` float64 array of the metric.
    """

    space_name: str
    metric: str
    table: pd.DataFrame
    labels: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return len(self.table)

    @cached_property
    def space(self):
        from cgnas.spaces import space
        return space(self.space_name)

    def spec(self, i: int) -> Any:
        """The raw architecture spec of row ``i`` (what ``space.parse`` takes)."""
        return row_spec(self.space_name, self.table.iloc[i].to_dict())

    def arch(self, i: int) -> Any:
        """The parsed architecture of row ``i``."""
        return self.space.parse(self.spec(i))

    def archs(self) -> list[Any]:
        """All parsed architectures, in row order."""
        records = self.table.to_dict("records")
        parse = self.space.parse
        return [parse(row_spec(self.space_name, r)) for r in records]

    def column(self, name: str) -> np.ndarray:
        return self.table[name].to_numpy()


def metric_column(space: str, metric: str | None) -> tuple[str, str]:
    """``(alias, column)`` of a metric of ``space``; ``None`` gives the default metric."""
    spec = _table_spec(space)
    if metric is None:
        metric = next(iter(spec.metrics))
    if metric in spec.metrics:
        return metric, spec.metrics[metric]
    for alias, column in spec.metrics.items():
        if metric == column:
            return alias, column
    raise CgnasError(f"unknown metric {metric!r} for {space}; choose one of {', '.join(spec.metrics)}")


def _table_spec(space: str) -> TableSpec:
    if space not in TABLES:
        raise CgnasError(f"no labeled benchmark for space {space!r}; choose one of {', '.join(TABLES)}")
    return TABLES[space]


def benchmark(space: str, metric: str | None = None,
              data_dir: str | os.PathLike | None = None) -> Benchmark:
    """The labeled table of ``space`` with labels from ``metric`` (default: the first listed)."""
    alias, column = metric_column(space, metric)
    path = data_file(_table_spec(space).file, data_dir)
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise CgnasError(f"cannot read {path}: {exc}") from exc
    if column not in table.columns:
        raise CgnasError(f"{path} has no column {column!r} (metric {alias}); is it the right file?")
    labels = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(labels))
    if bad.size:
        raise CgnasError(f"{path}: {bad.size} rows have no numeric {column!r} (first at row {bad[0] + 2})")
    return Benchmark(space, alias, table, labels)


def metrics(space: str) -> list[str]:
    return list(_table_spec(space).metrics)
