"""Once-for-All MobileNetV3 (Cai et al., ICLR 2020): ``ofa_mbv3_d234_e346_k357_w{1.0,1.2}``.

An architecture (:class:`OFAArch`) is what OFA's ``set_active_subnet`` takes plus the input
resolution and width multiplier:

* ``ks``: 20 depthwise kernel sizes from {3, 5, 7}, one per block slot;
* ``e``: 20 expand ratios from {3, 4, 6}, one per block slot;
* ``d``: 5 stage depths from {2, 3, 4};
* ``r``: input resolution, a multiple of 4 in [128, 260] (OFA trains the supernet at
  ``image_size_list`` = 128, 132, ..., 224; OFA's published specialized nets use up to 260);
* ``w``: width multiplier, 1.0 or 1.2 (the two published supernets).

Block slot ``4*s + j`` is stage ``s``'s ``j``-th block and is active when ``j < d[s]``.
Settings of inactive slots do not change the network: :meth:`OFAMBv3Space.key` (and
:func:`normalize`) set them to ks=3, e=3 (:data:`INACTIVE`), so equal networks have equal
keys. :meth:`~OFAMBv3Space.format` keeps them as given so that ``parse(format(a)) == a``.

Text form (canonical): ``ks=3,5,...;e=4,6,...;d=2,3,4,4,2;r=224;w=1.2``. ``parse`` also takes
the dict ``{"ks", "e", "d", "r", "w"}`` (lists may be space-separated strings, ``r`` may be
OFA's one-element list ``[224]``, a missing ``w`` means the space's ``default_w``), and the
CSV row form of ``ofa_mbv3_w1.0_measured_364.csv``: ``"<ks>,<e>,<d>,<r>"`` with
space-separated lists (any further columns ignored; ``w`` is the space's ``default_w``, so
use :func:`measured_row_to_arch` or pass ``w`` for that w1.0 table).

The network is ``OFAMobileNetV3.get_active_subnet()`` of mit-han-lab/once-for-all, written
with the graph builder (no torch modules), 1000 classes, input ``(3, r, r)``:

* widths ``make_divisible(base * w, 8)`` for base 16, 16, 24, 40, 80, 112, 160, 960, 1280;
* first conv 3x3/2 -> BN -> h-swish; first block: depthwise 3x3 -> BN -> ReLU -> 1x1 -> BN,
  plus identity residual (expand ratio 1, no SE);
* 5 stages (strides 2, 2, 2, 1, 2; act ReLU, ReLU, h-swish, h-swish, h-swish; SE in stages
  1, 3, 4 counting from 0), ``d[s]`` blocks each. Block: ``mid = make_divisible(round(c_in *
  e), 8)``; 1x1 conv -> BN -> act; depthwise kxk (stride on the stage's first block, pad k//2)
  -> BN -> act; SE (global avg pool keepdim -> 1x1 conv+bias to ``make_divisible(mid // 4, 8)``
  -> ReLU -> 1x1 conv+bias to ``mid`` -> h-sigmoid -> multiply); 1x1 conv -> BN; residual
  add when stride 1 and ``c_in == c_out``;
* final expand 1x1 -> BN -> h-swish; global avg pool (keepdim); feature mix 1x1 (no bias, no
  BN) -> h-swish; flatten; Linear(-, 1000). Dropout is not a node (inference network).

``cg.macs()`` counts every conv and linear, SE convs and classifier included; at r=224, w=1.0
it agrees with the ``macs`` column of the measured table (see
``benchmarks/check_networks_nb301_ofa.py``); ``cg.num_params()`` with its ``params``.

Sampling follows OFA's ``ArchManager.random_sample``: each ``d[s]`` uniform over {2, 3, 4}
and each active slot's ks/e uniform (so uniform over depth configurations, not over distinct
networks), inactive slots normalized, ``r`` uniform over the space's ``resolutions`` (by
default OFA's training sizes 128..224 step 4) and ``w`` the space's ``default_w``.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping, Sequence

from cgnas.errors import InvalidArchitectureError
from cgnas.graph.builder import GraphBuilder
from cgnas.graph.compgraph import CompGraph
from cgnas.spaces import register
from cgnas.spaces.base import SearchSpace

KERNEL_SIZES: tuple[int, ...] = (3, 5, 7)
EXPAND_RATIOS: tuple[int, ...] = (3, 4, 6)
DEPTHS: tuple[int, ...] = (2, 3, 4)
WIDTHS: tuple[float, ...] = (1.0, 1.2)
NUM_STAGES = 5
MAX_DEPTH = 4
NUM_SLOTS = NUM_STAGES * MAX_DEPTH

TRAIN_RESOLUTIONS: tuple[int, ...] = tuple(range(128, 225, 4))
"""OFA's supernet ``image_size_list`` (128..224 step 4): the default sampling set."""
MIN_RESOLUTION, MAX_RESOLUTION = 128, 260
"""``parse`` accepts multiples of 4 in this range (OFA's specialized nets go up to 260)."""

