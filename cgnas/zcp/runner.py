"""Proxies of many architectures of a space, cached per architecture and resumable.

The cache is one append-only JSON-lines file per (space, weight seed, batch) under
``<cache root>/zcp/<space>/``; each line holds one architecture's canonical string, its CG
signature and the proxy values computed for it, and is flushed as soon as it is computed,
so an interrupted run loses at most the architecture in progress. Architectures whose CGs
are isomorphic (equal :meth:`~cgnas.graph.CompGraph.signature`, frequent in NB201) are
computed once. A failed architecture is logged with its error and retried by the next run.

Every network is built by ``space.to_cg(arch).to_torch()`` after ``torch.manual_seed(seed)``
and initialized as NASLib's networks of the space are (:mod:`cgnas.zcp.init`); ``params``
and ``flops`` are read off the CG
(:mod:`cgnas.graph.cost`, equal to the torch counts of :func:`~cgnas.zcp.compute`).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from scipy.stats import spearmanr
from tqdm import tqdm

from cgnas.data.cache import cache_dir
from cgnas.data.tables import benchmark
from cgnas.errors import CgnasError
from cgnas.graph.compgraph import CompGraph
from cgnas.zcp.batches import Batch, load_batch, synthetic_batch
from cgnas.zcp.init import INITS, init_name
from cgnas.zcp.proxies import check_proxies, compute

CACHE_VERSION = 1
"""Bump when a proxy's definition changes: older cache files are then ignored."""


