"""cgnas: a general-purpose, transferable performance predictor for neural architecture search.

Any CNN becomes a computational graph (:class:`CompGraph`) of primitive operators; see
DESIGN.md. Entry points::

    space = cgnas.space("nb201"); cg = space.to_cg(space.parse(ARCH)); net = cg.to_torch()
    cg2 = cgnas.from_torch(module, (1, 3, 32, 32)); cg3 = cgnas.from_onnx("model.onnx")
    bench = cgnas.benchmark("nb201", metric="cifar10_test")
"""

from cgnas.errors import (CgnasError, DataFileNotFoundError, InvalidArchitectureError,
                          ShapeError, UnknownOperatorError)
from cgnas.data.tables import Benchmark, benchmark
from cgnas.graph import CompGraph, GraphBuilder
from cgnas.spaces import SearchSpace, space, space_names

__version__ = "0.1.0"

__all__ = ["CompGraph", "GraphBuilder", "space", "space_names", "SearchSpace", "benchmark", "Benchmark", "CgnasError", "InvalidArchitectureError",
           "UnknownOperatorError", "ShapeError", "DataFileNotFoundError"]
