"""Predictor models: the graph encoder (and, built on it, heads)."""

from cgnas.model.encoder import EncoderConfig, GraphEncoder

__all__ = ["EncoderConfig", "GraphEncoder"]
