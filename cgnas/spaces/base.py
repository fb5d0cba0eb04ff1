"""``SearchSpace``: the interface every architecture family implements (DESIGN.md section 2)."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from typing import Any, Generic, TypeVar

from cgnas.errors import InvalidArchitectureError
from cgnas.graph.compgraph import CompGraph

Arch = TypeVar("Arch")


class SearchSpace(ABC, Generic[Arch]):
    """A family of architectures with a way to build each one's computational graph.

    Subclasses implement :meth:`_parse` (text or dict -> architecture, raising
    :class:`InvalidArchitectureError` with a message that says what is wrong), :meth:`format`,
    :meth:`sample`, :meth:`mutate` and :meth:`to_cg`; :meth:`key` defaults to the canonical
    string.
    """

    name: str = ""
    description: str = ""
    size: int | None = None
    """Number of distinct architectures in the space, when known."""
    builder_version: int = 1
    """Bump when :meth:`to_cg` changes the graphs it builds: CG caches of older versions are rebuilt."""

    def parse(self, spec: Any) -> Arch:
        """An architecture from its text form (or the space's dict form); validated.

        Raises:
            InvalidArchitectureError: the spec is malformed or outside the space.
        """
        if isinstance(spec, str):
            spec = spec.strip()
            if not spec:
                raise InvalidArchitectureError(f"{self.name}: empty architecture string")
        return self._parse(spec)

    @abstractmethod
    def _parse(self, spec: Any) -> Arch: ...

    @abstractmethod
    def format(self, arch: Arch) -> str:
        """Canonical text form; ``parse(format(a)) == a``."""

    def key(self, arch: Arch) -> str:
        """Canonical key: equal for architectures that build the same network."""
        return self.format(arch)

    @abstractmethod
    def sample(self, rng: random.Random) -> Arch:
        """A uniformly random valid architecture."""

    @abstractmethod
    def mutate(self, arch: Arch, rng: random.Random) -> Arch:
        """A valid architecture that differs from ``arch`` by one local change."""

    @abstractmethod
    def to_cg(self, arch: Arch) -> CompGraph:
        """The computational graph of the benchmark's real network for ``arch``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
