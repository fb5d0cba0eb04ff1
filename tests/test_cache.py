"""The CG cache: build in parallel, resume, reload, detect stale and corrupt caches."""

import json

import numpy as np
import pytest

import cgnas
from cgnas.data.cache import SHARD_ROWS, CGCache
from cgnas.errors import CacheError


@pytest.fixture()
def cache(tmp_path):
    return CGCache("nb201", root=tmp_path)


def test_build_resume_and_reload(cache):
    first = cache.build(limit=2 * SHARD_ROWS, workers=2, progress=False)
    assert first["graphs_built"] == 2 * SHARD_ROWS and first["shards_built"] == 2
    assert not first["complete"]
    with pytest.raises(CacheError, match="incomplete"):
        cache.load()
    # an interrupted build leaves whole shards only; a rerun builds just what is missing
    (cache.dir / "shard_00001.npz").unlink()
    again = cache.build(limit=2 * SHARD_ROWS, workers=1, progress=False)
    assert again["graphs_built"] == SHARD_ROWS
    graphs = cache.load(allow_partial=True)
    assert len(graphs) == 2 * SHARD_ROWS

    # cached graphs are the builder's graphs, in table order
    bench = cgnas.benchmark("nb201")
    space = cgnas.space("nb201")
    for g in (0, 123, 999):
        arch = bench.arch(g)
        direct = space.to_cg(arch).to_pyg()
        cached = graphs.pyg(g)
        assert graphs.keys[g] == space.key(arch)
        assert np.array_equal(cached.op.numpy(), direct.op.numpy())
        assert np.allclose(cached.x.numpy(), direct.x.numpy())
        assert np.array_equal(cached.edge_index.numpy(), direct.edge_index.numpy())


def test_stale_cache_is_rebuilt_not_misread(cache):
    cache.build(limit=10, workers=1, progress=False)
    meta_path = cache.dir / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["format_version"] = -1
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CacheError, match="stale"):
        cache.load(allow_partial=True)
    rebuilt = cache.build(limit=10, workers=1, progress=False)
    assert rebuilt["fresh"] and rebuilt["graphs_built"] == SHARD_ROWS


def test_corrupt_shard_is_a_clear_error(cache):
    cache.build(limit=10, workers=1, progress=False)
    (cache.dir / "shard_00000.npz").write_bytes(b"not a zip")
    with pytest.raises(CacheError, match="corrupt cache shard"):
        cache.load(allow_partial=True)


def test_missing_cache_is_a_clear_error(cache):
    with pytest.raises(CacheError, match="cgnas cache --space nb201"):
        cache.load()
