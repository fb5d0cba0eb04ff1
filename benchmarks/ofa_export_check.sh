#!/usr/bin/env bash
# Export the best subnet that plain evolution found in 100 queries at each MACs budget to ONNX
# and torch.export, read both back, and check that the ONNX re-imports to the same CG
# (RESULTS 5.3). Needs the search logs of RESULTS 5.1: LOGS=/tmp/ofa2 by default.
#   bash benchmarks/ofa_export_check.sh [LOGS] [OUT]
set -euo pipefail
logs=${1:-/tmp/ofa2}
out=${2:-$(mktemp -d)}
py=${PYTHON:-.venv/bin/python}
for m in 600 480 390; do
  arch=$($py -c "
import glob, json
qs = [q for f in glob.glob('$logs/${m}M/ofa_mbv3_evolution_seed*.json') for q in json.load(open(f))['queries'][:100]]
print(max(qs, key=lambda q: q['label'])['arch'])")
  for suffix in onnx pt2; do
    $py -m cgnas.cli cg --space ofa_mbv3 --arch "$arch" --out "$out/best${m}.$suffix" > /dev/null
  done
  $py -c "
import cgnas, torch
sp = cgnas.space('ofa_mbv3'); a = sp.parse('$arch'); cg = sp.to_cg(a)
net = torch.export.load('$out/best${m}.pt2').module()
print('${m}M', '$arch', 'MACs %.1fM' % (cg.macs() / 1e6), 'params', cg.num_params(),
      'same_as', cgnas.from_onnx('$out/best${m}.onnx').same_as(cg),
      'pt2 out', tuple(net(torch.randn(2, 3, a.r, a.r)).shape), 'pt2 params', sum(p.numel() for p in net.parameters()))"
done