INACTIVE: tuple[int, int] = (3, 3)
"""(ks, e) that :func:`normalize` writes into inactive block slots."""

NUM_CLASSES = 1000
BASE_STAGE_WIDTH: tuple[int, ...] = (16, 16, 24, 40, 80, 112, 160, 960, 1280)
STAGE_STRIDES: tuple[int, ...] = (2, 2, 2, 1, 2)
STAGE_ACTS: tuple[str, ...] = ("relu", "relu", "hswish", "hswish", "hswish")
STAGE_SE: tuple[bool, ...] = (False, True, False, True, True)
SE_REDUCTION = 4

TUTORIAL_ARCH = ("ks=5,3,3,3,5,3,3,3,7,7,3,3,5,5,7,3,3,3,5,3;"
                 "e=3,3,3,3,4,4,3,3,6,3,4,3,4,4,4,3,6,6,6,3;d=2,2,3,4,3;r=192;w=1.2")
"""The sub-net found by OFA's tutorial (``tutorial/ofa.ipynb``, note10 <= 25 ms), read off the
printed ``module_str`` (stage widths O32..O192, i.e. w1.2) and its evaluation at img_size=192;
the tutorial reports 81.71% predicted accuracy. Inactive slots normalized (ks=3, e=3)."""


def make_divisible(v: float, divisor: int = 8, min_val: int | None = None) -> int:
    """OFA's channel rounding: nearest multiple of ``divisor``, never more than 10% down."""
    if min_val is None:
        min_val = divisor
    new_v = max(min_val, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


@lru_cache(maxsize=None)
def stage_widths(w: float) -> tuple[int, ...]:
    """``make_divisible(base * w, 8)`` for the 9 base widths (first conv .. feature mix)."""
    return tuple(make_divisible(c * w, 8) for c in BASE_STAGE_WIDTH)


@dataclass(frozen=True)
class OFAArch:
    """One OFA-MBv3 sub-network (see the module docstring)."""

    ks: tuple[int, ...]
    e: tuple[int, ...]
    d: tuple[int, ...]
    r: int = 224
    w: float = 1.2

    def active_slots(self) -> list[int]:
        """Indices of the active block slots, in network order."""
        return [4 * s + j for s in range(NUM_STAGES) for j in range(self.d[s])]

    def to_dict(self) -> dict[str, Any]:
        return {"ks": list(self.ks), "e": list(self.e), "d": list(self.d), "r": self.r, "w": self.w}


def normalize(arch: OFAArch) -> OFAArch:
    """The same network with inactive slots set to :data:`INACTIVE` (ks=3, e=3)."""
    ks, e = list(arch.ks), list(arch.e)
    for s in range(NUM_STAGES):
        for j in range(arch.d[s], MAX_DEPTH):
            ks[4 * s + j], e[4 * s + j] = INACTIVE
    return OFAArch(tuple(ks), tuple(e), arch.d, arch.r, arch.w)


# --------------------------------------------------------------------------- parsing
_FIELDS = ("ks", "e", "d", "r", "w")
_FORMAT_HINT = ("expected 'ks=k1,...,k20;e=e1,...,e20;d=d1,...,d5;r=R;w=W', a dict with keys "
                "ks, e, d, r, w, or a CSV row '<ks>,<e>,<d>,<r>' with space-separated lists")


def _int_list(name: str, value: Any) -> list[int]:
    if isinstance(value, str):
        items: Iterable[Any] = [v for v in re.split(r"[\s,]+", value.strip().strip("[]()")) if v]
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise InvalidArchitectureError(f"ofa_mbv3: {name} must be a list of integers, got {value!r}")
    out = []
    for i, v in enumerate(items):
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise InvalidArchitectureError(
                f"ofa_mbv3: {name}[{i}] = {v!r} is not an integer") from None
        if f != int(f):
            raise InvalidArchitectureError(f"ofa_mbv3: {name}[{i}] = {v!r} is not an integer")
        out.append(int(f))
    return out


def _check_list(name: str, values: list[int], length: int, allowed: tuple[int, ...]) -> tuple[int, ...]:
    if len(values) != length:
        raise InvalidArchitectureError(
            f"ofa_mbv3: {name} has {len(values)} values, expected {length}"
            + (" (one per block slot, 4 per stage; inactive slots included)" if length == NUM_SLOTS else
               " (one depth per stage)"))
    for i, v in enumerate(values):
        if v not in allowed:
            raise InvalidArchitectureError(
                f"ofa_mbv3: {name}[{i}] = {v} is not allowed; choose from "
                f"{', '.join(map(str, allowed))}")
    return tuple(values)


def _check_r(value: Any) -> int:
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise InvalidArchitectureError(f"ofa_mbv3: r must be one resolution, got {value!r}")
        value = value[0]
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise InvalidArchitectureError(f"ofa_mbv3: r = {value!r} is not an integer resolution") from None
    r = int(f)
    if f != r or not MIN_RESOLUTION <= r <= MAX_RESOLUTION or r % 4:
        raise InvalidArchitectureError(
            f"ofa_mbv3: r = {value!r} is not allowed; the resolution must be a multiple of 4 in "
            f"[{MIN_RESOLUTION}, {MAX_RESOLUTION}] (OFA trains at 128..224 step 4)")
    return r


def _check_w(value: Any) -> float:
    try:
        w = float(value)
    except (TypeError, ValueError):
        raise InvalidArchitectureError(f"ofa_mbv3: w = {value!r} is not a number") from None
    for allowed in WIDTHS:
        if abs(w - allowed) < 1e-9:
            return allowed
    raise InvalidArchitectureError(
        f"ofa_mbv3: w = {value!r} is not allowed; choose from {', '.join(map(str, WIDTHS))}")


def make_arch(ks: Any, e: Any, d: Any, r: Any = 224, w: Any = 1.2) -> OFAArch:
    """A validated :class:`OFAArch` (lists may be sequences or space/comma-separated text)."""
    return OFAArch(_check_list("ks", _int_list("ks", ks), NUM_SLOTS, KERNEL_SIZES),
                   _check_list("e", _int_list("e", e), NUM_SLOTS, EXPAND_RATIOS),
                   _check_list("d", _int_list("d", d), NUM_STAGES, DEPTHS),
                   _check_r(r), _check_w(w))


def _parse_text(text: str, default_w: float) -> OFAArch:
    if "=" in text:
        fields: dict[str, str] = {}
        for part in text.split(";"):
            part = part.strip()
            if not part:
                continue
            name, sep, value = part.partition("=")
            name = name.strip()
            if not sep or name not in _FIELDS:
                raise InvalidArchitectureError(f"ofa_mbv3: cannot read {part!r}; {_FORMAT_HINT}")
            if name in fields:
                raise InvalidArchitectureError(f"ofa_mbv3: field {name!r} given twice")
            fields[name] = value
        return _from_mapping(fields, default_w)
    parts = [p.strip() for p in text.split(",")]
    if len(parts) >= 4 and all(" " in p for p in parts[:3]):
        return make_arch(parts[0], parts[1], parts[2], parts[3], default_w)
    raise InvalidArchitectureError(f"ofa_mbv3: cannot read {text[:80]!r}; {_FORMAT_HINT}")


def _from_mapping(spec: Mapping[str, Any], default_w: float) -> OFAArch:
    extra = [k for k in spec if k not in _FIELDS and not (k == "wid" and spec[k] is None)]
    if extra:
        raise InvalidArchitectureError(
            f"ofa_mbv3: unknown field(s) {', '.join(map(repr, extra))}; expected ks, e, d, r, w")
    missing = [k for k in ("ks", "e", "d", "r") if k not in spec]
    if missing:
        raise InvalidArchitectureError(f"ofa_mbv3: missing field(s) {', '.join(missing)}; {_FORMAT_HINT}")
    return make_arch(spec["ks"], spec["e"], spec["d"], spec["r"], spec.get("w", default_w))


def _fmt_w(w: float) -> str:
    return f"{w:.1f}"


# ---------------------------------------------------------------------------- space
class OFAMBv3Space(SearchSpace[OFAArch]):
    """The OFA MobileNetV3 space ``ofa_mbv3_d234_e346_k357``.

    Args:
        default_w: width multiplier of sampled architectures and of specs without ``w``.
            Default 1.2: the supernet of OFA's accuracy predictor and tutorial
            (``ofa_mbv3_d234_e346_k357_w1.2``). The measured table is w1.0 and says so.
        resolutions: the resolutions ``sample`` and ``mutate`` draw from (default OFA's
            training sizes 128..224 step 4; pass ``(224,)`` to fix r).
        r_mutation_prob: probability that ``mutate`` also re-samples ``r`` (default 0.1,
            OFA's evolution ``mutate_prob``).
    """

    name = "ofa_mbv3"
    description = "Once-for-All MobileNetV3 (ks 3/5/7, e 3/4/6, d 2/3/4, r, w1.0/1.2), ImageNet"
    size = (9 ** 2 + 9 ** 3 + 9 ** 4) ** NUM_STAGES
    """Distinct networks for one (r, w): ``(9^2 + 9^3 + 9^4)^5`` ~ 2.2e19 (OFA's "> 10^19");
    multiply by the number of resolutions and widths for the whole space."""

    def __init__(self, default_w: float = 1.2, resolutions: Sequence[int] = TRAIN_RESOLUTIONS,
                 r_mutation_prob: float = 0.1) -> None:
        self.default_w = _check_w(default_w)
        self.resolutions = tuple(_check_r(r) for r in resolutions)
        if not self.resolutions:
            raise InvalidArchitectureError("ofa_mbv3: resolutions must not be empty")
        self.r_mutation_prob = float(r_mutation_prob)

    # ---------------------------------------------------------------- text
    def _parse(self, spec: Any) -> OFAArch:
        if isinstance(spec, OFAArch):
            return make_arch(spec.ks, spec.e, spec.d, spec.r, spec.w)
        if isinstance(spec, str):
            return _parse_text(spec, self.default_w)
        if isinstance(spec, Mapping):
            return _from_mapping(spec, self.default_w)
        raise InvalidArchitectureError(
            f"ofa_mbv3: cannot parse a {type(spec).__name__}; {_FORMAT_HINT}")

    def format(self, arch: OFAArch) -> str:
        return (f"ks={','.join(map(str, arch.ks))};e={','.join(map(str, arch.e))};"
                f"d={','.join(map(str, arch.d))};r={arch.r};w={_fmt_w(arch.w)}")

    def to_dict(self, arch: OFAArch) -> dict[str, Any]:
        """The dict form ``{"ks", "e", "d", "r", "w"}`` (``parse`` takes it back)."""
        return arch.to_dict()

    def key(self, arch: OFAArch) -> str:
        """Canonical form with inactive slots set to ks=3, e=3 (equal for equal networks)."""
        return self.format(normalize(arch))

    # ------------------------------------------------------------ sampling
    def sample(self, rng: random.Random) -> OFAArch:
        d = tuple(rng.choice(DEPTHS) for _ in range(NUM_STAGES))
        ks, e = [], []
        for s in range(NUM_STAGES):
            for j in range(MAX_DEPTH):
                if j < d[s]:
                    ks.append(rng.choice(KERNEL_SIZES))
                    e.append(rng.choice(EXPAND_RATIOS))
                else:
                    ks.append(INACTIVE[0])
                    e.append(INACTIVE[1])
        return OFAArch(tuple(ks), tuple(e), d, rng.choice(self.resolutions), self.default_w)

    def smallest(self) -> OFAArch:
        """The sub-network with the fewest MACs and parameters that ``sample`` can draw: depth 2
        in every stage, kernel 3 and expand ratio 3 everywhere, the smallest of the space's
        resolutions, the default width (every one of them only adds MACs when raised)."""
        return OFAArch((KERNEL_SIZES[0],) * NUM_SLOTS, (EXPAND_RATIOS[0],) * NUM_SLOTS, (DEPTHS[0],) * NUM_STAGES,
                       min(self.resolutions), self.default_w)

    def grow(self, arch: OFAArch, rng: random.Random, fits: Callable[[OFAArch], bool],
             patience: int = 8) -> OFAArch:
        """``arch`` enlarged one random step at a time while ``fits`` accepts the result.

        A step raises one gene to its next value: a stage's depth (the new slot gets uniform
        ks/e), an active slot's kernel size or expand ratio, or ``r`` (to the next of the
        space's resolutions). A step that ``fits`` rejects is undone; growth stops after
        ``patience`` rejections in a row or when no gene can be raised. Under a MACs budget
        (``fits`` = within it) this fills the budget: uniform draws under 600M MACs average
        about 290M, grown ones about 597M, and accuracy rises with MACs (docs/DECISIONS.md 23).
        """
        rejected = 0
        while rejected < patience:
            ks, e, d, r = list(arch.ks), list(arch.e), list(arch.d), arch.r
            active = arch.active_slots()
            steps = [("d", s) for s in range(NUM_STAGES) if d[s] < DEPTHS[-1]]
            steps += [("e", i) for i in active if e[i] < EXPAND_RATIOS[-1]]
            steps += [("ks", i) for i in active if ks[i] < KERNEL_SIZES[-1]]
            steps += [("r", 0)] if r < max(self.resolutions) else []
            if not steps:
                break
            kind, i = rng.choice(steps)
            if kind == "d":
                slot = 4 * i + d[i]
                d[i] += 1
                ks[slot], e[slot] = rng.choice(KERNEL_SIZES), rng.choice(EXPAND_RATIOS)
            elif kind == "e":
                e[i] = EXPAND_RATIOS[EXPAND_RATIOS.index(e[i]) + 1]
            elif kind == "ks":
                ks[i] = KERNEL_SIZES[KERNEL_SIZES.index(ks[i]) + 1]
            else:
                r = min(x for x in self.resolutions if x > r)
            child = OFAArch(tuple(ks), tuple(e), tuple(d), r, arch.w)
            if fits(child):
                arch, rejected = child, 0
            else:
                rejected += 1
        return arch

    def mutate(self, arch: OFAArch, rng: random.Random) -> OFAArch:
        """Change one gene: an active slot's ks or e, or one stage depth (to another value).

        Slots a deeper stage activates get uniform ks/e; slots a shallower stage drops are
        normalized. With probability ``r_mutation_prob`` (and more than one allowed
        resolution) ``r`` is also re-sampled to a different value. ``w`` is kept.
        """
        ks, e, d = list(arch.ks), list(arch.e), list(arch.d)
        active = [4 * s + j for s in range(NUM_STAGES) for j in range(d[s])]
        genes = [("ks", i) for i in active] + [("e", i) for i in active] + \
                [("d", s) for s in range(NUM_STAGES)]
        kind, i = rng.choice(genes)
        if kind == "ks":
            ks[i] = rng.choice([k for k in KERNEL_SIZES if k != ks[i]])
        elif kind == "e":
            e[i] = rng.choice([x for x in EXPAND_RATIOS if x != e[i]])
        else:
            old = d[i]
            d[i] = rng.choice([x for x in DEPTHS if x != old])
            for j in range(MAX_DEPTH):
                slot = 4 * i + j
                if old <= j < d[i]:
                    ks[slot] = rng.choice(KERNEL_SIZES)
                    e[slot] = rng.choice(EXPAND_RATIOS)
                elif d[i] <= j < old:
                    ks[slot], e[slot] = INACTIVE
        r = arch.r
        if len(self.resolutions) > 1 and rng.random() < self.r_mutation_prob:
            r = rng.choice([x for x in self.resolutions if x != arch.r])
        return OFAArch(tuple(ks), tuple(e), tuple(d), r, arch.w)

    # ------------------------------------------------------------- network
    def to_cg(self, arch: OFAArch) -> CompGraph:
        return build_cg(arch, name=f"{self.name}:{self.key(arch)}")


def build_cg(arch: OFAArch, num_classes: int = NUM_CLASSES, name: str = "") -> CompGraph:
    """The CG of ``OFAMobileNetV3.get_active_subnet()`` for ``arch`` (see the module docstring)."""
    widths = stage_widths(arch.w)
    b = GraphBuilder((3, arch.r, arch.r), name=name)
    conv, bn = b.conv, b.bn
    x = b.hswish(bn(conv(b.input, widths[0], k=3, stride=2, padding=1)))
    # first block: MBConv with expand ratio 1 (no inverted bottleneck), ReLU, no SE
    c_in = widths[0]
    h = b.relu(bn(conv(x, c_in, k=3, stride=1, padding=1, groups=c_in)))
    h = bn(conv(h, widths[1], k=1, padding=0))
    x = b.add(h, x) if c_in == widths[1] else h
    c_in = widths[1]
    for s in range(NUM_STAGES):
        c_out = widths[2 + s]
        act = b.relu if STAGE_ACTS[s] == "relu" else b.hswish
        for j in range(arch.d[s]):
            slot = 4 * s + j
            k = arch.ks[slot]
            stride = STAGE_STRIDES[s] if j == 0 else 1
            mid = make_divisible(round(c_in * arch.e[slot]), 8)
            h = act(bn(conv(x, mid, k=1, padding=0)))
            h = act(bn(conv(h, mid, k=k, stride=stride, padding=k // 2, groups=mid)))
            if STAGE_SE[s]:
                g = b.global_avgpool(h, keepdim=True)
                g = b.relu(conv(g, make_divisible(mid // SE_REDUCTION, 8), k=1, padding=0, bias=True))
                g = b.hsigmoid(conv(g, mid, k=1, padding=0, bias=True))
                h = b.mul(h, g)
            h = bn(conv(h, c_out, k=1, padding=0))
            x = b.add(h, x) if stride == 1 and c_in == c_out else h
            c_in = c_out
    x = b.hswish(bn(conv(x, widths[7], k=1, padding=0)))
    x = b.global_avgpool(x, keepdim=True)
    x = b.hswish(conv(x, widths[8], k=1, padding=0))
    x = b.linear(b.flatten(x), num_classes)
    return b.build(x)


# ------------------------------------------------------------------- benchmark rows
def measured_row_to_arch(row: Mapping[str, Any]) -> OFAArch:
    """An arch from a row of ``ofa_mbv3_w1.0_measured_364.csv`` (w=1.0, space-separated lists)."""
    return make_arch(row["ks"], row["e"], row["d"], row["r"], row.get("w", 1.0))


def specialized_row_to_arch(row: Mapping[str, Any]) -> OFAArch:
    """An arch from a MobileNetV3 row of ``ofa_specialized_50.csv``.

    ``stage_depths`` are the 5 depths; ``block_ks`` / ``block_e`` list the kernel sizes and
    expand ratios of the *active* blocks only (``sum(d)`` values, the fixed first block not
    included), in network order; they fill the active slots, inactive slots are normalized.
    ``w`` comes from ``first_conv_ch``: 16 = w1.0, 24 = w1.2; ``r`` from ``image_size``.
    """
    family = row.get("family", "MobileNetV3")
    if family != "MobileNetV3":
        raise InvalidArchitectureError(f"ofa_mbv3: row {row.get('name')!r} is a {family} net, not MobileNetV3")
    d = _check_list("d", _int_list("stage_depths", row["stage_depths"]), NUM_STAGES, DEPTHS)
    ks_active = _int_list("block_ks", row["block_ks"])
    e_active = _int_list("block_e", row["block_e"])
    if len(ks_active) != sum(d) or len(e_active) != sum(d):
        raise InvalidArchitectureError(
            f"ofa_mbv3: block_ks/block_e have {len(ks_active)}/{len(e_active)} values but the "
            f"stage depths {list(d)} give {sum(d)} active blocks")
    first_conv = int(row["first_conv_ch"])
    w = {stage_widths(x)[0]: x for x in WIDTHS}.get(first_conv)
    if w is None:
        raise InvalidArchitectureError(f"ofa_mbv3: first_conv_ch {first_conv} matches no width (16 or 24)")
    ks, e = [INACTIVE[0]] * NUM_SLOTS, [INACTIVE[1]] * NUM_SLOTS
    n = 0
    for s in range(NUM_STAGES):
        for j in range(d[s]):
            ks[4 * s + j], e[4 * s + j] = ks_active[n], e_active[n]
            n += 1
    return make_arch(ks, e, d, row["image_size"], w)


register("ofa_mbv3", OFAMBv3Space)