class ProxyCache:
    """The append-only JSON-lines store of one (space, seed, batch)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.by_arch: dict[str, dict[str, float]] = {}
        self.by_sig: dict[str, dict[str, float]] = {}
        if path.is_file():
            for line in path.read_text().splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by an interrupt
                if not rec.get("error"):
                    self._index(rec)

    def _index(self, rec: dict[str, Any]) -> None:
        self.by_arch.setdefault(rec["arch"], {}).update(rec["values"])
        self.by_sig.setdefault(rec["sig"], {}).update(rec["values"])

    def add(self, arch: str, sig: str, values: dict[str, float], error: str | None = None) -> None:
        rec = {"arch": arch, "sig": sig, "values": values, "error": error}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell():  # a previous run may have been cut mid-line
                fh.seek(fh.tell() - 1)
                if fh.read(1) != "\n":
                    fh.write("\n")
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
        if not error:
            self._index(rec)


@dataclass
class ProxyScores:
    """Proxy values of a list of architectures (in the order given)."""

    space: str
    archs: list[str]
    """Canonical architecture strings."""
    values: dict[str, np.ndarray]
    """Proxy name -> ``[len(archs)]`` float64, NaN where the architecture failed."""
    errors: dict[int, str] = field(default_factory=dict)
    """Index of each failed architecture -> its error."""
    batch: str = ""
    cache_file: str = ""
    computed: int = 0
    """Networks evaluated by this call (the rest came from the cache)."""


def _network_values(space: str, cg: CompGraph, names: list[str], batch: Batch, seed: int) -> dict[str, float]:
    values = {}
    if "params" in names:
        values["params"] = float(cg.num_params())
    if "flops" in names:
        values["flops"] = float(cg.macs())
    rest = [n for n in names if n not in values]
    if rest:
        torch.manual_seed(seed)
        net = cg.to_torch()
        if space in INITS:
            INITS[space](net)
        values.update(compute(net, rest, batch))
    return values


def _io_shapes(cg: CompGraph) -> tuple[tuple[int, ...], int]:
    return tuple(cg.shapes[cg.input_nodes()[0]]), int(cg.shapes[cg.output_nodes()[0]][-1])


def run_proxies(space: str, archs: Sequence[Any], proxies: Sequence[str], *, seed: int = 0,
                cache_root: str | os.PathLike | None = None, data_dir: str | os.PathLike | None = None,
                data_batch: str | os.PathLike | Batch | None = None, progress: bool = False) -> ProxyScores:
    """Compute (or read from the cache) ``proxies`` for ``archs`` of ``space``.

    Args:
        archs: architecture strings (or parsed architectures, or NB101 dicts) of ``space``.
        seed: seeds the weights of every network and the synthetic batch.
        data_batch: a real batch (a :class:`Batch`, or an ``.npz``/``.npy`` file, see
            :func:`~cgnas.zcp.batches.load_batch`; a relative path not found here is looked
            for in ``data_dir``) instead of the synthetic one.

    Raises:
        CgnasError: an unknown proxy, an invalid architecture, an unreadable batch file.
        ShapeError: a data batch that does not fit the space's networks.
    """
    from cgnas.spaces import space as get_space

    names = check_proxies(proxies)
    sp = get_space(space)
    parsed = [sp.parse(a) if isinstance(a, (str, dict)) else a for a in archs]
    keys = [sp.format(a) for a in parsed]
    if isinstance(data_batch, (str, os.PathLike)):
        path = Path(data_batch)
        if not path.is_absolute() and not path.exists() and data_dir is not None:
            path = Path(data_dir) / path
        data_batch = load_batch(path, _io_shapes(sp.to_cg(parsed[0]))[1] if parsed else 10, seed)
    batches: dict[tuple[int, ...], Batch] = {}

    def batch_for(cg: CompGraph) -> Batch:
        shape, classes = _io_shapes(cg)
        if data_batch is not None:
            data_batch.check(shape, classes)
            return data_batch
        if shape not in batches:
            batches[shape] = synthetic_batch(shape, classes, seed)
        return batches[shape]

    ident = data_batch.ident if data_batch is not None else synthetic_batch((1, 1, 1), 1, seed).ident
    name = f"v{CACHE_VERSION}-seed{seed}-{init_name(space)}-{ident}.jsonl"
    cache = ProxyCache(cache_dir(cache_root) / "zcp" / space / name)
    if parsed:
        batch_for(sp.to_cg(parsed[0]))  # a batch that does not fit fails here, before any work
    values = {n: np.full(len(parsed), np.nan) for n in names}
    errors: dict[int, str] = {}
    computed = 0
    bar = tqdm(total=len(parsed), desc=f"zcp {space}", unit="arch", disable=not progress)
    for i, (arch, key) in enumerate(zip(parsed, keys)):
        known = dict(cache.by_arch.get(key, {}))
        if any(n not in known for n in names):
            error, sig = None, ""
            try:
                cg = sp.to_cg(arch)
                sig = cg.signature()
                new = {n: v for n, v in cache.by_sig.get(sig, {}).items() if n in names and n not in known}
                todo = [n for n in names if n not in known and n not in new]
                if todo:
                    new.update(_network_values(space, cg, todo, batch_for(cg), seed))
                    computed += 1
            except Exception as exc:  # recorded, and the run goes on
                error = f"{type(exc).__name__}: {exc}"
                errors[i] = error
                new = {}
            cache.add(key, sig, new, error)
            known.update(new)
        for n in names:
            values[n][i] = known.get(n, np.nan)
        bar.update(1)
        bar.set_postfix(computed=computed, failed=len(errors), refresh=False)
    bar.close()
    return ProxyScores(space, keys, values, errors, ident, str(cache.path), computed)


def score_archs(space: str, archs: list, proxies: list[str], *, seed: int = 0,
                cache_root: str | os.PathLike | None = None, data_dir: str | os.PathLike | None = None,
                data_batch: str | os.PathLike | Batch | None = None,
                progress: bool = False) -> dict[str, np.ndarray]:
    """One float64 array per proxy, aligned with ``archs``, NaN for failed architectures
    (see :func:`run_proxies`)."""
    return run_proxies(space, archs, proxies, seed=seed, cache_root=cache_root, data_dir=data_dir,
                       data_batch=data_batch, progress=progress).values


def spearman(scores: np.ndarray, labels: np.ndarray) -> tuple[float | None, int]:
    """Spearman correlation over the entries where ``scores`` is not NaN, and their number
    (infinite scores rank first or last)."""
    ok = ~np.isnan(scores)
    n = int(ok.sum())
    if n < 3 or np.all(scores[ok] == scores[ok][0]):
        return None, n
    return float(spearmanr(scores[ok], labels[ok]).statistic), n


def zcp_report(space: str, proxies: Sequence[str], *, archs: str = "table", metric: str | None = None,
               limit: int | None = None, seed: int = 0, cache_root: str | os.PathLike | None = None,
               data_dir: str | os.PathLike | None = None, data_batch: str | os.PathLike | None = None,
               part: tuple[int, int] = (1, 1), progress: bool = False) -> dict[str, Any]:
    """What ``cgnas zcp`` prints: proxies of a labeled set and their Spearman against its labels.

    ``archs="table"`` takes the space's benchmark table (labels: ``metric``);
    ``archs="naslib"`` NASLib's Suite-Zero set (labels: its ``val_accuracy``), and then also
    reports the Spearman between each proxy and NASLib's published value of it.
    ``limit`` keeps the first rows only. ``part=(k, n)`` keeps rows ``k-1, k-1+n, ...`` of
    those: n processes started with k = 1..n share a long run (each appends to the same cache),
    and a run without ``part`` afterwards reports the whole set from the cache.
    """
    from cgnas.zcp.naslib import naslib_reference

    names = check_proxies(proxies)
    if not 1 <= part[0] <= part[1]:
        raise CgnasError(f"part {part[0]}/{part[1]}: expected K/N with 1 <= K <= N, "
                         "e.g. 1/2 and 2/2 for two processes")
    reference = None
    if archs == "table":
        bench = benchmark(space, metric=metric, data_dir=data_dir)
        specs = [bench.spec(i) for i in range(len(bench) if limit is None else min(limit, len(bench)))]
        labels = bench.labels[:len(specs)]
        label_name = bench.metric
    elif archs == "naslib":
        specs, reference = naslib_reference(space, data_dir)
        specs = specs[:limit] if limit is not None else specs
        reference = reference.iloc[:len(specs)]
        labels = reference["val_accuracy"].to_numpy(dtype=np.float64)
        label_name = "naslib val_accuracy"
    else:
        raise CgnasError(f"--archs {archs!r}: choose 'table' (the benchmark) or 'naslib' (NASLib's Suite-Zero set)")
    rows_kept = slice(part[0] - 1, None, part[1])
    specs, labels = specs[rows_kept], labels[rows_kept]
    reference = reference.iloc[rows_kept] if reference is not None else None
    scores = run_proxies(space, specs, names, seed=seed, cache_root=cache_root, data_dir=data_dir,
                         data_batch=data_batch, progress=progress)
    rows = [{"arch": a, **{n: json_value(scores.values[n][i]) for n in names}, "label": float(labels[i])}
            for i, a in enumerate(scores.archs)]
    corr = {n: spearman(scores.values[n], labels) for n in names}
    report: dict[str, Any] = {
        "space": space, "part": f"{part[0]}/{part[1]}", "archs": rows,
        "spearman": {n: c[0] for n, c in corr.items()},
        "n": {n: c[1] for n, c in corr.items()}, "label": label_name, "seed": seed, "batch": scores.batch,
        "cache": scores.cache_file, "computed": scores.computed,
        "failed": [{"arch": scores.archs[i], "error": e} for i, e in sorted(scores.errors.items())]}
    if reference is not None:
        report["naslib_spearman"] = {
            n: spearman(scores.values[n], reference[n].to_numpy(dtype=np.float64))[0] if n in reference else None
            for n in names}
    return report


def json_value(value: float) -> float | None:
    """``value``, or None where it is not finite (JSON has no NaN or infinity)."""
    return float(value) if math.isfinite(value) else None
