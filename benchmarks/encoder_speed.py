"""Training and prediction throughput of the graph encoders (``EncoderConfig.kind``) on NB201 CGs.

    python benchmarks/encoder_speed.py [--threads 1] [--space nb201] [--json]

Training: forward, backward and an Adam step of a default-size ``PredictorNet`` on batches of
64 random CGs (MSE on the z-scored labels), 20 batches timed after 2 warm-up batches.
Prediction: ``torch.no_grad`` forward on batches of 256. Collating the batches
(``GraphSet.batch``) is timed too, as in training; the per-set features and levels are
computed before. Also prints how many topological levels the CGs have: the DAG-flow encoder
takes two sequential steps per level of a batch's deepest graph.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from cgnas.data.cache import labeled_graphs
from cgnas.data.graphset import GraphSet
from cgnas.model import EncoderConfig, PredictorConfig, PredictorNet

KINDS = ("mean", "dagflow")


def train_throughput(graphs: GraphSet, labels: np.ndarray, kind: str, batch_size: int = 64,
                     batches: int = 20, warmup: int = 2) -> float:
    """Graphs per second of forward + backward + Adam step."""
    torch.manual_seed(0)
    net = PredictorNet(PredictorConfig(encoder=EncoderConfig(kind=kind))).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    y = torch.from_numpy(((labels - labels.mean()) / labels.std()).astype(np.float32))
    rng = np.random.default_rng(0)
    for i in range(warmup + batches):
        if i == warmup:
            start = time.perf_counter()
        idx = rng.choice(len(graphs), batch_size, replace=False)
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(net(graphs.batch(idx)), y[idx])
        loss.backward()
        optimizer.step()
    return batches * batch_size / (time.perf_counter() - start)


def predict_throughput(graphs: GraphSet, kind: str, batch_size: int = 256, batches: int = 10) -> float:
    """Graphs per second of a ``no_grad`` forward pass (one warm-up batch first)."""
    torch.manual_seed(0)
    net = PredictorNet(PredictorConfig(encoder=EncoderConfig(kind=kind))).eval()
    with torch.no_grad():
        net(graphs.batch(np.arange(batch_size)))
        start = time.perf_counter()
        for i in range(batches):
            net(graphs.batch(np.arange(i * batch_size, (i + 1) * batch_size)))
    return batches * batch_size / (time.perf_counter() - start)


def level_counts(graphs: GraphSet) -> np.ndarray:
    """``[G]`` number of topological levels (longest path + 1) of each graph."""
    return np.maximum.reduceat(graphs.levels(), graphs.node_ptr[:-1]) + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    graphs, labels = labeled_graphs(args.space, None, None, None, progress=False, limit=None)
    graphs.features()  # computed once per GraphSet, as in training
    start = time.perf_counter()
    levels = level_counts(graphs)
    levels_s = time.perf_counter() - start
    result = {"space": args.space, "graphs": len(graphs), "threads": args.threads,
              "nodes_median": float(np.median(graphs.num_nodes)),
              "levels_median": float(np.median(levels)), "levels_max": int(levels.max()),
              "levels_seconds": round(levels_s, 3)}
    for kind in KINDS:
        result[f"{kind}_train"] = round(train_throughput(graphs, labels, kind), 1)
        result[f"{kind}_predict"] = round(predict_throughput(graphs, kind), 1)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{len(graphs):,} {args.space} CGs: {result['nodes_median']:.0f} nodes, "
          f"{result['levels_median']:.0f} levels (median), {result['levels_max']} (max); "
          f"levels of all computed in {levels_s:.2f} s; {args.threads} thread(s)")
    print(f"{'encoder':<10}{'train graphs/s':>16}{'predict graphs/s':>18}")
    for kind in KINDS:
        print(f"{kind:<10}{result[f'{kind}_train']:>16.1f}{result[f'{kind}_predict']:>18.1f}")
    print(f"{'ratio':<10}{result['dagflow_train'] / result['mean_train']:>16.2f}"
          f"{result['dagflow_predict'] / result['mean_predict']:>18.2f}   (dagflow / mean throughput)")


if __name__ == "__main__":
    main()
