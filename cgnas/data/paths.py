"""Where the benchmark data lives.

Resolution order: an explicit ``data_dir`` argument (the CLI's ``--data-dir``), then the
``CGNAS_DATA`` environment variable, then ``../shared/data`` next to the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

from cgnas.errors import DataFileNotFoundError

ENV_VAR = "CGNAS_DATA"
_REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = _REPO_ROOT.parent / "shared" / "data"

# Where each file comes from, for error messages (see the data README).
SOURCES = {
    "nb101/nb101_30k.csv": "NAS-Bench-101 results (tiga1231/nasbench-vis)",
    "nb101/nb101_zc_naslib_500.csv": "NASLib NAS-Bench-Suite-Zero (automl/NASLib)",
    "nb201/nb201_all.csv": "NAS-Bench-201 / NATS-Bench TSS exports",
    "nb201/nb201_zc_naslib_725.csv": "NASLib NAS-Bench-Suite-Zero (automl/NASLib)",
    "nb301/nb301_10k_surrogate.csv": "NAS-Bench-301 v0.9 surrogate (Ren-Research/nasbench301)",
    "nb301/nb301_zc_naslib_725.csv": "NASLib NAS-Bench-Suite-Zero (automl/NASLib)",
    "ofa/ofa_mbv3_acc_predictor.pth": "Once-for-All accuracy predictor (mit-han-lab/once-for-all)",
    "ofa/ofa_mbv3_w1.0_measured_364.csv": "IntelLabs/DyNAS-T mbnv3w10_evoga_acc.csv",
    "ofa/ofa_specialized_50.csv": "Once-for-All specialized nets (han-cai/files)",
}


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The data directory: ``explicit``, else ``$CGNAS_DATA``, else ``../shared/data``."""
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    return DEFAULT_DATA_DIR


def data_file(relative: str, explicit_dir: str | os.PathLike | None = None) -> Path:
    """Path of a benchmark file such as ``"nb201/nb201_all.csv"``; raises if it is missing.

    The error names the file, the directory searched and how that directory was chosen, and
    where the file comes from.
    """
    root = data_dir(explicit_dir)
    path = root / relative
    if not path.is_file():
        how = ("--data-dir" if explicit_dir is not None
               else f"${ENV_VAR}" if os.environ.get(ENV_VAR) else "the default ../shared/data")
        source = SOURCES.get(relative, "see shared/data/README.md")
        raise DataFileNotFoundError(
            f"benchmark file {relative!r} not found in {root} (data directory from {how}); "
            f"it comes from {source}. Point --data-dir or ${ENV_VAR} at the directory that holds it.")
    return path
