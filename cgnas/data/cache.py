"""On-disk cache of the CGs of a benchmark's labeled architectures.

Layout: ``<cache_dir>/<space>/`` holds ``meta.json`` and shards ``shard_00000.npz`` of
``SHARD_ROWS`` table rows each. A shard stores, for its graphs concatenated:

* ``raw``  ``[sum N, len(RAW_COLUMNS)]`` int32 node attributes (op index, shapes, kernel, ...),
* ``edges`` ``[2, sum E]`` int32 (source, consumer) indices local to each graph,
* ``num_nodes``, ``num_edges`` ``[G]`` int32 and ``keys`` ``[G]`` canonical architecture keys.

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
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from tqdm import tqdm

from cgnas.data.paths import data_file
from cgnas.data.tables import TABLES, benchmark, row_spec
from cgnas.errors import CacheError, CgnasError
from cgnas.graph.compgraph import FORMAT_VERSION
from cgnas.graph.ops import OPS
from cgnas.graph.features import RAW_COLUMNS, edge_index, features_from_raw, raw_node_columns
from cgnas.utils import atomic_write, atomic_write_text

SHARD_ROWS = 500
CACHE_ENV_VAR = "CGNAS_CACHE"


def cache_dir(explicit: str | os.PathLike | None = None) -> Path:
    """``explicit``, else ``$CGNAS_CACHE``, else ``~/.cache/cgnas``."""
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get(CACHE_ENV_VAR)
    return Path(env) if env else Path.home() / ".cache" / "cgnas"


@dataclass
class GraphSet:
    """Packed CGs of many architectures (one benchmark's rows, in table order).

    ``raw[node_ptr[g]:node_ptr[g+1]]`` are graph ``g``'s node attributes and
    ``edges[:, edge_ptr[g]:edge_ptr[g+1]]`` its edges (local indices).
    """

    space: str
    keys: np.ndarray
    raw: np.ndarray
    edges: np.ndarray
    node_ptr: np.ndarray
    edge_ptr: np.ndarray

    def __len__(self) -> int:
        return len(self.keys)

    def num_nodes(self, g: int) -> int:
        return int(self.node_ptr[g + 1] - self.node_ptr[g])

    def graph_arrays(self, g: int) -> tuple[np.ndarray, np.ndarray]:
        """``(raw [N, C], edges [2, E])`` of graph ``g``."""
        return (self.raw[self.node_ptr[g]:self.node_ptr[g + 1]],
                self.edges[:, self.edge_ptr[g]:self.edge_ptr[g + 1]])

    def pyg(self, g: int):
        """Graph ``g`` as a ``torch_geometric.data.Data`` (same fields as ``CompGraph.to_pyg``)."""
        from torch_geometric.data import Data

        raw, edges = self.graph_arrays(g)
        ops, feats = features_from_raw(raw)
        return Data(op=torch.from_numpy(ops), x=torch.from_numpy(feats),
                    edge_index=torch.from_numpy(edges.astype(np.int64)), num_nodes=len(raw))

    def __iter__(self) -> Iterator:
        return (self.pyg(g) for g in range(len(self)))


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
    keys, raws, edges, n_nodes, n_edges = [], [], [], [], []
    for spec in specs:
        arch = sp.parse(spec)
        cg = sp.to_cg(arch)
        keys.append(sp.key(arch))
        raws.append(raw_node_columns(cg))
        edges.append(edge_index(cg))
        n_nodes.append(len(cg))
        n_edges.append(cg.num_edges)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, keys=np.asarray(keys), raw=np.concatenate(raws).astype(np.int32),
                                edges=np.concatenate(edges, axis=1).astype(np.int32),
                                num_nodes=np.asarray(n_nodes, dtype=np.int32),
                                num_edges=np.asarray(n_edges, dtype=np.int32))

    atomic_write(out, write)
    return out, sum(n_nodes), sum(n_edges)


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
                    parts.append({k: z[k] for k in ("keys", "raw", "edges", "num_nodes", "num_edges")})
            except (OSError, ValueError, KeyError) as exc:
                raise CacheError(f"corrupt cache shard {path} ({exc}); delete it and rerun "
                                 f"`cgnas cache --space {self.space}`") from exc
        if not parts:
            raise CacheError(f"CG cache of {self.space} in {self.dir} has no shard yet")
        num_nodes = np.concatenate([p["num_nodes"] for p in parts])
        num_edges = np.concatenate([p["num_edges"] for p in parts])
        return GraphSet(self.space, np.concatenate([p["keys"] for p in parts]),
                        np.concatenate([p["raw"] for p in parts]),
                        np.concatenate([p["edges"] for p in parts], axis=1),
                        np.concatenate([[0], np.cumsum(num_nodes)]),
                        np.concatenate([[0], np.cumsum(num_edges)]))
