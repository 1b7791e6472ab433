"""Small numpy helpers shared across ``ml`` (array set operations, scaling, atomic file writes)."""

from ml.utils.arrays import isin_sorted, minmax_scale, sorted_lookup, unit_rows
from ml.utils.files import atomic_write_bytes, atomic_write_text

__all__ = ["isin_sorted", "sorted_lookup", "minmax_scale", "unit_rows", "atomic_write_bytes", "atomic_write_text"]
