"""Compare fine-tuning recipes on one target split, from one source-trained predictor.

    python benchmarks/finetune_recipes.py --target nb201 --k 50 --seeds 0,1 [--source-model cl_nb201.pt]
        [--recipes 6,7,8] [--cache-dir D] [--json]

Without ``--source-model`` the CL predictor is made as in ``cgnas transfer`` (seed 0: CL on the
target's CGs, then 4,000 labeled CGs of each other family) and saved to
``<cache-dir or .>/cl_<target>.pt`` for reuse. Each recipe fine-tunes a copy on the first k
architectures of the seed's permutation (as in the transfer experiment) and is scored by
Spearman on all architectures outside the first 100.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cgnas.data.cache import CGCache, labeled_graphs
from cgnas.model import Predictor
from cgnas.protocol import FAMILIES, TARGET_METRIC, source_graphs, split_order
from cgnas.ranking import rank_scores
from cgnas.train.pretrain import PretrainConfig
from cgnas.train.supervised import TrainConfig

RECIPES = {
    "zscore, mse, encoder 0.2x, lr 5e-4": TrainConfig(epochs=100, batch_size=16, lr=5e-4, encoder_lr_scale=0.2),
    "rank, mse, frozen encoder": TrainConfig(epochs=50, batch_size=16, lr=5e-4, encoder_lr_scale=0.0,
                                             label_norm="rank"),
    "rank, mse+pairwise, frozen encoder": TrainConfig(epochs=50, batch_size=16, lr=5e-4, encoder_lr_scale=0.0,
                                                      label_norm="rank", loss="mse+pairwise"),
    "rank, mse+pairwise, encoder 0.1x": TrainConfig(epochs=50, batch_size=16, lr=5e-4, encoder_lr_scale=0.1,
                                                    label_norm="rank", loss="mse+pairwise"),
    "rank, pairwise, encoder 0.1x, lr 1e-3": TrainConfig(epochs=100, batch_size=16, lr=1e-3, encoder_lr_scale=0.1,
                                                         label_norm="rank", loss="pairwise"),
    "rank, mse+pairwise, whole network, lr 1e-3": TrainConfig(epochs=100, batch_size=16, lr=1e-3,
                                                              label_norm="rank", loss="mse+pairwise"),
    "rank, mse+pairwise, whole network, lr 3e-4": TrainConfig(epochs=100, batch_size=16, lr=3e-4,
                                                              label_norm="rank", loss="mse+pairwise"),
    "rank, mse+pairwise, whole network, 30 epochs": TrainConfig(epochs=30, batch_size=16, lr=1e-3,
                                                                label_norm="rank", loss="mse+pairwise"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="nb201")
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--source-model")
    parser.add_argument("--cache-dir")
    parser.add_argument("--recipes", help="comma-separated recipe numbers (1-based, in the order above); default all")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    graphs, labels = labeled_graphs(args.target, TARGET_METRIC[args.target], args.cache_dir, progress=False)
    model_path = Path(args.source_model or Path(args.cache_dir or ".") / f"cl_{args.target}.pt")
    if model_path.is_file():
        base = Predictor.load(model_path)
    else:
        base = Predictor(seed=0)
        base.pretrain(graphs, CGCache(args.target, root=args.cache_dir).spectra(progress=False),
                      PretrainConfig(epochs=3), progress=False)
        src, y, fam = source_graphs([f for f in FAMILIES if f != args.target], 4000, 0, args.cache_dir, None, False)
        base.fit(src, y, fam, TrainConfig(epochs=8), progress=False)
        base.save(model_path)
    recipes = list(RECIPES.items())
    if args.recipes:
        recipes = [recipes[int(i) - 1] for i in args.recipes.split(",")]
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        order = split_order(len(graphs), seed)
        held_out, held_y = graphs.subset(order[100:]), labels[order[100:]]
        rows.append({"seed": seed, "recipe": "zero-shot",
                     "spearman": round(rank_scores(base.predict(held_out), held_y)[0], 3)})
        if not args.json:
            print(f"seed {seed}  {'zero-shot':<45} SRCC {rows[-1]['spearman']:.3f}", flush=True)
        for name, config in recipes:
            model = base.copy(seed).finetune(graphs.subset(order[:args.k]), labels[order[:args.k]], config,
                                             progress=False)
            rows.append({"seed": seed, "recipe": name,
                         "spearman": round(rank_scores(model.predict(held_out), held_y)[0], 3)})
            if not args.json:
                print(f"seed {seed}  {name:<45} SRCC {rows[-1]['spearman']:.3f}", flush=True)
    if args.json:
        print(json.dumps({"target": args.target, "k": args.k, "rows": rows}))


if __name__ == "__main__":
    main()
