"""Time of one contrastive pre-training epoch over all CGs of a space (cache built first).

    python benchmarks/pretrain_epoch.py [--space nb201] [--batch-size 256] [--cache-dir D] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from cgnas.data.cache import CGCache, labeled_graphs
from cgnas.model import Predictor
from cgnas.train.pretrain import PretrainConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--cache-dir")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    graphs, _ = labeled_graphs(args.space, None, args.cache_dir, progress=False)
    spectra = CGCache(args.space, root=args.cache_dir).spectra(progress=False)
    graphs.features()  # computed once per GraphSet, not per epoch
    pred = Predictor(seed=0)
    start = time.perf_counter()
    pred.pretrain(graphs, spectra, PretrainConfig(epochs=1, batch_size=args.batch_size), progress=False)
    seconds = time.perf_counter() - start
    result = {"space": args.space, "graphs": len(graphs), "epoch_seconds": round(seconds, 1),
              "threads": torch.get_num_threads(), "batch_size": args.batch_size}
    print(json.dumps(result) if args.json else
          f"one CL epoch over {len(graphs):,} {args.space} CGs: {seconds:.1f} s ({torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
