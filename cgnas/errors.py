"""Typed exceptions. Every error a user can cause derives from :class:`CgnasError`.

The command line turns a ``CgnasError`` into one ``error: ...`` line on stderr and exit
status 2; the API raises it so that callers can catch it by type.
"""


class CgnasError(Exception):
    """Base class of every error a user can cause (bad input, missing file, ...)."""


class InvalidArchitectureError(CgnasError, ValueError):
    """An architecture that its search space does not contain (malformed or out of range)."""


class UnknownOperatorError(CgnasError, KeyError):
    """An operator outside the CG vocabulary, met while importing a model."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ShapeError(CgnasError, ValueError):
    """Tensor shapes that an operator cannot take (e.g. adding (16,8,8) to (32,8,8))."""


class ModelImportError(CgnasError, ValueError):
    """A model that an importer cannot read: untraceable torch code, a forward pass that
    fails on the given input shape, a missing or corrupt ONNX file."""


class DataFileNotFoundError(CgnasError, FileNotFoundError):
    """A benchmark file that is not in the data directory."""


class CorruptDataFileError(CgnasError):
    """A benchmark file that exists but cannot be read as what it should be."""


class CacheError(CgnasError):
    """A CG cache that is corrupt or cannot be written."""


class ProxyError(CgnasError, RuntimeError):
    """A zero-cost proxy that cannot be computed on a network (its forward or backward pass
    fails, or the network lacks what the proxy measures)."""
