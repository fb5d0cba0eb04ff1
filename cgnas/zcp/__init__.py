"""Zero-cost proxies on the real benchmark networks (DESIGN.md section 3, baselines).

::

    from cgnas import zcp
    scores = zcp.score_archs("nb201", archs, ["synflow", "nwot"], seed=0)   # one array per proxy
    values = zcp.compute(net, ["snip", "params"], zcp.synthetic_batch((3, 32, 32), 10))
"""

from cgnas.zcp.batches import BATCH_SIZE, DATASETS, Batch, load_batch, synthetic_batch
from cgnas.zcp.proxies import DATA_FREE, PROXIES, ProxyError, compute
from cgnas.zcp.runner import ProxyScores, run_proxies, score_archs

__all__ = ["PROXIES", "DATA_FREE", "compute", "score_archs", "run_proxies", "ProxyScores", "ProxyError",
           "Batch", "synthetic_batch", "load_batch", "DATASETS", "BATCH_SIZE"]
