"""NASLib's published proxy values (NAS-Bench-Suite-Zero), the reference cgnas agrees with.

The files are described in ``shared/data/README.md``: 725 NB201 cells (CIFAR-10 rows), 500
NB101 cells and 725 DARTS genotypes with NASLib's proxies and validation accuracy.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pandas as pd

from cgnas.data.paths import data_file
from cgnas.errors import CgnasError

NASLIB_FILES = {"nb201": "nb201/nb201_zc_naslib_725.csv", "nb101": "nb101/nb101_zc_naslib_500.csv",
                "nb301": "nb301/nb301_zc_naslib_725.csv"}


def naslib_reference(space: str, data_dir: str | os.PathLike | None = None) -> tuple[list[Any], pd.DataFrame]:
    """``(specs, table)``: the architectures of NASLib's set for ``space`` in a form
    ``cgnas.space(space).parse`` takes, and the rows (proxy columns, ``val_accuracy``)."""
    if space not in NASLIB_FILES:
        raise CgnasError(f"no NASLib reference set for {space!r}; choose one of {', '.join(NASLIB_FILES)}")
    path = data_file(NASLIB_FILES[space], data_dir)
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise CgnasError(f"cannot read {path}: {exc}") from exc
    if space == "nb201":
        table = table[table["dataset"] == "cifar10"].reset_index(drop=True)
        specs = list(table["arch_str"])
    elif space == "nb101":
        specs = [{"matrix": json.loads(m), "ops": o.split("|")}
                 for m, o in zip(table["adjacency_pruned"], table["ops_pruned"])]
    else:
        specs = list(table["genotype"])
    return specs, table
