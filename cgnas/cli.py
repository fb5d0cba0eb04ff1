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
from typing import TYPE_CHECKING, Any, Sequence

from cgnas.errors import CgnasError, UnknownOperatorError

if TYPE_CHECKING:
    from torch import nn

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


def graph_source(args: argparse.Namespace) -> str:
    """Which of ``arch``, ``torch`` and ``onnx`` names the network: one clear error unless
    exactly one does (and ``--arch`` comes with ``--space``)."""
    chosen = [n for n in ("arch", "torch", "onnx") if getattr(args, n, None)]
    if len(chosen) != 1:
        raise CgnasError("give exactly one of --space S --arch A, --torch pkg.module:factory, or --onnx FILE")
    if chosen[0] == "arch" and not args.space:
        from cgnas.spaces import space_names
        raise CgnasError(f"--arch needs --space (one of {', '.join(space_names())})")
    return chosen[0]


def torch_network(args: argparse.Namespace) -> tuple[nn.Module, tuple[int, ...]]:
    """The module built by ``--torch`` and the input shape of ``--input-shape`` (batch included)."""
    if not args.input_shape:
        raise CgnasError("--torch needs --input-shape, e.g. 1,3,32,32")
    return load_torch_factory(args.torch), _parse_shape(args.input_shape)


def graph_from_args(args: argparse.Namespace):
    """The CG named by ``--space/--arch``, ``--torch/--input-shape`` or ``--onnx``."""
    if graph_source(args) == "arch":
        from cgnas.spaces import space
        sp = space(args.space)
        arch = sp.parse(args.arch)
        cg = sp.to_cg(arch)
        cg.name = f"{args.space}:{sp.format(arch)}"
        return cg
    try:
        if args.torch:
            from cgnas.graph.from_torch import from_torch
            net, input_shape = torch_network(args)
            return from_torch(net, input_shape, allow_unknown=args.allow_unknown, name=args.torch)
        from cgnas.graph.onnx_io import from_onnx
        return from_onnx(args.onnx, allow_unknown=args.allow_unknown, name=Path(args.onnx).name)
    except UnknownOperatorError as exc:  # name the flag, not the API argument
        raise UnknownOperatorError(str(exc.args[0]).replace("pass allow_unknown=True", "pass --allow-unknown")) from exc


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
        size = "?" if not r["size"] else f"{r['size']:,}" if r["size"] < 10**9 else f"{r['size']:.2e}"
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
        elif suffix == ".onnx":
            from cgnas.graph.onnx_io import export_onnx
            export_onnx(cg, None, out)
        elif suffix == ".pt2":
            from cgnas.graph.to_torch import save_exported
            save_exported(cg, out)
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


def _list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _ints(text: str, option: str) -> list[int]:
    try:
        return [int(t) for t in _list(text)]
    except ValueError:
        raise CgnasError(f"{option} {text!r}: expected comma-separated integers such as 0,10,50") from None


def _per_family(text: str) -> int | str:
    """``--source-per-family``: an integer (the config checks its range) or ``all``."""
    if text == "all":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or 'all', not {text!r}") from None


def _part(text: str) -> tuple[int, int]:
    try:
        k, n = (int(t) for t in text.split("/"))
    except ValueError:
        raise CgnasError(f"--part {text!r}: expected K/N such as 1/2") from None
    return k, n


def _pretrain_config(args: argparse.Namespace):
    from cgnas.train.contrastive import ContrastiveConfig
    from cgnas.train.pretrain import PretrainConfig

    return PretrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                          spectrum_kind=args.laplacian, spectrum_length=args.spectrum_length,
                          contrastive=ContrastiveConfig(temperature=args.temperature,
                                                        spectral_temperature=args.spectral_temperature,
                                                        num_positives=args.positives, weighting=args.weighting))


def cmd_pretrain(args: argparse.Namespace) -> None:
    from cgnas.pipeline import pretrain_on_spaces

    pred = pretrain_on_spaces(_list(args.spaces), args.out, _pretrain_config(args), seed=args.seed,
                              resume=args.resume, cache_root=args.cache_dir, data_dir=args.data_dir,
                              progress=not args.quiet, limit=args.limit)
    losses = pred.pretrain_progress["losses"]
    _emit(args, {"out": args.out, "epochs": len(losses), "losses": losses},
          f"pre-trained {len(losses)} epochs, loss {losses[0]:.4f} -> {losses[-1]:.4f}; wrote {args.out}")


