"""Every torchvision classification model through cgnas, checked against torchvision's
published figures.

For each model of ``torchvision.models.list_models(torchvision.models)`` (randomly
initialized; no weights are downloaded):

* ``from_torch(model, (1, 3, S, S))`` with ``S`` the crop size of the model's published
  weights (those with the smallest crop: 224 for most, 299 for Inception v3, 384 and more for
  some EfficientNets): seconds and CG nodes;
* the CG's parameter count against the weights' published ``num_params``;
* the CG's multiply-accumulates against the weights' published ``_ops`` (torchvision's
  "GFLOPS", which counts a multiply-add once);
* ``cg.to_torch()``: it runs on a batch of two, gives the model's output shape, and has the
  CG's parameter count;
* with ``--onnx``: the model exported to ONNX (``export_onnx``) and read back with
  ``from_onnx`` gives the same CG (``CompGraph.same_as``).

torchvision is not a dependency of cgnas, and PyPI's torchvision does not import beside the
CPU build of torch 2.13.0 that cgnas pins ("operator torchvision::nms does not exist"). Run
this script in an environment that has torch and a torchvision that import together, with
cgnas's other dependencies and the repository on ``PYTHONPATH``::

    python3 -m venv /tmp/tvenv
    /tmp/tvenv/bin/pip install torch==2.14.1 torchvision==0.29.1 torch-geometric==2.8.1 \\
        numpy==2.4.6 scipy==1.17.1 pandas==3.1.1 onnx==1.23.2 tqdm==4.70.1 matplotlib==3.11.2 networkx==3.6.1
    OMP_NUM_THREADS=1 PYTHONPATH=. /tmp/tvenv/bin/python benchmarks/torchvision_zoo.py \\
        [--models resnet18,vit_b_16] [--onnx] [--json]
    ... torchvision_zoo.py --report docs/results/torchvision_zoo.json docs/results/torchvision_zoo_onnx.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
import traceback
from typing import Any

import torch
import torchvision

from cgnas.graph.from_torch import from_torch
from cgnas.graph.onnx_io import export_onnx, from_onnx


def published(name: str) -> dict[str, Any]:
    """Crop size, ``num_params`` and ``_ops`` (GMACs) of ``name``'s published weights with the
    smallest crop (the default weights where several share it)."""
    enum = torchvision.models.get_model_weights(name)
    weights = min(enum, key=lambda w: (w.transforms.keywords["crop_size"], w is not enum.DEFAULT))
    return {"weights": weights.name, "size": weights.transforms.keywords["crop_size"],
            "params": weights.meta["num_params"], "gmacs": weights.meta["_ops"]}


def check(name: str, onnx: bool) -> dict[str, Any]:
    """Import ``name`` into a CG and compare it with the published figures and with the model
    (and, with ``onnx``, with the CG of its ONNX export)."""
    ref = published(name)
    # a ViT's position embedding is sized for one resolution: build it for the published one
    options = {"image_size": ref["size"]} if name.startswith("vit_") else {}
    model = torchvision.models.get_model(name, weights=None, **options).eval()
    shape = (1, 3, ref["size"], ref["size"])
    row: dict[str, Any] = {"model": name, "weights": ref["weights"], "input": ref["size"],
                           "params_published": ref["params"], "gmacs_published": ref["gmacs"]}
    start = time.perf_counter()
    cg = from_torch(model, shape)
    row.update(import_s=round(time.perf_counter() - start, 2), nodes=len(cg), params=cg.num_params(),
               gmacs=round(cg.macs() / 1e9, 3))
    row["params_equal"] = row["params"] == ref["params"]
    row["gmacs_rel_diff"] = round(row["gmacs"] / ref["gmacs"] - 1, 4)
    rebuilt = cg.to_torch().eval()
    with torch.no_grad():
        x = torch.randn(2, *shape[1:])
        row["rebuilt_output_ok"] = tuple(rebuilt(x).shape) == tuple(model(x).shape)
    row["rebuilt_params_equal"] = sum(p.numel() for p in rebuilt.parameters()) == row["params"]
    if onnx:
        with tempfile.TemporaryDirectory() as tmp:
            row["onnx_same"] = from_onnx(export_onnx(model, shape, Path(tmp) / "m.onnx")).same_as(cg)
    return row


def report(full: dict[str, Any], onnx: dict[str, Any]) -> str:
    """The markdown table of docs/notebook/2026-11_to_12-08.md 1.4: per torchvision module (family), counts of the
    rows of ``full`` (a ``--json`` result) and the ONNX agreement of ``onnx`` (one with ``--onnx``)."""
    same = {r["model"]: r["onnx_same"] for r in onnx["rows"] if "onnx_same" in r}
    families: dict[str, list[dict[str, Any]]] = {}
    for row in full["rows"]:
        module = torchvision.models.get_model_builder(row["model"]).__module__
        families.setdefault(module.rsplit(".", 1)[1], []).append(row)
    lines = ["| torchvision module | models | imported | params = published | MACs = published (3 decimals) "
             "| rebuilt by `to_torch()` | ONNX = torch | import s (max) |", "|---|---|---|---|---|---|---|---|"]
    for family, rows in sorted(families.items()):
        ok = [r for r in rows if "error" not in r]
        checked = [same[r["model"]] for r in ok if r["model"] in same]
        lines.append(" | ".join([
            f"| {family}", str(len(rows)), str(len(ok)), str(sum(r["params_equal"] for r in ok)),
            str(sum(r["gmacs"] == r["gmacs_published"] for r in ok)),
            str(sum(r["rebuilt_output_ok"] and r["rebuilt_params_equal"] for r in ok)),
            f"{sum(checked)} of {len(checked)}" if checked else "–",
            f"{max(r['import_s'] for r in ok):.1f} |" if ok else "– |"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", help="comma-separated names (default: every classification model)")
    parser.add_argument("--onnx", action="store_true", help="also compare with the CG of the ONNX export")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--report", nargs=2, metavar=("FULL.json", "ONNX.json"),
                        help="print the markdown table of two saved --json results (all models; --onnx) and exit")
    args = parser.parse_args(argv)
    if args.report:
        print(report(*(json.loads(Path(path).read_text()) for path in args.report)))
        return 0
    names = args.models.split(",") if args.models else torchvision.models.list_models(torchvision.models)
    torch.manual_seed(0)
    rows = []
    for name in names:
        try:
            rows.append(check(name, args.onnx))
        except Exception as error:  # a failure is a finding to report, not a reason to stop
            rows.append({"model": name, "error": f"{type(error).__name__}: {error}".splitlines()[0]})
            traceback.print_exc(file=sys.stderr)
        row = rows[-1]
        print(row.get("error") or (f"{name:<24} {row['nodes']:>5} nodes {row['import_s']:>6.1f} s  params "
                                   f"{'=' if row['params_equal'] else '≠'} {row['params']:>11,}  GMACs "
                                   f"{row['gmacs']:>7.3f} vs {row['gmacs_published']:>7.3f}  rebuilt "
                                   f"{'ok' if row['rebuilt_output_ok'] and row['rebuilt_params_equal'] else 'FAIL'}"
                                   f"{'' if 'onnx_same' not in row else '  onnx ' + str(row['onnx_same'])}"),
              file=sys.stderr, flush=True)
    ok = [r for r in rows if "error" not in r]
    summary = {"torch": torch.__version__, "torchvision": torchvision.__version__, "models": len(rows),
               "imported": len(ok), "params_equal": sum(r["params_equal"] for r in ok),
               "gmacs_within_1pct": sum(abs(r["gmacs_rel_diff"]) <= 0.01 for r in ok),
               "rebuilt_ok": sum(r["rebuilt_output_ok"] and r["rebuilt_params_equal"] for r in ok),
               "onnx_same": sum(r.get("onnx_same", False) for r in ok) if args.onnx else None, "rows": rows}
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print({k: v for k, v in summary.items() if k != "rows"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
