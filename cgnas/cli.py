"""The ``cgnas`` command line (DESIGN.md section 5).

Every command takes ``--json`` (one JSON object on stdout; progress and logs go to stderr)
and ``--data-dir``. A user error prints one ``error: ...`` line and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from cgnas.errors import CgnasError

EXIT_USAGE = 2


# ----------------------------------------------------------------- helpers
def _emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    """Print ``payload`` as JSON with ``--json``, else the human-readable ``text``."""
    print(json.dumps(payload) if args.json else text)


def _parse_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        raise CgnasError(f"--input-shape {text!r}: expected comma-separated integers such as 1,3,32,32") from None
    if not shape or any(v <= 0 for v in shape):
        raise CgnasError(f"--input-shape {text!r}: dimensions must be positive")
    return shape


def load_torch_factory(spec: str):
    """``pkg.module:factory`` -> an ``nn.Module`` (the factory is called without arguments
    when it is a class or function)."""
    import torch

    if ":" not in spec:
        raise CgnasError(f"--torch {spec!r}: expected 'package.module:factory', e.g. torchvision.models:resnet18")
    module_name, attr = spec.split(":", 1)
    sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CgnasError(f"--torch {spec!r}: cannot import {module_name!r} ({exc})") from exc
    finally:
        sys.path.pop(0)
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise CgnasError(f"--torch {spec!r}: {module_name} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not isinstance(obj, torch.nn.Module):
        if not callable(obj):
            raise CgnasError(f"--torch {spec!r}: {attr} is neither an nn.Module nor a factory")
        obj = obj()
    if not isinstance(obj, torch.nn.Module):
        raise CgnasError(f"--torch {spec!r}: the factory returned {type(obj).__name__}, not an nn.Module")
    return obj


def graph_from_args(args: argparse.Namespace):
    """The CG named by ``--space/--arch``, ``--torch/--input-shape`` or ``--onnx``."""
    chosen = [n for n in ("arch", "torch", "onnx") if getattr(args, n, None)]
    if len(chosen) != 1:
        raise CgnasError("give exactly one of --space S --arch A, --torch pkg.module:factory, or --onnx FILE")
    if args.arch:
        if not args.space:
            raise CgnasError("--arch needs --space (one of nb101, nb201, nb301, ofa_mbv3)")
        from cgnas.spaces import space
        sp = space(args.space)
        arch = sp.parse(args.arch)
        cg = sp.to_cg(arch)
        cg.name = f"{args.space}:{sp.format(arch)}"
        return cg
    if args.torch:
        from cgnas.graph.from_torch import from_torch
        if not args.input_shape:
            raise CgnasError("--torch needs --input-shape, e.g. 1,3,32,32")
        return from_torch(load_torch_factory(args.torch), _parse_shape(args.input_shape),
                          allow_unknown=args.allow_unknown, name=args.torch)
    from cgnas.graph.onnx_io import from_onnx
    return from_onnx(args.onnx, allow_unknown=args.allow_unknown, name=Path(args.onnx).name)


# ----------------------------------------------------------------- commands
def cmd_spaces(args: argparse.Namespace) -> None:
    from cgnas.data.paths import data_dir
    from cgnas.data.tables import TABLES, benchmark
    from cgnas.spaces import space, space_names

    rows = []
    for name in space_names():
        sp = space(name)
        entry: dict[str, Any] = {"name": name, "description": sp.description, "size": sp.size}
        table = TABLES.get(name)
        if table:
            entry["labeled_file"] = table.file
            entry["metrics"] = list(table.metrics)
            try:
                entry["labeled_rows"] = len(benchmark(name, data_dir=args.data_dir))
            except CgnasError as exc:
                entry["labeled_rows"] = None
                entry["problem"] = str(exc)
        rows.append(entry)
    lines = [f"data directory: {data_dir(args.data_dir)}"]
    for r in rows:
        size = f"{r['size']:,}" if r["size"] else "?"
        found = (f"{r['labeled_rows']:,} labeled ({r['labeled_file']})" if r.get("labeled_rows")
                 else f"labeled data missing: {r.get('problem', '')}")
        lines.append(f"{r['name']:<9} size {size:>9}  {found}\n          {r['description']}"
                     f"\n          metrics: {', '.join(r.get('metrics', []))}")
    _emit(args, {"data_dir": str(data_dir(args.data_dir)), "spaces": rows}, "\n".join(lines))


def cmd_cg(args: argparse.Namespace) -> None:
    cg = graph_from_args(args)
    summary = {"name": cg.name, "nodes": len(cg), "edges": cg.num_edges, "params": cg.num_params(),
               "macs": cg.macs(), "ops": dict(sorted(Counter(cg.ops).items())), "out": None}
    if args.out:
        out = Path(args.out)
        suffix = out.suffix.lower()
        if suffix == ".json":
            cg.save(out)
        elif suffix == ".dot":
            from cgnas.utils import atomic_write_text
            atomic_write_text(out, cg.to_dot())
        else:
            cg.draw(out)
        summary["out"] = str(out)
    text = (f"{cg.name}\n  {len(cg)} nodes, {cg.num_edges} edges, {summary['params']:,} params, "
            f"{summary['macs'] / 1e6:,.1f}M MACs\n  ops: "
            + ", ".join(f"{k} {v}" for k, v in summary["ops"].items())
            + (f"\n  wrote {summary['out']}" if summary["out"] else ""))
    _emit(args, summary, text)


def cmd_cache(args: argparse.Namespace) -> None:
    from cgnas.data.cache import CGCache
    from cgnas.data.tables import TABLES

    names = list(TABLES) if args.space == "all" else [s.strip() for s in args.space.split(",")]
    reports = []
    for name in names:
        cache = CGCache(name, root=args.cache_dir, data_dir=args.data_dir)
        report = cache.status() if args.status else cache.build(limit=args.limit, workers=args.workers,
                                                                 progress=not args.quiet)
        if report["complete"] or (args.limit and report["shards_built"]):
            start = time.perf_counter()
            graphs = cache.load(allow_partial=True)
            report["load_seconds"] = round(time.perf_counter() - start, 3)
            report["graphs_cached"] = len(graphs)
            report["mean_nodes"] = round(float(graphs.node_ptr[-1]) / len(graphs), 1)
            report["mean_edges"] = round(float(graphs.edge_ptr[-1]) / len(graphs), 1)
        reports.append(report)
    lines = []
    for r in reports:
        line = f"{r['space']}: {r['shards_built']}/{r['shards']} shards in {r['dir']}"
        if "graphs_built" in r:
            line += f"; built {r['graphs_built']:,} CGs in {r['seconds']} s"
            if r["graphs_per_s"]:
                line += f" ({r['graphs_per_s']:,} CG/s)"
        if "load_seconds" in r:
            line += (f"; {r['graphs_cached']:,} CGs reload in {r['load_seconds']} s, "
                     f"{r['mean_nodes']} nodes / {r['mean_edges']} edges on average")
        lines.append(line)
    _emit(args, {"caches": reports}, "\n".join(lines))


# ----------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    common.add_argument("--data-dir", default=None,
                        help="benchmark data directory (default: $CGNAS_DATA, else ../shared/data)")

    parser = argparse.ArgumentParser(prog="cgnas", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("spaces", parents=[common], help="search spaces, sizes, labeled data found")
    p.set_defaults(func=cmd_spaces)

    p = sub.add_parser("cg", parents=[common], help="build, summarize, draw or export a computational graph")
    add_graph_source(p)
    p.add_argument("--out", help="write the CG: .png/.svg/.pdf drawing, .json CG, .dot Graphviz")
    p.set_defaults(func=cmd_cg)

    p = sub.add_parser("cache", parents=[common], help="build the CG cache of labeled architectures")
    p.add_argument("--space", required=True, help="space name, comma-separated names, or 'all'")
    p.add_argument("--limit", type=int, help="cache only the first N rows of the table")
    p.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    p.add_argument("--cache-dir", help="cache directory (default: $CGNAS_CACHE, else ~/.cache/cgnas)")
    p.add_argument("--status", action="store_true", help="only report what is cached")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_cache)
    return parser


def add_graph_source(p: argparse.ArgumentParser) -> None:
    """The options naming one network: a benchmark architecture, a torch factory or ONNX."""
    p.add_argument("--space", help="search space of --arch")
    p.add_argument("--arch", help="architecture in the space's text form")
    p.add_argument("--torch", help="pkg.module:factory returning an nn.Module")
    p.add_argument("--input-shape", help="input shape for --torch, batch included, e.g. 1,3,32,32")
    p.add_argument("--onnx", help="an ONNX model file")
    p.add_argument("--allow-unknown", action="store_true",
                   help="map operators outside the vocabulary to the 'unknown' token instead of failing")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except CgnasError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted; finished work is kept (rerun to resume)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
