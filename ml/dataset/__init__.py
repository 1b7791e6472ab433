"""One dataset type for every recommender: a user x item CSR matrix plus id maps.

* :mod:`ml.dataset.ids` -- :class:`IdMap` (external ids <-> contiguous indices);
* :mod:`ml.dataset.columns` -- :class:`EventColumns` (raw events as numpy columns, before any weighting);
* :mod:`ml.dataset.log` -- :class:`EventLog` (the indexed, weighted, time-ordered per-event arrays) and
  :func:`aggregate_pairs`;
* :mod:`ml.dataset.semantics` -- :class:`EvidenceSemantics`, :func:`rating_evidence`, :func:`dwell_evidence`
  (what an event means: signed evidence) and the per-pair combination of re-ratings;
* :mod:`ml.dataset.features` -- :class:`ItemFeatures`;
* :mod:`ml.dataset.interactions` -- :class:`Interactions` (see its module docstring).

Import the public names from here: ``from ml.dataset import Interactions, IdMap``.
"""

from ml.dataset.columns import EventColumns
from ml.dataset.features import ItemFeatures
from ml.dataset.ids import IdMap
from ml.dataset.interactions import Interactions
from ml.dataset.log import SECONDS_PER_DAY, Aggregate, EventLog, aggregate_pairs, to_unix_seconds
from ml.dataset.semantics import EvidenceSemantics, dwell_evidence, event_evidence, rating_evidence, superseded_events

__all__ = [
    "IdMap",
    "EventColumns",
    "EventLog",
    "ItemFeatures",
    "Interactions",
    "Aggregate",
    "EvidenceSemantics",
    "dwell_evidence",
    "event_evidence",
    "rating_evidence",
    "superseded_events",
    "SECONDS_PER_DAY",
    "aggregate_pairs",
    "to_unix_seconds",
]
