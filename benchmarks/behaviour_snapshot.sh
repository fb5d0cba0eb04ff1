#!/usr/bin/env bash
# A fixed set of quick commands whose JSON outputs must not change under a refactoring
# (issue 24's "behaviour unchanged"): two transfer runs (nb201 with every method, proxies and
# ensembles; ofa_mbv3), one search per space and several methods, a zcp table, a CG
# round-trip, and the pretrain -> train -> finetune -> evaluate -> predict pipeline.
#
#   benchmarks/behaviour_snapshot.sh SRC_TREE OUT_DIR     # e.g. a `git worktree` of the old commit
#   benchmarks/behaviour_snapshot.sh --compare OUT_A OUT_B
#
# Each run gets a fresh cache directory seeded with the CG shards of ~/.cache/cgnas (run
# `cgnas cache --space S` for nb101, nb201, nb301 first), so no cached predictor is shared
# between the two trees. About 6 minutes on 2 cores. --compare ignores what legitimately
# differs: output paths and elapsed seconds.
set -u
if [ "${1:-}" = "--compare" ]; then
    A=$2 B=$3 status=0
    for f in "$A"/*.json "$A"/search_logs/*.json "$A"/*.pt; do
        rel=${f#"$A"/}
        if ! python3 - "$f" "$B/$rel" "$A" "$B" <<'PY'; then echo "DIFF $rel"; status=1; else echo "same $rel"; fi
import json, sys
a, b, root_a, root_b = sys.argv[1:]
if a.endswith(".pt"):
    sys.exit(open(a, "rb").read() != open(b, "rb").read())
def clean(path, root):
    data = json.loads(open(path).read().replace(root, "OUT"))
    if isinstance(data, dict):
        data.pop("seconds", None)
    return data
sys.exit(clean(a, root_a) != clean(b, root_b))
PY
    done
    exit $status
fi
SRC=$(cd "$1" && pwd); OUT=$2
PY=${PY:-$(dirname "$0")/../.venv/bin/python}
mkdir -p "$OUT"; rm -rf "$OUT/cache"; mkdir -p "$OUT/cache"
for s in nb101 nb201 nb301; do cp -r "$HOME/.cache/cgnas/$s" "$OUT/cache/"; done
export PYTHONPATH=$SRC OMP_NUM_THREADS=1
C="--cache-dir $OUT/cache"
A='|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|'
run() { "$PY" -m cgnas "$@" $C 2>>"$OUT/stderr.log"; }
run transfer --target nb201 --samples 0,10,20 --seeds 1 --limit 300 --source-per-family 300 --proxies synflow \
    --ensemble --methods cl,gnn,target_only,ridge,params,flops --json > "$OUT/transfer_nb201.json"
run transfer --target ofa_mbv3 --samples 0,10 --seeds 1 --limit 200 --source-per-family 200 \
    --pretrain-per-family 100 --pretrain-space-samples 100 --methods cl,gnn,ridge --json > "$OUT/transfer_ofa.json"
for s in nb201:cl nb101:gnn nb301:ridge ofa_mbv3:ridge-measured nb201:synflow nb201:random; do
    run search --space "${s%%:*}" --method "${s##*:}" --queries 30 --seeds 1 --limit 300 --out "$OUT/search_logs" \
        --json > "$OUT/search_${s%%:*}_${s##*:}.json"
done
run zcp --space nb201 --proxies params,flops,synflow --limit 20 --json > "$OUT/zcp.json"
run cg --space nb201 --arch "$A" --out "$OUT/cg.json" > /dev/null
run pretrain --spaces nb201 --limit 200 --epochs 1 --out "$OUT/enc.pt" > /dev/null
run train --encoder "$OUT/enc.pt" --sources nb101,nb301 --limit 200 --out "$OUT/pred.pt" > /dev/null
run finetune --predictor "$OUT/pred.pt" --target nb201 --samples 20 --limit 300 --out "$OUT/ft.pt" > /dev/null
run evaluate --predictor "$OUT/ft.pt" --target nb201 --limit 300 --json > "$OUT/evaluate.json"
run predict --predictor "$OUT/ft.pt" --space nb201 --arch "$A" --limit 300 --json > "$OUT/predict.json"
rm -rf "$OUT/cache"
