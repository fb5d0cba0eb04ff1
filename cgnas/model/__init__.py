"""Predictor models: the graph encoder, the predictor network and the ``Predictor`` estimator."""

from cgnas.model.encoder import EncoderConfig, GraphEncoder
from cgnas.model.predictor import Predictor
from cgnas.model.predictor_net import PredictorConfig, PredictorNet

__all__ = ["EncoderConfig", "GraphEncoder", "Predictor", "PredictorConfig", "PredictorNet"]
