"""How well a source predictor ranks OFA-MBv3 sub-networks before any OFA label.

The ofa_mbv3 search starts from the OFA transfer's k=0 predictor (trained on the NAS-Bench
families only) and fine-tunes it on its queries. This script measures where it starts:
Spearman of its predictions against (a) measured ImageNet top-1 of the 364 subnets of
``ofa/ofa_mbv3_w1.0_measured_364.csv`` and (b) the search oracle (OFA's accuracy predictor) on
``--samples`` sub-networks drawn by the oracle under ``--max-macs``, grown to fill the budget
as the search proposes them (``--uniform``: uniform draws within it); MACs alone as reference.

    python benchmarks/ofa_source_predictor.py --cache-dir /tmp/cgcache [--predictor P.pt ...] [--uniform]

Without ``--predictor`` it checks every cached ``ofa_mbv3_*`` source predictor.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cgnas.data.cache import cache_dir, labeled_graphs  # noqa: E402
from cgnas.data.graphset import GraphSet  # noqa: E402
from cgnas.model.predictor import Predictor  # noqa: E402
from cgnas.search.oracle import OFAPredictorOracle  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--predictor", nargs="*", help="checkpoints (default: cached ofa_mbv3 source predictors)")
    ap.add_argument("--max-macs", type=float, default=600)
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--uniform", action="store_true", help="uniform draws within the budget, not grown ones")
    ap.add_argument("--cache-dir")
    ap.add_argument("--data-dir")
    args = ap.parse_args()

    measured, top1 = labeled_graphs("ofa_mbv3", "top1", args.cache_dir, args.data_dir, progress=False)
    oracle = OFAPredictorOracle(args.max_macs, data_dir=args.data_dir, fill_budget=not args.uniform)
    rng = random.Random(args.seed)
    archs = [oracle.sample(rng) for _ in range(args.samples)]
    sampled = GraphSet.from_cgs([oracle.space.to_cg(a) for a in archs], "ofa_mbv3")
    answers = oracle.predictor.predict(archs)

    def rho(a, b) -> float:
        return round(float(spearmanr(a, b).statistic), 3)

    rows = [{"scorer": "MACs", "measured_364": rho(measured.macs, top1),
             "sampled_vs_oracle": rho(sampled.macs, answers)}]
    paths = args.predictor or sorted(str(p) for p in (cache_dir(args.cache_dir) / "predictors").glob("ofa_mbv3_*.pt"))
    for path in paths:
        pred = Predictor.load(path)
        rows.append({"scorer": Path(path).name, "measured_364": rho(pred.predict(measured), top1),
                     "sampled_vs_oracle": rho(pred.predict(sampled), answers)})
    print(json.dumps({"max_macs": args.max_macs, "samples": args.samples, "seed": args.seed,
                      "proposals": "uniform" if args.uniform else "grown", "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
