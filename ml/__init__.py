"""Vitrine's pure-Python recommender library.

Nothing in ``ml`` imports Django; heavy optional dependencies (torch, faiss) are
imported only by the modules that need them.  The core types are re-exported
here::

    from ml import Interactions, IdMap, model_from_config
"""

from ml.dataset import EventLog, IdMap, Interactions, ItemFeatures

__all__ = ["EventLog", "IdMap", "Interactions", "ItemFeatures", "model_from_config", "available_models"]


def __getattr__(name: str):
    # Lazy so that ``import ml`` stays cheap (the registry imports nothing heavy either,
    # but keeping it lazy avoids import cycles with ml.models.*).
    if name in ("model_from_config", "available_models"):
        from ml.models import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'ml' has no attribute {name!r}")