def _train_config(args: argparse.Namespace, **defaults: Any):
    from cgnas.train.supervised import TrainConfig

    values = {k: getattr(args, k) for k in ("epochs", "batch_size", "lr", "label_norm", "loss")
              if getattr(args, k, None) is not None}
    return TrainConfig(**{**defaults, **values})


def cmd_train(args: argparse.Namespace) -> None:
    from cgnas.model.predictor import FIT_DEFAULT
    from cgnas.pipeline import train_on_sources

    train_on_sources(_list(args.sources), args.out, encoder=args.encoder, per_family=args.per_family,
                     config=_train_config(args, **FIT_DEFAULT.to_dict()), seed=args.seed, cache_root=args.cache_dir,
                     data_dir=args.data_dir, progress=not args.quiet, limit=args.limit)
    _emit(args, {"out": args.out, "sources": _list(args.sources)},
          f"trained on {args.sources} ({args.per_family} per family); wrote {args.out}")


def cmd_finetune(args: argparse.Namespace) -> None:
    from cgnas.model.predictor import FINETUNE_DEFAULT
    from cgnas.pipeline import finetune_on_target

    finetune_on_target(args.predictor, args.target, args.samples, args.out, seed=args.seed, metric=args.metric,
                       labels_csv=args.labels, config=_train_config(args, **FINETUNE_DEFAULT.to_dict()),
                       cache_root=args.cache_dir, data_dir=args.data_dir, progress=not args.quiet,
                       limit=args.limit)
    _emit(args, {"out": args.out, "target": args.target, "samples": args.samples},
          f"fine-tuned on {args.samples} {args.target} architectures; wrote {args.out}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    from cgnas.pipeline import evaluate_on_target

    result = evaluate_on_target(args.predictor, args.target, metric=args.metric, labels_csv=args.labels,
                                cache_root=args.cache_dir, data_dir=args.data_dir, progress=not args.quiet,
                                limit=args.limit)
    _emit(args, result, f"Spearman {result['spearman']:.4f}  Kendall {result['kendall']:.4f}  "
                        f"on {result['n']:,} architectures")


def cmd_transfer(args: argparse.Namespace) -> None:
    from dataclasses import replace

    from cgnas.experiments.transfer import run_transfer
    from cgnas.protocol import METHODS, OFA_TARGET, transfer_config

    ofa_options = {k: getattr(args, k) for k in ("pretrain_per_family", "pretrain_space_samples")
                   if getattr(args, k) is not None}
    options = dict(ofa_options)
    if args.source_per_family is not None:
        options["source_per_family"] = None if args.source_per_family == "all" else args.source_per_family
    if ofa_options and args.target != OFA_TARGET:
        raise CgnasError("--pretrain-per-family and --pretrain-space-samples are for --target ofa_mbv3 "
                         "(a NAS-Bench target pre-trains on its own table)")
    config = transfer_config(args.target, samples=tuple(_ints(args.samples, "--samples")), seeds=args.seeds,
                             metric=args.metric, methods=tuple(_list(args.methods)) if args.methods else METHODS,
                             table_limit=args.limit, proxies=tuple(_list(args.proxies)) if args.proxies else (),
                             ensemble=args.ensemble, **options)
    if args.pretrain_epochs is not None:
        config = replace(config, pretrain=replace(config.pretrain, epochs=args.pretrain_epochs))
    if args.encoder is not None:
        config = replace(config, predictor=replace(config.predictor, encoder=replace(config.predictor.encoder,
                                                                                     kind=args.encoder)))
    if args.weighting:
        config = replace(config, pretrain=replace(config.pretrain, contrastive=replace(
            config.pretrain.contrastive, weighting=args.weighting)))
    log = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    result = run_transfer(config, cache_root=args.cache_dir, data_dir=args.data_dir,
                          progress=not args.quiet, log=log, out=args.out)
    if args.plot_dir:
        from cgnas.experiments.plots import plot_transfer
        result["plots"] = [str(p) for p in plot_transfer(result, args.plot_dir)]
    width = max(12, *(len(r["method"]) + 1 for r in result["rows"]))
    header = f"{'method':<{width}} {'k':>4}  {'SRCC':>15}  {'Kendall':>15}  seeds"
    lines = [f"target {result['target']} ({result['metric']}), evaluated on {result['eval_size']:,}", header]
    for r in result["rows"]:
        lines.append(f"{r['method']:<{width}} {r['samples']:>4}  {r['spearman_mean']:.3f} ± {r['spearman_std']:.3f}"
                     f"    {r['kendall_mean']:.3f} ± {r['kendall_std']:.3f}  {r['seeds']}"
                     + (f"  (proxy joined on {r['proxy_joined']})" if "proxy_joined" in r else "")
                     + (f"  (chosen: {_chosen(r['proxies_chosen'])})" if "proxies_chosen" in r else ""))
    _emit(args, {k: result[k] for k in ("target", "metric", "rows")}, "\n".join(lines))


def _chosen(counts: dict[str, int]) -> str:
    """``synflow 5, params 3``: how many seeds chose each proxy, most chosen first."""
    return ", ".join(f"{p} {n}" for p, n in sorted(counts.items(), key=lambda pn: -pn[1])) or "none"


def cmd_predict(args: argparse.Namespace) -> None:
    from cgnas.pipeline import predict_with_percentile

    cg = graph_from_args(args)
    result = predict_with_percentile(args.predictor, cg, target=args.target, cache_root=args.cache_dir,
                                     data_dir=args.data_dir, progress=not args.quiet, limit=args.limit)
    text = f"{cg.name}: predicted {result['prediction']:.4f} ({result['units']})"
    if result.get("percentile") is not None:
        text += f", percentile {result['percentile']:.1f} among {result['target']} ({result['n']:,} architectures)"
    _emit(args, result, text)


def cmd_zcp(args: argparse.Namespace) -> None:
    from cgnas.zcp import PROXIES
    from cgnas.zcp.runner import zcp_report

    proxies = list(PROXIES) if args.proxies == "all" else _list(args.proxies)
    if args.arch or args.torch or args.onnx:
        _zcp_network(args, proxies)
        return
    if not args.space:
        raise CgnasError("give --space S (its benchmark table), --space S --arch A, "
                         "--torch pkg.module:factory --input-shape 1,C,H,W, or --onnx FILE")
    report = zcp_report(args.space, proxies, archs=args.archs, metric=args.metric, limit=args.limit,
                        seed=args.seed, cache_root=args.cache_dir, data_dir=args.data_dir,
                        data_batch=args.data_batch, part=_part(args.part), progress=not args.quiet)
    for failed in report["failed"]:
        print(f"warning: {failed['arch']} failed: {failed['error']}", file=sys.stderr)
    naslib = report.get("naslib_spearman")
    part = "" if report["part"] == "1/1" else f" (part {report['part']})"
    lines = [f"{args.space}{part}: {len(report['archs']):,} architectures, label {report['label']}, "
             f"batch {report['batch']}, {len(report['failed'])} failed",
             f"{'proxy':<10} {'SRCC':>7} {'n':>7}" + ("  SRCC vs NASLib" if naslib else "")]
    for p in proxies:
        rho = report["spearman"][p]
        line = f"{p:<10} {'-' if rho is None else f'{rho:.4f}':>7} {report['n'][p]:>7}"
        if naslib:
            line += f"  {'-' if naslib[p] is None else f'{naslib[p]:.4f}':>15}"
        lines.append(line)
    _emit(args, report, "\n".join(lines))


def _zcp_network(args: argparse.Namespace, proxies: list[str]) -> None:
    """``cgnas zcp`` of one network: its proxy values (there is no accuracy to rank against).

    A benchmark architecture is computed as in a table run (same initialization, same cache);
    a ``--torch`` network is the user's own module as its factory builds it after
    ``torch.manual_seed(--seed)``; an ``--onnx`` graph is rebuilt by ``to_torch()`` with fresh
    PyTorch-default weights (proxies score untrained networks).
    """
    import torch

    from cgnas.zcp import compute_each, network_batch, run_proxies
    from cgnas.zcp.proxies import check_proxies
    from cgnas.zcp.runner import json_value

    if args.archs != "table" or args.part != "1/1":
        raise CgnasError("--archs and --part apply to a space's table, not to one network")
    if args.space and not args.arch:
        raise CgnasError("--space goes with --arch (or alone, for its table), not with --torch or --onnx")
    source = graph_source(args)
    check_proxies(proxies)
    if source == "arch":
        scores = run_proxies(args.space, [args.arch], proxies, seed=args.seed, cache_root=args.cache_dir,
                             data_dir=args.data_dir, data_batch=args.data_batch)
        if scores.errors:
            raise CgnasError(f"{args.space} {scores.archs[0]}: {scores.errors[0]}")
        name, batch_ident = f"{args.space}:{scores.archs[0]}", scores.batch
        values, errors = {n: float(scores.values[n][0]) for n in proxies}, {}
    else:
        torch.manual_seed(args.seed)
        if source == "torch":
            net, input_shape = torch_network(args)
            image_shape, name = input_shape[1:], args.torch
        else:
            cg = graph_from_args(args)
            net, image_shape, name = cg.to_torch(), tuple(cg.shapes[cg.input_nodes()[0]]), cg.name
        batch = network_batch(net, image_shape, seed=args.seed, data_batch=args.data_batch)
        values, errors = compute_each(net, proxies, batch)
        batch_ident = batch.ident
    if not values:
        raise CgnasError(f"no proxy could be computed on {name}; {next(iter(errors))}: {next(iter(errors.values()))}")
    for proxy, error in errors.items():
        print(f"warning: {proxy} failed on {name}: {error}", file=sys.stderr)
    report = {"network": name, "batch": batch_ident, "seed": args.seed,
              "values": {p: json_value(values[p]) if p in values else None for p in proxies}, "errors": errors}
    lines = [f"{name}: batch {batch_ident}, seed {args.seed}", f"{'proxy':<10} {'value':>12}"]
    lines += [f"{p:<10} {'-' if v is None else f'{v:.6g}':>12}" for p, v in report["values"].items()]
    _emit(args, report, "\n".join(lines))


def cmd_search(args: argparse.Namespace) -> None:
    from dataclasses import replace

    from cgnas.experiments.search import SearchConfig, run_search
    from cgnas.search import EvolutionConfig
    from cgnas.search.scorers import SEARCH_FINETUNE

    evolution = EvolutionConfig(**{k: getattr(args, k) for k in ("population", "tournament", "candidates",
                                                                 "per_generation") if getattr(args, k) is not None})
    finetune = replace(SEARCH_FINETUNE, **{k: v for k, v in (("epochs", args.finetune_epochs),
                                                             ("lr", args.finetune_lr)) if v is not None})
    config = SearchConfig(space=args.space, method=args.method, queries=args.queries,
                          seeds=tuple(range(args.first_seed, args.first_seed + args.seeds)), evolution=evolution,
                          finetune=finetune, predictor=args.predictor, build_seed=args.predictor_seed,
                          metric=args.metric, limit=args.limit, max_macs=args.max_macs,
                          fill_budget=args.fill_budget,
                          resolutions=tuple(_ints(args.resolutions, "--resolutions")) if args.resolutions else None)
    log = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    result = run_search(config, out_dir=args.out, cache_root=args.cache_dir, data_dir=args.data_dir,
                        progress=not args.quiet, log=log)
    if result["pool_size"] is None:
        budget = "" if args.max_macs is None else f" within {args.max_macs:g}M MACs"
        lines = [f"{result['space']} {result['method']}: {args.queries} queries of {result['metric']}{budget}",
                 f"{'seed':>4}  {'best':>8}  {'MACs (M)':>8}  {'query':>5}  arch"]
        lines += [f"{run['seed']:>4}  {run['best']['label']:>8.4g}  {run['best']['macs'] / 1e6:>8.1f}  "
                  f"{run['best']['query']:>5}  {run['best']['arch']}" for run in result["runs"]]
    else:
        lines = [f"{result['space']} {result['method']}: {args.queries} queries of {result['metric']}, pool of "
                 f"{result['pool_size']:,} (its best {result['pool_best']:.4g})",
                 f"{'seed':>4}  {'best':>8}  {'rank':>6}  {'test':>8}  {'query':>5}"]
        for run in result["runs"]:
            b = run["best"]
            test = "-" if b["test"] is None else f"{b['test']:.4g}"
            lines.append(f"{run['seed']:>4}  {b['label']:>8.4g}  {b['rank']:>6}  {test:>8}  {b['query']:>5}")
    if args.plot_dir:
        from cgnas.experiments.search_plots import load_logs, plot_search, summarize

        if args.out is None:
            raise CgnasError("--plot-dir plots the logs in --out; give --out too")
        runs, pool = load_logs(args.out, args.space)
        result["summary"] = summarize(runs, pool, args.queries)
        result["plots"] = [str(plot_search(runs, pool, args.space, args.queries, args.plot_dir))]
        lines += [f"every method logged in {args.out} (medians over seeds):"]
        lines += [json.dumps(row) for row in result["summary"]]
    _emit(args, result, "\n".join(lines))


def cmd_ofa_compare(args: argparse.Namespace) -> None:
    from cgnas.experiments.ofa_compare import compare, plot_compare

    result = compare(_list(args.logs), queries=args.queries, data_dir=args.data_dir)
    if args.plot_dir:
        result["plots"] = [str(plot_compare(result, args.plot_dir))]
    names = [[f"{m['method']} ({m['seeds']} seeds)" for m in b["methods"]] for b in result["budgets"]]
    width = max([20] + [len(n) + 1 for ns in names for n in ns])
    header = (f"{'budget':>7}  {'net or method':<{width}} {'MACs (M)':>9}  {'oracle top-1':>20}  {'published':>9}  "
              "beats it")
    lines = [result["note"], header]
    for b, method_names in zip(result["budgets"], names):
        pub = b["published"]
        lines.append(f"{b['max_macs']:>6g}M  {pub['name'].split('_')[0]:<{width}} {pub['macs_m']:>9.1f}  "
                     f"{pub['oracle']:>20.2f}  {pub['published_top1']:>9.1f}")
        for m, name in zip(b["methods"], method_names):
            iqr = f"{m['best_median']:.2f} [{m['best_iqr'][0]:.2f}, {m['best_iqr'][1]:.2f}]"
            lines.append(f"{'':>7}  {name:<{width}} "
                         f"{m['median_run']['macs_m']:>9.1f}  {iqr:>20}  {'-':>9}  "
                         f"{'yes' if m['beats_published'] else 'no'}")
    lines += [f"wrote {p}" for p in result.get("plots", [])]
    _emit(args, result, "\n".join(lines))


# ----------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    common.add_argument("--data-dir", default=None,
                        help="benchmark data directory (default: $CGNAS_DATA, else ../shared/data)")
    cached = argparse.ArgumentParser(add_help=False)
    cached.add_argument("--cache-dir", help="CG cache directory (default: $CGNAS_CACHE, else ~/.cache/cgnas)")
    cached.add_argument("--quiet", action="store_true", help="no progress bars")
    cached.add_argument("--limit", type=int, help="use only the first N rows of each benchmark table (quick runs)")
    training = argparse.ArgumentParser(add_help=False)
    training.add_argument("--epochs", type=int)
    training.add_argument("--batch-size", type=int)
    training.add_argument("--lr", type=float)
    training.add_argument("--label-norm", choices=("zscore", "rank"))
    training.add_argument("--loss", choices=("mse", "pairwise", "mse+pairwise"))

    parser = argparse.ArgumentParser(prog="cgnas", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("spaces", parents=[common], help="search spaces, sizes, labeled data found")
    p.set_defaults(func=cmd_spaces)

    p = sub.add_parser("cg", parents=[common], help="build, summarize, draw or export a computational graph")
    add_graph_source(p)
    p.add_argument("--out", help="write the CG: .png/.svg/.pdf drawing, .json CG, .dot Graphviz, or the network "
                                 "(fresh weights): .onnx ONNX, .pt2 torch.export program "
                                 "(torch.export.load(F).module() runs it)")
    p.set_defaults(func=cmd_cg)

    p = sub.add_parser("cache", parents=[common, cached], help="build the CG cache of labeled architectures")
    p.add_argument("--space", required=True, help="space name, comma-separated names, or 'all'")
    p.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    p.add_argument("--status", action="store_true", help="only report what is cached")
    p.set_defaults(func=cmd_cache)

    p = sub.add_parser("pretrain", parents=[common, cached], help="contrastive pre-training of the encoder")
    p.add_argument("--spaces", required=True, help="comma-separated spaces whose CGs to pre-train on")
    p.add_argument("--out", required=True, help="checkpoint, written after every epoch")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--positives", type=int, default=4, help="|P(i)|: spectrally closest graphs used as positives")
    p.add_argument("--temperature", type=float, default=0.1, help="tau of the similarity softmax")
    p.add_argument("--spectral-temperature", type=float, default=0.05, help="tau_s of the positive weights")
    p.add_argument("--weighting", choices=("spectral", "uniform"), default="spectral")
    p.add_argument("--laplacian", choices=("normalized", "combinatorial"), default="normalized")
    p.add_argument("--spectrum-length", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from --out")
    p.set_defaults(func=cmd_pretrain)

    p = sub.add_parser("train", parents=[common, cached, training], help="train the head on source families")
    p.add_argument("--encoder", help="pre-trained checkpoint (omit for the no-CL baseline)")
    p.add_argument("--sources", required=True, help="comma-separated source families")
    p.add_argument("--per-family", type=int, default=4000, help="labeled CGs drawn from each source")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("finetune", parents=[common, cached, training], help="fine-tune on k target labels")
    p.add_argument("--predictor", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--samples", type=int, required=True, help="k labeled target architectures")
    p.add_argument("--metric", help="target metric (default: the experiment's)")
    p.add_argument("--labels", help="CSV of your own labeled architectures instead of the benchmark")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("evaluate", parents=[common, cached], help="rank correlation on a target family")
    p.add_argument("--predictor", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--metric")
    p.add_argument("--labels", help="CSV: the space's architecture columns plus a 'label' column")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("transfer", parents=[common, cached], help="experiment 1: transfer rank correlation")
    p.add_argument("--target", required=True)
    p.add_argument("--samples", default="0,10,20,50,100")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--metric")
    p.add_argument("--methods", help="comma-separated subset of cl,gnn,target_only,ridge,params,flops")
    p.add_argument("--source-per-family", type=_per_family,
                   help="labeled CGs of each source family the head trains on, or 'all' (default 4000)")
    p.add_argument("--pretrain-epochs", type=int)
    p.add_argument("--encoder",
                   help="graph encoder of cl and gnn: mean (local bidirectional mean layers, the default) or "
                        "dagflow (propagation along the data flow through the whole CG, forward and backward)")
    p.add_argument("--weighting", choices=("spectral", "uniform"), help="positive weighting of CL")
    p.add_argument("--pretrain-per-family", type=int,
                   help="ofa_mbv3: random CGs of each NAS-Bench table that CL pre-trains on (default 5000)")
    p.add_argument("--pretrain-space-samples", type=int,
                   help="ofa_mbv3: CGs sampled from the OFA space that CL pre-trains on besides (default 5000)")
    p.add_argument("--proxies", help="zero-cost proxies as extra baselines, e.g. synflow,nwot or flops "
                                     "(computed on every target architecture and cached; see `cgnas zcp`); cl and gnn "
                                     "are also scored blended with each (rows cl+synflow, ...) where the k labels "
                                     "vouch for the proxy")
    p.add_argument("--ensemble", action="store_true",
                   help="with several --proxies: also the rows zc (the proxies that forward selection on the k "
                        "labels picks, rank-blended) and cl+zc, gnn+zc, target_only+zc (each predictor blended "
                        "with the proxies picked against its out-of-fold predictions; 5 more fine-tunings per k)")
    p.add_argument("--out", help="write the full result (per-seed rows, config) as JSON after every seed; "
                                 "rerunning with the same settings resumes after the last finished seed")
    p.add_argument("--plot-dir", help="save plots (SRCC against k, predicted against true) here")
    p.set_defaults(func=cmd_transfer)

    p = sub.add_parser("predict", parents=[common, cached], help="predict the accuracy of one network")
    p.add_argument("--predictor", required=True)
    p.add_argument("--target", help="family for the percentile (default: the one fine-tuned on)")
    add_graph_source(p)
    p.set_defaults(func=cmd_predict)
    p = sub.add_parser("zcp", parents=[common, cached],
                       help="zero-cost proxies of a space's table (with their Spearman against accuracy) "
                            "or of one network")
    add_graph_source(p, space_help="a space with a benchmark table (see `cgnas spaces`): alone, its table; "
                     "with --arch, one architecture")
    p.add_argument("--proxies", default="all", help="comma-separated subset of params,flops,synflow,snip,"
                   "grad_norm,fisher,grasp,jacov,nwot,zen, or 'all'")
    p.add_argument("--archs", choices=("table", "naslib"), default="table",
                   help="the benchmark table (default) or NASLib's Suite-Zero set (adds SRCC vs NASLib's values)")
    p.add_argument("--metric", help="label of the benchmark table (default: the space's first metric)")
    p.add_argument("--data-batch", help="real batch: .npz with images [N,C,H,W] and labels [N], or .npy images")
    p.add_argument("--seed", type=int, default=0, help="seeds the weights and the synthetic batch")
    p.add_argument("--part", default="1/1", help="K/N: only every N-th architecture, from the K-th, so that N "
                   "processes share a long run; afterwards a run without --part reports all from the cache")
    p.set_defaults(func=cmd_zcp)
    p = sub.add_parser("search", parents=[common, cached], help="experiment 2: predictor-guided evolutionary search")
    p.add_argument("--space", required=True)
    p.add_argument("--method", required=True,
                   help="cl or gnn: the fine-tuned predictor (with or without CL); synflow; cl+synflow or "
                        "gnn+synflow: their rank blend; ridge: ridge regression on CG descriptors, refitted on the "
                        "queries (cl+ridge, gnn+ridge: blended with the predictor); ridge-measured (ofa_mbv3): the "
                        "ridge on the residuals of a ridge fitted on the 364 measured subnets; evolution: plain "
                        "evolution on the oracle; random")
    p.add_argument("--queries", type=int, default=100, help="query budget of each run")
    p.add_argument("--seeds", type=int, default=10, help="number of runs, seeds --first-seed, --first-seed + 1, ...")
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--out", help="directory of the JSON query logs, one per run; rerunning resumes from them")
    p.add_argument("--plot-dir", help="plot and summarize every method logged in --out for this space")
    p.add_argument("--predictor", help="source predictor checkpoint (default: built as `transfer` does, cached)")
    p.add_argument("--predictor-seed", type=int, default=0, help="seed of the built source predictor")
    p.add_argument("--metric", help="label queried (default: the experiment's)")
    p.add_argument("--population", type=int, help="aging population (default 20)")
    p.add_argument("--tournament", type=int, help="members compared to pick a parent (default 5)")
    p.add_argument("--candidates", type=int, help="children ranked per generation (default 200)")
    p.add_argument("--per-generation", type=int, help="children queried per generation (default 10)")
    p.add_argument("--finetune-epochs", type=int, help="epochs of the per-generation fine-tuning (default 30)")
    p.add_argument("--finetune-lr", type=float, help="learning rate of the per-generation fine-tuning (default 1e-3)")
    p.add_argument("--max-macs", type=float, help="ofa_mbv3: MACs budget in millions (of the real network at its "
                                                  "resolution); one --out directory per budget")
    p.add_argument("--no-fill-budget", dest="fill_budget", action="store_false",
                   help="with --max-macs: propose uniform draws within the budget instead of growing each "
                        "proposal until it fills the budget")
    p.add_argument("--resolutions", help="ofa_mbv3: comma-separated input resolutions to search (default "
                                         "128..224 step 4; OFA's own search used 160,176,192,208,224)")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ofa-compare", parents=[common],
                       help="experiment 3: searched ofa_mbv3 subnets beside OFA's published ones, same oracle")
    p.add_argument("--logs", required=True, help="comma-separated search --out directories, one per MACs budget")
    p.add_argument("--queries", type=int, default=100, help="best subnet within the first N queries of each run")
    p.add_argument("--plot-dir", help="save the accuracy-vs-MACs plot here")
    p.set_defaults(func=cmd_ofa_compare)
    return parser


def add_graph_source(p: argparse.ArgumentParser, space_help: str = "search space of --arch") -> None:
    """The options naming one network: a benchmark architecture, a torch factory or ONNX."""
    p.add_argument("--space", help=space_help)
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
