"""Recommender models.  Import-light: concrete models load on demand via the registry.

    from ml.models import Recommender, FactorModel, model_from_config
"""

from ml.models.base import FactorModel, NotFittedError, Recommender
from ml.models.registry import available_models, get_model_class, model_from_config, model_to_config, register

__all__ = [
    "Recommender",
    "FactorModel",
    "NotFittedError",
    "register",
    "model_from_config",
    "model_to_config",
    "available_models",
    "get_model_class",
]
