"""On-disk cache of the CGs of a benchmark's labeled architectures.

Layout: ``<cache_dir>/<space>/`` holds ``meta.json`` and shards ``shard_00000.npz`` of
``SHARD_ROWS`` table rows each. A shard stores, for its graphs concatenated:

* ``raw``  ``[sum N, len(RAW_COLUMNS)]`` int32 node attributes (op index, shapes, kernel, ...),
* ``edges`` ``[2, sum E]`` int32 (source, consumer) indices local to each graph,
* ``num_nodes``, ``num_edges`` ``[G]``, ``keys`` ``[G]`` canonical architecture keys, and
  ``params``, ``macs`` ``[G]`` of each network.

Shards are written atomically, so an interrupted build resumes where it stopped. ``meta.json``
records the CG format version, the operator vocabulary, the space's builder version and a
digest of the table;
if any differs the cache is stale and is rebuilt rather than misread.

The cache directory is ``$CGNAS_CACHE`` or ``~/.cache/cgnas`` unless given.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
from tqdm import tqdm

from cgnas.data.graphset import GraphSet
from cgnas.data.paths import data_file
from cgnas.data.tables import TABLES, benchmark, row_spec
from cgnas.errors import CacheError, CgnasError
from cgnas.graph.compgraph import FORMAT_VERSION
from cgnas.graph.ops import OPS
from cgnas.graph.features import RAW_COLUMNS
from cgnas.utils import atomic_write, atomic_write_text

SHARD_ROWS = 500
SHARD_FIELDS = ("keys", "raw", "edges", "num_nodes", "num_edges", "params", "macs")
CACHE_ENV_VAR = "CGNAS_CACHE"


def cache_dir(explicit: str | os.PathLike | None = None) -> Path:
    """``explicit``, else ``$CGNAS_CACHE``, else ``~/.cache/cgnas``."""
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get(CACHE_ENV_VAR)
    return Path(env) if env else Path.home() / ".cache" / "cgnas"


def _table_digest(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _build_shard(space_name: str, specs: Sequence[Any], out: str) -> tuple[str, int, int]:
    """Build and save the CGs of ``specs``; runs in a worker process."""
    from cgnas.spaces import space

    sp = space(space_name)
    archs = [sp.parse(spec) for spec in specs]
    graphs = GraphSet.from_cgs([sp.to_cg(a) for a in archs], space_name, keys=[sp.key(a) for a in archs])

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, keys=graphs.keys, raw=graphs.raw, edges=graphs.edges,
                                num_nodes=graphs.num_nodes, num_edges=graphs.num_edges,
                                params=graphs.params, macs=graphs.macs)

    atomic_write(out, write)
    return out, int(graphs.node_ptr[-1]), int(graphs.edge_ptr[-1])


def _spectra_chunk(graphs: GraphSet, kind: str, length: int) -> np.ndarray:
    return graphs.spectra(kind, length)


class CGCache:
    """The CG cache of one space's labeled table.

    Args:
        space: ``nb101``, ``nb201``, ``nb301`` or ``ofa_mbv3``.
        root: cache directory (default :func:`cache_dir`).
        data_dir: benchmark data directory (default: see :mod:`cgnas.data.paths`).
    """

    def __init__(self, space: str, root: str | os.PathLike | None = None,
                 data_dir: str | os.PathLike | None = None) -> None:
        if space not in TABLES:
            raise CgnasError(f"no labeled table to cache for space {space!r}; choose one of {', '.join(TABLES)}")
        self.space = space
        self.data_dir = data_dir
        self.dir = cache_dir(root) / space
        self.table_path = data_file(TABLES[space].file, data_dir)

    # ------------------------------------------------------------ metadata
    def _expected_meta(self, n_rows: int) -> dict[str, Any]:
        from cgnas.spaces import space
        return {"space": self.space, "format_version": FORMAT_VERSION,
                "builder_version": space(self.space).builder_version,
                "raw_columns": list(RAW_COLUMNS), "vocabulary": list(OPS), "shard_rows": SHARD_ROWS,
                "shard_fields": list(SHARD_FIELDS),
                "table_sha1": _table_digest(self.table_path), "rows": n_rows}

    def _meta(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.dir / "meta.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def _shard_path(self, s: int) -> Path:
        return self.dir / f"shard_{s:05d}.npz"

    def status(self) -> dict[str, Any]:
        """Shards built so far and whether the cache matches the current builder and table."""
        meta = self._meta()
        n_rows = len(benchmark(self.space, data_dir=self.data_dir))
        fresh = meta == self._expected_meta(n_rows)
        n_shards = -(-n_rows // SHARD_ROWS)
        built = sum(self._shard_path(s).is_file() for s in range(n_shards)) if fresh else 0
        return {"space": self.space, "dir": str(self.dir), "rows": n_rows, "shards": n_shards,
                "shards_built": built, "fresh": fresh, "complete": fresh and built == n_shards}

    # --------------------------------------------------------------- build
    def build(self, limit: int | None = None, workers: int | None = None,
              progress: bool = True) -> dict[str, Any]:
        """Build missing shards (all rows, or those needed for the first ``limit`` rows).

        Returns statistics: graphs built, nodes and edges, seconds, graphs per second.
        """
        bench = benchmark(self.space, data_dir=self.data_dir)
        n_rows = len(bench)
        expected = self._expected_meta(n_rows)
        if self._meta() != expected:
            if self.dir.exists():
                shutil.rmtree(self.dir)
            self.dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.dir / "meta.json", json.dumps(expected, indent=1))
        wanted = n_rows if limit is None else min(max(limit, 0), n_rows)
        todo = [s for s in range(-(-wanted // SHARD_ROWS)) if not self._shard_path(s).is_file()]
        records = bench.table.to_dict("records")
        jobs = [(self.space, [row_spec(self.space, r) for r in records[s * SHARD_ROWS:(s + 1) * SHARD_ROWS]],
                 str(self._shard_path(s))) for s in todo]
        workers = max(1, min(workers or os.cpu_count() or 1, len(jobs) or 1))
        start = time.perf_counter()
        graphs = sum(len(j[1]) for j in jobs)
        nodes = edges = 0
        bar = tqdm(total=graphs, desc=f"cache {self.space}", unit="cg", disable=not progress)
        if workers == 1:
            results: Iterator = (_build_shard(*job) for job in jobs)
            pool = None
        else:
            pool = ProcessPoolExecutor(workers, mp_context=get_context("fork"))
            results = pool.map(_build_shard, *zip(*jobs)) if jobs else iter(())
        try:
            for (_, n, e), job in zip(results, jobs):
                nodes += n
                edges += e
                bar.update(len(job[1]))
        finally:
            bar.close()
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        seconds = time.perf_counter() - start
        return {"space": self.space, "graphs_built": graphs, "nodes": nodes, "edges": edges,
                "seconds": round(seconds, 2),
                "graphs_per_s": round(graphs / seconds, 1) if graphs else None, **self.status()}

    # ---------------------------------------------------------------- load
    def load(self, allow_partial: bool = False) -> GraphSet:
        """All cached graphs in table order.

        Raises:
            CacheError: the cache is missing, stale or incomplete (unless ``allow_partial``,
                which returns the rows of the shards built so far, in order, up to the first gap).
        """
        st = self.status()
        if not st["fresh"] or (not st["complete"] and not allow_partial):
            what = "stale (built by another cgnas version or from another table)" if self._meta() else "missing"
            if st["fresh"]:
                what = f"incomplete ({st['shards_built']}/{st['shards']} shards)"
            raise CacheError(f"CG cache of {self.space} in {self.dir} is {what}; "
                             f"run `cgnas cache --space {self.space}`")
        parts = []
        for s in range(st["shards"]):
            path = self._shard_path(s)
            if not path.is_file():
                break
            try:
                with np.load(path) as z:
                    parts.append({k: z[k] for k in SHARD_FIELDS})
            except (OSError, ValueError, KeyError) as exc:
                raise CacheError(f"corrupt cache shard {path} ({exc}); delete it and rerun "
                                 f"`cgnas cache --space {self.space}`") from exc
        if not parts:
            raise CacheError(f"CG cache of {self.space} in {self.dir} has no shard yet")
        return GraphSet.concat([GraphSet(self.space, p["keys"], p["raw"], p["edges"],
                                         np.concatenate([[0], np.cumsum(p["num_nodes"])]),
                                         np.concatenate([[0], np.cumsum(p["num_edges"])]),
                                         p["params"], p["macs"])
                                for p in parts])

    # ------------------------------------------------------------- spectra
    def spectra(self, kind: str = "normalized", length: int = 64, workers: int | None = None,
                progress: bool = True) -> np.ndarray:
        """``[G, length]`` Laplacian spectra of all cached graphs, computed once and stored.

        Raises:
            CacheError: the CG cache itself is missing, stale or incomplete.
        """
        graphs = self.load()
        path = self.dir / f"spectra_{kind}_{length}.npy"
        if path.is_file():
            try:
                stored = np.load(path)
                if stored.shape == (len(graphs), length):
                    return stored
            except (OSError, ValueError):
                pass  # unreadable: recompute below
        chunks = np.array_split(np.arange(len(graphs)), max(1, len(graphs) // 250))
        workers = max(1, min(workers or os.cpu_count() or 1, len(chunks)))
        parts: list[np.ndarray] = []
        with tqdm(total=len(graphs), desc=f"spectra {self.space}", unit="cg", disable=not progress) as bar:
            if workers == 1:
                for c in chunks:
                    parts.append(_spectra_chunk(graphs.subset(c), kind, length))
                    bar.update(len(c))
            else:
                with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
                    for c, part in zip(chunks, pool.map(_spectra_chunk, (graphs.subset(c) for c in chunks),
                                                        [kind] * len(chunks), [length] * len(chunks))):
                        parts.append(part)
                        bar.update(len(c))
        result = np.concatenate(parts)

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.save(fh, result)

        atomic_write(path, write)
        return result


def labeled_graphs(space: str, metric: str | None = None, cache_root: str | os.PathLike | None = None,
                   data_dir: str | os.PathLike | None = None, progress: bool = True,
                   limit: int | None = None) -> tuple[GraphSet, np.ndarray]:
    """The cached CGs of a benchmark and their labels, in table order; builds the cache if needed.

    With ``limit`` only the first ``limit`` rows are used (and built), for quick runs.
    """
    cache = CGCache(space, root=cache_root, data_dir=data_dir)
    labels = benchmark(space, metric=metric, data_dir=data_dir).labels
    if limit is None:
        if not cache.status()["complete"]:
            cache.build(progress=progress)
        return cache.load(), labels
    cache.build(limit=limit, progress=progress)
    graphs = cache.load(allow_partial=True)
    n = min(limit, len(graphs))
    return graphs.subset(np.arange(n)), labels[:n]


def table_spectra(space: str, graphs: GraphSet, kind: str = "normalized", length: int = 64,
                  limit: int | None = None, cache_root: str | os.PathLike | None = None,
                  data_dir: str | os.PathLike | None = None, progress: bool = True) -> np.ndarray:
    """``[len(graphs), length]`` Laplacian spectra of the ``graphs`` that :func:`labeled_graphs`
    returned: read from (or stored in) the cache for a whole table, computed on the fly for
    the first ``limit`` rows only."""
    if limit is not None:
        return graphs.spectra(kind, length)
    return CGCache(space, root=cache_root, data_dir=data_dir).spectra(kind, length, progress=progress)
