"""Item side information aligned to an item map (:class:`ItemFeatures`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.dataset.ids import IdMap

__all__ = ["ItemFeatures"]


@dataclass
class ItemFeatures:
    """Item side information aligned to an item map (row ``i`` = item index ``i``).

    ``text`` -- title + description per item; ``category`` -- int codes, -1
    unknown; ``category_names`` -- optional names for the codes; ``tags`` -- list
    of tag lists; ``price`` -- float array (NaN unknown).

    If ``item_ids`` is given, the features are keyed by those external ids rather
    than aligned yet; :meth:`align` (called by :meth:`Interactions.from_events`)
    reorders them to a map, filling unknown items with empty text / -1 / [] / NaN.
    """

    text: list[str] | None = None
    category: np.ndarray | None = None
    tags: list[list[str]] | None = None
    price: np.ndarray | None = None
    category_names: list[str] | None = None
    item_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.category is not None:
            self.category = np.asarray(self.category, dtype=np.int64)
        if self.price is not None:
            self.price = np.asarray(self.price, dtype=np.float64)
        if self.text is not None:
            self.text = ["" if t is None else str(t) for t in self.text]
        if self.tags is not None:
            self.tags = [list(t) if t is not None else [] for t in self.tags]
        lengths = {len(v) for v in (self.text, self.category, self.tags, self.price, self.item_ids) if v is not None}
        if len(lengths) > 1:
            raise ValueError(f"ItemFeatures fields have different lengths: {sorted(lengths)}")

    def __len__(self) -> int:
        for v in (self.item_ids, self.text, self.category, self.tags, self.price):
            if v is not None:
                return len(v)
        return 0

    def take(self, index: np.ndarray) -> ItemFeatures:
        """Rows at integer positions ``index``; ``-1`` gives an empty/unknown row."""
        index = np.asarray(index, dtype=np.int64)
        missing = index < 0
        safe = np.where(missing, 0, index)
        n = len(self)

        def pick_list(values, empty):
            if values is None:
                return None
            if n == 0:
                return [empty() for _ in index]
            return [empty() if m else values[j] for j, m in zip(safe.tolist(), missing.tolist(), strict=False)]

        category = None
        if self.category is not None:
            category = self.category[safe] if n else np.full(len(index), -1, np.int64)
            category = np.where(missing, -1, category)
        price = None
        if self.price is not None:
            price = self.price[safe] if n else np.full(len(index), np.nan)
            price = np.where(missing, np.nan, price)
        return ItemFeatures(
            text=pick_list(self.text, str),
            category=category,
            tags=pick_list(self.tags, list),
            price=price,
            category_names=self.category_names,
            item_ids=None,
        )

    def align(self, item_map: IdMap) -> ItemFeatures:
        """Features reordered to ``item_map`` (requires ``item_ids``, or the same length)."""
        if self.item_ids is None:
            if len(self) != len(item_map):
                raise ValueError(
                    "ItemFeatures without item_ids must already be aligned to the item map "
                    f"({len(self)} rows for {len(item_map)} items); pass item_ids=..."
                )
            return self
        pos = IdMap(self.item_ids).to_index(item_map.external_ids, missing="ignore")
        return self.take(pos)

