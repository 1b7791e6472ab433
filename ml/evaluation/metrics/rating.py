"""Rating-prediction errors (RMSE, MAE)."""

from __future__ import annotations

import numpy as np

__all__ = ["mae", "rmse"]


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.size} != {p.size}")
    if t.size == 0:
        raise ValueError("no ratings to score")
    return t, p


def rmse(y_true, y_pred) -> float:
    """Root mean squared error ``sqrt(mean((y_true - y_pred)^2))`` over all (user, item) pairs."""
    t, p = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def mae(y_true, y_pred) -> float:
    """Mean absolute error ``mean(|y_true - y_pred|)`` over all (user, item) pairs."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))
