"""Search spaces: ``cgnas.space(name)`` returns a :class:`SearchSpace`."""

from __future__ import annotations

from typing import Callable

from cgnas.errors import CgnasError
from cgnas.spaces.base import SearchSpace

_FACTORIES: dict[str, Callable[[], SearchSpace]] = {}


def register(name: str, factory: Callable[[], SearchSpace]) -> None:
    _FACTORIES[name] = factory


def _load_builtin() -> None:
    from cgnas.spaces import nb101, nb201, nb301, ofa_mbv3  # noqa: F401  (they register)


def space_names() -> list[str]:
    _load_builtin()
    return list(_FACTORIES)


def space(name: str) -> SearchSpace:
    """The search space called ``name`` (``nb101``, ``nb201``, ``nb301``, ``ofa_mbv3``)."""
    _load_builtin()
    if name not in _FACTORIES:
        raise CgnasError(f"unknown search space {name!r}; choose one of {', '.join(_FACTORIES)}")
    return _FACTORIES[name]()


__all__ = ["SearchSpace", "space", "space_names", "register"]
