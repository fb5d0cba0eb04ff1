"""cgnas: a general-purpose, transferable performance predictor for neural architecture search.

Any CNN becomes a computational graph (:class:`CompGraph`) of primitive operators; see
DESIGN.md. Entry points::

    space = cgnas.space("nb201"); cg = space.to_cg(space.parse(ARCH)); net = cg.to_torch()
    cg2 = cgnas.from_torch(module, (1, 3, 32, 32)); cg3 = cgnas.from_onnx("model.onnx")
    bench = cgnas.benchmark("nb201", metric="cifar10_test")
"""

from cgnas.errors import (CgnasError, DataFileNotFoundError, InvalidArchitectureError,
                          ModelImportError, ShapeError, UnknownOperatorError)
from cgnas.data.tables import Benchmark, benchmark
from cgnas.graph import CompGraph, GraphBuilder
from cgnas.spaces import SearchSpace, space, space_names

__version__ = "0.1.0"

# importers load torch / onnx, so they are imported on first use (``import cgnas`` stays light)
_LAZY = {"from_torch": "cgnas.graph.from_torch", "from_onnx": "cgnas.graph.onnx_io",
         "export_onnx": "cgnas.graph.onnx_io", "Predictor": "cgnas.model.predictor"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cgnas' has no attribute {name!r}")


__all__ = ["CompGraph", "GraphBuilder", "space", "space_names", "SearchSpace", "benchmark", "Benchmark",
           "Predictor", "CgnasError", "InvalidArchitectureError", "UnknownOperatorError", "ShapeError",
           "DataFileNotFoundError", "ModelImportError", "from_torch", "from_onnx", "export_onnx"]
