"""Speed of the model importers.

Times (median of ``--repeat`` warm runs) of ``from_torch`` on the ResNet of the tests
(``tests/torch_zoo.py``, 53 nodes) and on a ~700-node residual chain built with the
GraphBuilder and run through ``to_torch()``; also ``export_onnx`` and ``from_onnx`` of both.

    python benchmarks/import_speed.py [--repeat 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from cgnas.graph.builder import GraphBuilder  # noqa: E402
from cgnas.graph.from_torch import from_torch  # noqa: E402
from cgnas.graph.onnx_io import export_onnx, from_onnx  # noqa: E402
from torch_zoo import resnet  # noqa: E402


def residual_chain(blocks: int = 100):
    b = GraphBuilder((16, 8, 8))
    x = b.input
    for _ in range(blocks):
        y = b.relu(b.bn(b.conv(x, 16, k=3)))
        y = b.bn(b.conv(y, 16, k=1))
        x = b.relu(b.add(x, y))
    cg = b.build(b.linear(b.flatten(b.global_avgpool(x, keepdim=True)), 10))
    return cg.to_torch(), (1,) + cg.shapes[0]


def timed(fn, repeat: int) -> tuple[float, object]:
    fn()  # warm-up
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (module, shape) in {"resnet (tests/torch_zoo)": resnet(),
                                      "residual chain": residual_chain()}.items():
            t_torch, cg = timed(lambda: from_torch(module, shape), args.repeat)
            path = Path(tmp) / "m.onnx"
            t_export, _ = timed(lambda: export_onnx(module, shape, path), args.repeat)
            t_onnx, cg2 = timed(lambda: from_onnx(path), args.repeat)
            rows.append({"network": name, "nodes": len(cg), "from_torch_s": round(t_torch, 4),
                         "export_onnx_s": round(t_export, 4), "from_onnx_s": round(t_onnx, 4),
                         "agree": cg.same_as(cg2)})
    info = {"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows}
    if args.json:
        print(json.dumps(info))
        return
    print(f"torch {info['torch']}, {info['threads']} threads; median of {args.repeat} warm runs")
    for r in rows:
        print(f"{r['network']:<26} {r['nodes']:>4} nodes  from_torch {r['from_torch_s'] * 1000:7.1f} ms  "
              f"export_onnx {r['export_onnx_s'] * 1000:7.1f} ms  from_onnx {r['from_onnx_s'] * 1000:7.1f} ms  "
              f"agree {r['agree']}")


if __name__ == "__main__":
    main()
