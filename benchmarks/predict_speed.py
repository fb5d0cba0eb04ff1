"""Prediction throughput from architecture text to predicted accuracy, CG build included.

    python benchmarks/predict_speed.py [--space nb201] [--n 5000] [--predictor ft.pt] [--json]

Without ``--predictor`` a freshly initialized predictor of the default size is timed (the
cost does not depend on the weights). Also times synflow on a few real networks for scale.
"""

from __future__ import annotations

import argparse
import json
import time

import cgnas
from cgnas.data.graphset import GraphSet
from cgnas.data.tables import row_spec
from cgnas.model import Predictor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--predictor")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    space = cgnas.space(args.space)
    bench = cgnas.benchmark(args.space)
    specs = [row_spec(args.space, r) for r in bench.table.head(args.n).to_dict("records")]
    pred = Predictor.load(args.predictor) if args.predictor else Predictor()
    pred.predict([space.to_cg(space.parse(specs[0]))])  # warm-up
    start = time.perf_counter()
    graphs = GraphSet.from_cgs((space.to_cg(space.parse(s)) for s in specs), args.space)
    packed = time.perf_counter()
    scores = pred.predict(graphs)
    done = time.perf_counter()
    result = {"space": args.space, "archs": len(scores), "seconds": round(done - start, 3),
              "archs_per_s": round(len(scores) / (done - start), 1),
              "build_and_pack_s": round(packed - start, 3), "predict_s": round(done - packed, 3)}
    print(json.dumps(result) if args.json else
          f"{result['archs_per_s']:,} {args.space} archs/s ({result['archs']} in {result['seconds']} s: "
          f"parse, build and pack {result['build_and_pack_s']} s, GNN {result['predict_s']} s)")


if __name__ == "__main__":
    main()
