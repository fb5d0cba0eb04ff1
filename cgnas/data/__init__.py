"""Benchmark data: the data directory, labeled tables, the OFA accuracy oracle, the CG cache."""

from cgnas.data.paths import data_dir, data_file
from cgnas.data.tables import Benchmark, benchmark, metrics

__all__ = ["data_dir", "data_file", "Benchmark", "benchmark", "metrics"]
