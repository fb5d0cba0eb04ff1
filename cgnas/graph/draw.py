"""Drawing a CG: a layered (Sugiyama-style) picture with matplotlib, or Graphviz DOT text.

Layout: a node's layer is its longest-path depth from the input; within a layer nodes are
ordered by the mean position of their producers (a few barycenter sweeps), which keeps
parallel branches of a cell side by side. Labels are short (``conv3x3/2 64``); colours
group op families. A 300-node graph gives a tall figure that stays legible when zoomed.
"""

from __future__ import annotations

import os
from pathlib import Path

from cgnas.errors import CgnasError
from cgnas.graph.compgraph import CompGraph

COLORS = {
    "conv": "#4C78A8", "linear": "#4C78A8", "batchnorm": "#72B7B2", "layernorm": "#72B7B2",
    "add": "#F58518", "mul": "#F58518", "concat": "#E45756", "zero": "#BAB0AC",
    "maxpool": "#54A24B", "avgpool": "#54A24B", "global_avgpool": "#54A24B",
    "input": "#222222", "output": "#222222",
}
ACTIVATION_COLOR = "#EECA3B"
OTHER_COLOR = "#B279A2"
_ACTIVATIONS = {"relu", "relu6", "sigmoid", "tanh", "silu", "hswish", "hsigmoid", "gelu", "softmax"}


def node_label(cg: CompGraph, i: int) -> str:
    """Short label: op, kernel/stride/groups for convs and pools, output channels."""
    op, a, shape = cg.ops[i], cg.attrs[i], cg.shapes[i]
    text = op
    if "kernel" in a:
        kh, kw = a["kernel"]
        text = f"{op}{kh}x{kw}" + (f"/{a['stride'][0]}" if a["stride"][0] > 1 else "")
        if a.get("dilation", (1,))[0] > 1:
            text += f" d{a['dilation'][0]}"
        if a.get("groups", 1) > 1:
            text += " dw" if a["groups"] == shape[0] else f" g{a['groups']}"
    if op in ("conv", "linear", "input", "output", "concat", "slice"):
        text += " " + "x".join(map(str, shape))
    return text


def layers(cg: CompGraph) -> list[list[int]]:
    """Nodes grouped by longest-path depth, ordered within each layer by barycenter."""
    depth = [0] * len(cg)
    for i, ins in enumerate(cg.inputs):
        if ins:
            depth[i] = 1 + max(depth[j] for j in ins)
    grouped: list[list[int]] = [[] for _ in range(max(depth) + 1)]
    for i, d in enumerate(depth):
        grouped[d].append(i)
    position = {i: float(k) for layer in grouped for k, i in enumerate(layer)}
    for _ in range(4):
        for layer in grouped[1:]:
            layer.sort(key=lambda i: sum(position[j] for j in cg.inputs[i]) / len(cg.inputs[i]))
            for k, i in enumerate(layer):
                position[i] = k - (len(layer) - 1) / 2
    return grouped


def draw(cg: CompGraph, path: str | os.PathLike, title: str | None = None) -> Path:
    """Save a picture of ``cg``; the format follows the suffix (.png, .svg, .pdf)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cgnas.utils import atomic_write

    target = Path(path)
    fmt = target.suffix.lstrip(".").lower()
    if fmt not in ("png", "svg", "pdf"):
        raise CgnasError(f"cannot draw to {target.name}: use a .png, .svg or .pdf file (or .dot/.json via cgnas cg)")
    grouped = layers(cg)
    xy: dict[int, tuple[float, float]] = {}
    for d, layer in enumerate(grouped):
        for k, i in enumerate(layer):
            xy[i] = ((k - (len(layer) - 1) / 2) * 2.2, -d)
    width = max(len(layer) for layer in grouped)
    fig, ax = plt.subplots(figsize=(max(6.0, 2.0 * width), max(4.0, 0.42 * len(grouped))))
    for dst, ins in enumerate(cg.inputs):
        for src in ins:
            (x0, y0), (x1, y1) = xy[src], xy[dst]
            ax.annotate("", xy=(x1, y1 + 0.18), xytext=(x0, y0 - 0.18),
                        arrowprops={"arrowstyle": "-|>", "color": "#888888", "lw": 0.6,
                                    "shrinkA": 0, "shrinkB": 0, "alpha": 0.8})
    for i, (x, y) in xy.items():
        op = cg.ops[i]
        color = COLORS.get(op, ACTIVATION_COLOR if op in _ACTIVATIONS else OTHER_COLOR)
        dark = color in ("#222222", "#4C78A8", "#E45756", "#B279A2")
        ax.text(x, y, node_label(cg, i), ha="center", va="center", fontsize=6.5,
                color="white" if dark else "black",
                bbox={"boxstyle": "round,pad=0.25", "fc": color, "ec": "none"})
    ax.set_xlim(-(width + 1) * 1.1, (width + 1) * 1.1)
    ax.set_ylim(-len(grouped), 1)
    ax.axis("off")
    ax.set_title(title if title is not None else f"{cg.name or 'CompGraph'}: {len(cg)} nodes, "
                 f"{cg.num_edges} edges, {cg.num_params():,} params", fontsize=9)
    fig.tight_layout()
    try:
        atomic_write(target, lambda tmp: fig.savefig(tmp, format=fmt, dpi=130))
    finally:
        plt.close(fig)
    return target


def to_dot(cg: CompGraph) -> str:
    """Graphviz DOT text (render with ``dot -Tsvg``)."""
    lines = [f'digraph "{cg.name or "cg"}" {{', "  rankdir=TB; node [shape=box, style=filled, fontsize=10];"]
    for i, op in enumerate(cg.ops):
        color = COLORS.get(op, ACTIVATION_COLOR if op in _ACTIVATIONS else OTHER_COLOR)
        lines.append(f'  n{i} [label="{node_label(cg, i)}", fillcolor="{color}40"];')
    lines += [f"  n{s} -> n{d};" for s, d in cg.edges()]
    lines.append("}")
    return "\n".join(lines) + "\n"
