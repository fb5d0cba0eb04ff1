"""Parameter and multiply-accumulate (MAC) counts read off a CG.

Params of weighted nodes:
conv ``C_out * C_in/groups * k_h * k_w (+ C_out bias)``; linear ``D_in * D_out (+ D_out)``;
batchnorm/layernorm ``2 * C`` when affine (running statistics are buffers, not parameters).

MACs (batch size 1) count conv, linear and matmul, the convention of OFA and of most
papers' "FLOPs": conv ``H_out W_out C_out C_in/groups k_h k_w``; linear
``prod(out[:-1]) D_in D_out``; matmul ``prod(out) * K``.
"""

from __future__ import annotations

from math import prod

from cgnas.graph.compgraph import CompGraph


def node_params(cg: CompGraph, i: int) -> int:
    op, attrs = cg.ops[i], cg.attrs[i]
    if op == "conv":
        c_in = cg.shapes[cg.inputs[i][0]][0]
        c_out = cg.shapes[i][0]
        kh, kw = attrs["kernel"]
        return c_out * (c_in // attrs["groups"]) * kh * kw + (c_out if attrs["bias"] else 0)
    if op == "linear":
        d_in, d_out = cg.shapes[cg.inputs[i][0]][-1], cg.shapes[i][-1]
        return d_in * d_out + (d_out if attrs["bias"] else 0)
    if op == "batchnorm":
        return 2 * cg.shapes[i][0] if attrs["affine"] else 0
    if op == "layernorm":
        return 2 * prod(attrs["normalized_shape"]) if attrs["affine"] else 0
    return 0


def node_macs(cg: CompGraph, i: int) -> int:
    op = cg.ops[i]
    if op == "conv":
        attrs = cg.attrs[i]
        c_in = cg.shapes[cg.inputs[i][0]][0]
        kh, kw = attrs["kernel"]
        return prod(cg.shapes[i]) * (c_in // attrs["groups"]) * kh * kw
    if op == "linear":
        return prod(cg.shapes[i]) * cg.shapes[cg.inputs[i][0]][-1]
    if op == "matmul":
        return prod(cg.shapes[i]) * cg.shapes[cg.inputs[i][0]][-1]
    return 0


def graph_params(cg: CompGraph) -> int:
    return sum(node_params(cg, i) for i in range(len(cg)))


def graph_macs(cg: CompGraph) -> int:
    return sum(node_macs(cg, i) for i in range(len(cg)))
