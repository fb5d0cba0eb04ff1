"""Computational graphs: the format (``CompGraph``), the builder, and conversions."""

from cgnas.graph.builder import GraphBuilder
from cgnas.graph.compgraph import FORMAT_VERSION, CompGraph, Node
from cgnas.graph.ops import OPS, VOCAB

__all__ = ["CompGraph", "Node", "GraphBuilder", "FORMAT_VERSION", "OPS", "VOCAB"]
