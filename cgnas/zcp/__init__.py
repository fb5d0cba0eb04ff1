"""Zero-cost proxies on the real benchmark networks (DESIGN.md section 3, baselines).

::

    from cgnas import zcp
    scores = zcp.score_archs("nb201", archs, ["synflow", "nwot"], seed=0)   # one array per proxy
    values = zcp.compute(net, ["snip", "params"], zcp.synthetic_batch((3, 32, 32), 10))
    values, errors = zcp.compute_each(net, zcp.PROXIES, zcp.network_batch(net, (3, 32, 32)))  # your own net
"""

from cgnas.zcp.batches import BATCH_SIZE, DATASETS, Batch, load_batch, synthetic_batch
from cgnas.errors import ProxyError
from cgnas.zcp.proxies import DATA_FREE, PROXIES, compute, compute_each, network_batch
from cgnas.zcp.runner import ProxyScores, run_proxies, score_archs

__all__ = ["PROXIES", "DATA_FREE", "compute", "compute_each", "network_batch", "score_archs", "run_proxies",
           "ProxyScores", "ProxyError", "Batch", "synthetic_batch", "load_batch", "DATASETS", "BATCH_SIZE"]
