"""OFA-MBv3's published tables as DataFrames with an ``arch`` column of :class:`~cgnas.spaces.ofa_mbv3.OFAArch`.

The space (:mod:`cgnas.spaces.ofa_mbv3`) knows how to read one row into an architecture;
finding and reading the files is the data layer's.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from cgnas.data.paths import data_file
from cgnas.spaces.ofa_mbv3 import measured_row_to_arch, specialized_row_to_arch


def read_measured(data_dir: Any = None) -> pd.DataFrame:
    """``ofa_mbv3_w1.0_measured_364.csv`` as a DataFrame with an ``arch`` column (w=1.0)."""
    df = pd.read_csv(data_file("ofa/ofa_mbv3_w1.0_measured_364.csv", data_dir))
    df["arch"] = [measured_row_to_arch(r) for r in df.to_dict("records")]
    return df


def read_specialized(data_dir: Any = None) -> pd.DataFrame:
    """The 34 MobileNetV3 rows of ``ofa_specialized_50.csv`` with an ``arch`` column."""
    df = pd.read_csv(data_file("ofa/ofa_specialized_50.csv", data_dir))
    df = df[df["family"] == "MobileNetV3"].reset_index(drop=True)
    df["arch"] = [specialized_row_to_arch(r) for r in df.to_dict("records")]
    return df
