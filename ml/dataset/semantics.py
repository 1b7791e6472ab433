"""What an event means: signed evidence per event, and the combination of a (user, item) pair's events.

One mapping, used by serving history, explanations, training and ``python -m ml.evaluate`` alike:

* **rating** -- ``weight * clip((value - neutral) / (max_value - neutral), -1, 1)``: below the neutral point a
  rating is negative evidence, above it positive, scaled by distance (on 1-5 stars with neutral 3: 1 -> -1,
  2 -> -0.5, 3 -> 0, 4 -> 0.5, 5 -> 1, times the rating type's weight); values outside the scale count as its ends.
* **dwell** -- ``weight * min(seconds / full_seconds, 1)`` from ``min_seconds`` on, 0 below it: a glance while
  scrolling is no evidence at all, a long look counts the type's full weight.
* every other type -- its type weight (``skip`` is negative by configuration).

Per pair (:func:`superseded_events`): only the latest rating counts (a re-rating replaces the earlier one), and
when the latest *opinion* (rating, like, skip) is negative, everything the pair did before it is superseded too
(a purchase later rated 1 star is a disappointment, not a success). Filters and thresholds apply afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["EvidenceSemantics", "rating_evidence", "dwell_evidence", "event_evidence", "superseded_events"]


@dataclass(frozen=True)
class EvidenceSemantics:
    """How raw events become signed evidence (see the module docstring).

    Parameters
    ----------
    rating_neutral, rating_max : float or None
        The rating scale: neutral point and top (``rating_max > rating_neutral``). ``rating_neutral=None``
        leaves rating values unmapped (each rating weighs its type weight, e.g. before a threshold filter).
    dwell_min_seconds, dwell_full_seconds : float
        Dwell below ``dwell_min_seconds`` is no evidence; from ``dwell_full_seconds`` on it counts fully.
    rating_type, dwell_type : str
        The event-type names that carry a rating / a dwell time in their value.
    opinion_types : tuple of str
        Explicit opinions: the latest one of a pair, when negative, supersedes the pair's earlier events.

    Raises
    ------
    ValueError
        If the scale or the dwell bounds are inconsistent.
    """

    rating_neutral: float | None = 3.0
    rating_max: float = 5.0
    dwell_min_seconds: float = 5.0
    dwell_full_seconds: float = 30.0
    rating_type: str = "rating"
    dwell_type: str = "dwell"
    opinion_types: tuple[str, ...] = ("rating", "like", "skip")

    def __post_init__(self) -> None:
        if self.rating_neutral is not None and not self.rating_max > self.rating_neutral:
            raise ValueError(f"rating_max ({self.rating_max}) must be above rating_neutral ({self.rating_neutral})")
        if not 0 <= self.dwell_min_seconds <= self.dwell_full_seconds or self.dwell_full_seconds <= 0:
            raise ValueError("need 0 <= dwell_min_seconds <= dwell_full_seconds and dwell_full_seconds > 0")
        object.__setattr__(self, "opinion_types", tuple(self.opinion_types))


def rating_evidence(values: Any, *, neutral: float, max_value: float, weight: Any = 1.0) -> np.ndarray:
    """Signed evidence of ratings: ``weight * clip((value - neutral) / (max_value - neutral), -1, 1)``.

    Parameters
    ----------
    values : array-like of float, shape (n,)
        Ratings on the scale; NaN (no value) gives 0.
    neutral, max_value : float
        Neutral point and top of the scale (``max_value > neutral``); the bottom is ``2 * neutral - max_value``.
    weight : float or ndarray of shape (n,)
        The rating type's weight (per event when an array).

    Returns
    -------
    ndarray of float64, shape (n,)
        In ``[-|weight|, |weight|]``.

    Examples
    --------
    >>> rating_evidence([1, 2, 3, 4, 5, 0, 10], neutral=3, max_value=5).tolist()
    [-1.0, -0.5, 0.0, 0.5, 1.0, -1.0, 1.0]
    """
    if not max_value > neutral:
        raise ValueError(f"max_value ({max_value}) must be above neutral ({neutral})")
    vals = np.asarray(values, dtype=np.float64)
    scaled = np.clip((vals - float(neutral)) / (float(max_value) - float(neutral)), -1.0, 1.0)
    return np.nan_to_num(scaled, nan=0.0) * np.asarray(weight, dtype=np.float64)


def dwell_evidence(seconds: Any, *, min_seconds: float, full_seconds: float, weight: Any = 1.0) -> np.ndarray:
    """Evidence of dwell times: ``weight * min(seconds / full_seconds, 1)``, 0 below ``min_seconds``.

    Parameters
    ----------
    seconds : array-like of float, shape (n,)
        Dwell in seconds; NaN gives 0.
    min_seconds, full_seconds : float
        The documented minimum (below: not evidence) and the dwell that counts fully.
    weight : float or ndarray of shape (n,)
        The dwell type's weight.

    Returns
    -------
    ndarray of float64, shape (n,)

    Examples
    --------
    >>> dwell_evidence([2, 5, 15, 30, 600], min_seconds=5, full_seconds=30).tolist()
    [0.0, 0.16666666666666666, 0.5, 1.0, 1.0]
    """
    secs = np.nan_to_num(np.asarray(seconds, dtype=np.float64), nan=0.0)
    share = np.where(secs >= float(min_seconds), np.minimum(secs / float(full_seconds), 1.0), 0.0)
    return share * np.asarray(weight, dtype=np.float64)


def event_evidence(event_types: Any, values: Any, *, type_weights: dict[str, float] | None, semantics: EvidenceSemantics) -> np.ndarray:
    """Signed evidence of each event: its type weight, mapped by value for ratings and dwell.

    Parameters
    ----------
    event_types : array-like of str, shape (n,)
    values : array-like of float, shape (n,), or None
        Ratings / dwell seconds; NaN where an event has none. Without values, ratings and dwell weigh 0.
    type_weights : dict of str to float, optional
        Weight per type; types missing from it weigh 0; None: every type weighs 1.
    semantics : EvidenceSemantics

    Returns
    -------
    ndarray of float64, shape (n,)
    """
    et = np.asarray(event_types).astype(str)
    base = np.ones(len(et), dtype=np.float64) if type_weights is None else np.zeros(len(et), dtype=np.float64)
    for etype, weight in (type_weights or {}).items():  # one pass per event type (a handful), not per event
        base[et == etype] = float(weight)
    vals = np.full(len(et), np.nan) if values is None else np.asarray(values, dtype=np.float64)
    evidence = base.copy()
    is_rating = et == semantics.rating_type
    if semantics.rating_neutral is not None and is_rating.any():
        evidence[is_rating] = rating_evidence(
            vals[is_rating], neutral=semantics.rating_neutral, max_value=semantics.rating_max, weight=base[is_rating]
        )
    is_dwell = et == semantics.dwell_type
    if is_dwell.any():
        evidence[is_dwell] = dwell_evidence(
            vals[is_dwell], min_seconds=semantics.dwell_min_seconds, full_seconds=semantics.dwell_full_seconds,
            weight=base[is_dwell],
        )
    return evidence


def superseded_events(
    pair_keys: Any, timestamps: Any, event_types: Any, evidence: Any, *, semantics: EvidenceSemantics
) -> np.ndarray:
    """Events that no longer speak for their pair: earlier ratings, and all before a negative latest opinion.

    Parameters
    ----------
    pair_keys : array-like of int, shape (n,)
        One key per (user, item) pair (e.g. ``user * n_items + item``).
    timestamps : array-like of float, shape (n,)
        Event times; ties keep input order (the later row is the later event).
    event_types : array-like of str, shape (n,)
    evidence : array-like of float, shape (n,)
        Each event's signed evidence (:func:`event_evidence`, possibly time-decayed: only its sign is used).
    semantics : EvidenceSemantics

    Returns
    -------
    ndarray of bool, shape (n,)
        True for an event to drop before the pair is aggregated, filtered or thresholded.

    Examples
    --------
    >>> superseded_events([0, 0, 1, 1], [1, 2, 1, 2], ["rating"] * 4, [1.0, -1.0, -1.0, 0.5],
    ...                   semantics=EvidenceSemantics()).tolist()
    [True, False, True, False]
    """
    keys = np.asarray(pair_keys, dtype=np.int64)
    n = len(keys)
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    et = np.asarray(event_types).astype(str)
    ev = np.asarray(evidence, dtype=np.float64)
    order = np.lexsort((np.arange(n), np.asarray(timestamps, dtype=np.float64), keys))  # pair, then time
    skeys = keys[order]
    starts = np.r_[0, np.flatnonzero(skeys[1:] != skeys[:-1]) + 1]
    group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n]))
    rank = np.arange(n)  # position in the sorted order: a larger rank is a later event of the same pair

    def latest(mask_sorted: np.ndarray) -> np.ndarray:
        """Per group: the sorted position of the latest event in ``mask_sorted`` (-1 when none)."""
        last = np.full(len(starts), -1, dtype=np.int64)
        np.maximum.at(last, group[mask_sorted], rank[mask_sorted])
        return last

    is_rating = et[order] == semantics.rating_type
    last_rating = latest(is_rating)
    stale_rating = is_rating & (rank != last_rating[group])
    is_opinion = np.isin(et[order], np.asarray(semantics.opinion_types, dtype=str))
    last_opinion = latest(is_opinion)
    has_opinion = last_opinion[group] >= 0
    negative = has_opinion & (ev[order][np.maximum(last_opinion[group], 0)] < 0)
    before_negative = negative & (rank < last_opinion[group])
    out[order] = stale_rating | before_negative
    return out
