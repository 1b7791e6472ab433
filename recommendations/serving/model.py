"""The active model as serving sees it: never raises, None when there is none (serving then degrades)."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from recommendations.training import ServingModel

logger = logging.getLogger(__name__)


def active_serving_model(*, cached_stamp: int | None = None) -> ServingModel | None:
    """``cached_stamp``: ``model_store.ACTIVE_STAMP_KEY`` as the caller already read it (saves a round trip)."""
    try:
        from recommendations.training import serving_model_get

        return serving_model_get(cached_stamp=cached_stamp)
    except Exception as exc:
        logger.error("No serving model (%s): serving popularity-based recommendations.", exc)
        return None


def model_item_rows(serving: ServingModel, item_ids: np.ndarray) -> np.ndarray:
    """Model item index of each id (-1 when the model does not know the item)."""
    return serving.model.item_map_.to_index(np.asarray(item_ids, dtype=np.int64), missing="ignore")


def item_embeddings(serving: ServingModel | None) -> np.ndarray | None:
    if serving is None:
        return None
    try:
        return serving.model.item_embeddings()
    except Exception:
        return None
