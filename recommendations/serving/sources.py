"""Stage 1: candidate sources. Each returns items with a score and the evidence that produced them.

=============  =====================================================================  ==========================
source         what it does                                                           evidence (explanation)
=============  =====================================================================  ==========================
ann            the user's trained vector searched in the model's Faiss index          similar_users
foldin         a vector folded in from the actor's recent items (real time,           because_you_interacted
               anonymous sessions too), searched in the index; each item is           {item}: the recent item
               attributed to the recent item whose removal lowers its score most      whose removal costs most
neighbours     item-to-item neighbours of the recent items (model similarity, or      because_you_interacted
               popular items of the same category when the model lacks the item)     {item}: largest term
trending       popular items of the actor's favourite categories                      trending_in_category {category}
popular        popular items overall                                                  popular
new_arrival    items created within new_item_days, scored by content similarity       new_arrival {category, item?}
               (tags, category) to the recent items
explore        popular-or-random items of categories the actor has never touched      exploring_category {category}
catalog        newest available items, only when the shop has no popularity yet       catalog
=============  =====================================================================  ==========================

Each source is a function of the actor's history and the shared tables (and the model when there is one)
returning a :class:`SourceResult`; :func:`~recommendations.serving.candidates.candidates_build` runs and
merges them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from catalog.models import Item
from recommendations.models import RecommenderSettings
from recommendations.serving.actors import ActorHistory, PreferenceSnapshot
from recommendations.serving.tables import NewArrivals, PopularityTable

ANN_K = 200
FOLDIN_K = 150
FOLDIN_ITEMS = 8  # recent items used for fold-in and its leave-one-out attribution
NEIGHBOURS_PER_ITEM = 25
NEIGHBOURS_FULL_SCAN_MAX = 50_000  # above: item-to-item neighbours among the popularity table's items
POPULAR_K = 150
TRENDING_PER_CATEGORY = 30
FAVOURITE_CATEGORIES = 3
NEW_ARRIVALS_K = 60
EXPLORE_PER_CATEGORY = 5
EXPLORE_K = 80


@dataclass
class SourceResult:
    item_ids: np.ndarray
    scores: np.ndarray  # raw, higher is better
    evidence_items: np.ndarray | None = None  # -1 = none
    model_rows: np.ndarray | None = None  # model item index when known

    @classmethod
    def empty(cls) -> SourceResult:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.item_ids)



# ------------------------------------------------------------------------------------------ model sources
def _is_factor(serving) -> bool:
    return hasattr(serving.model, "fold_in_vectors") and serving.model.item_embeddings() is not None


def source_ann(*, serving, user_id: int | None, k: int = ANN_K) -> SourceResult:
    """Known user: their trained vector, searched in the index (or scored by the model when there is none)."""
    model = serving.model
    if user_id is None or user_id not in model.user_map_:
        return SourceResult.empty()
    user_index = model.user_map_.to_index([user_id])
    seen = model.user_items_[user_index].indices
    if len(seen) == 0:
        return SourceResult.empty()  # no training history: the model would only echo popularity
    if serving.index is not None and hasattr(model, "user_vectors"):
        rows, scores = serving.index.search(model.user_vectors(user_index), k + min(len(seen), 500))
        rows, scores = rows[0], scores[0]
        keep = (rows >= 0) & ~np.isin(rows, seen)
        rows, scores = rows[keep][:k], scores[keep][:k]
        return SourceResult(serving.item_ids[rows], scores, model_rows=rows)
    ids, scores = model.recommend([user_id], k, exclude_seen=True)
    keep = np.isfinite(scores[0]) & (ids[0] >= 0)
    return SourceResult(ids[0][keep].astype(np.int64), scores[0][keep])


def _score_item_lists(serving, lists: list[np.ndarray], weights: list[np.ndarray], candidate_ids: np.ndarray) -> np.ndarray:
    """Exact model scores (n_lists, n_candidates) of candidates for fold-in histories; -inf where unscored."""
    model = serving.model
    if _is_factor(serving):
        vectors = model.fold_in_vectors(model.history_from_items(lists, weights))
        rows = model.item_map_.to_index(candidate_ids)
        return vectors @ model.item_embeddings()[rows].T
    ids, scores = model.recommend_for_items(lists, len(candidate_ids), weights=weights, allowed_items=candidate_ids)
    out = np.full((len(lists), len(candidate_ids)), -np.inf, dtype=np.float32)
    position = {int(item): j for j, item in enumerate(candidate_ids)}
    for row in range(len(lists)):
        for item, score in zip(ids[row], scores[row], strict=True):
            j = position.get(int(item))
            if j is not None and np.isfinite(score):
                out[row, j] = score
    return out


def source_foldin(*, serving, history: ActorHistory, exclude: set[int], k: int = FOLDIN_K) -> SourceResult:
    """Real time: a user vector folded in from the recent items; leave-one-out attribution to one of them."""
    model = serving.model
    recent = history.recent_items[:FOLDIN_ITEMS]
    weights = history.recent_weights[:FOLDIN_ITEMS]
    known = model.item_map_.to_index(recent, missing="ignore") >= 0
    recent, weights = recent[known], weights[known]
    if len(recent) == 0:
        return SourceResult.empty()
    over = k + len(recent) + min(len(exclude), 500)
    if serving.index is not None and _is_factor(serving):
        vector = model.fold_in_vectors(model.history_from_items([recent], [weights]))
        rows, scores = serving.index.search(vector, over)
        rows, scores = rows[0], scores[0]
        keep = rows >= 0
        ids, scores = serving.item_ids[rows[keep]], scores[keep]
    else:
        ids, scores = model.recommend_for_items([recent], over, weights=[weights])
        ids, scores = ids[0], scores[0]
        keep = (ids >= 0) & np.isfinite(scores)
        ids, scores = ids[keep].astype(np.int64), scores[keep]
    keep = ~np.isin(ids, recent) & ~np.isin(ids, np.fromiter(exclude, dtype=np.int64, count=len(exclude)))
    ids, scores = ids[keep][:k], scores[keep][:k]
    if len(ids) == 0:
        return SourceResult.empty()
    if len(recent) == 1:
        evidence = np.full(len(ids), recent[0], dtype=np.int64)  # removing the only item removes the source
    else:
        lists = [np.delete(recent, j) for j in range(len(recent))]
        list_weights = [np.delete(weights, j) for j in range(len(recent))]
        full = _score_item_lists(serving, [recent], [weights], ids)[0]
        ablated = _score_item_lists(serving, lists, list_weights, ids)
        drop = full[None, :] - np.where(np.isfinite(ablated), ablated, full[None, :] - 1e9)
        best = np.argmax(drop, axis=0)
        evidence = np.where(drop[best, np.arange(len(ids))] > 1e-6, recent[best], -1)
    return SourceResult(ids, scores, evidence_items=evidence.astype(np.int64))


def source_neighbours(*, serving, history: ActorHistory, table: PopularityTable, exclude: set[int]) -> SourceResult:
    """Item-to-item neighbours of the recent items: score = sum over recent items r of w_r * sim(r, item)."""
    recent = history.recent_items[:FOLDIN_ITEMS]
    if len(recent) == 0:
        return SourceResult.empty()
    weights = history.recent_weights[:FOLDIN_ITEMS].astype(np.float64)
    weights = weights / weights.max() if weights.max() > 0 else np.ones(len(recent))
    pair_items: list[np.ndarray] = []
    pair_scores: list[np.ndarray] = []
    pair_sources: list[np.ndarray] = []
    known = np.zeros(len(recent), dtype=bool)
    if serving is not None:
        known = serving.model.item_map_.to_index(recent, missing="ignore") >= 0
        if known.any():
            # Large catalogs: neighbours among the popular (available) items, ten times cheaper than scoring every
            # item; the ANN and fold-in sources still reach the long tail.
            allowed = table.item_ids if serving.model.n_items > NEIGHBOURS_FULL_SCAN_MAX and len(table.item_ids) else None
            ids, sims = serving.model.similar_items(recent[known], NEIGHBOURS_PER_ITEM, allowed_items=allowed)
            for r, w, row_ids, row_sims in zip(recent[known], weights[known], ids, sims, strict=True):
                ok = (row_ids >= 0) & np.isfinite(row_sims) & (row_sims > 0)
                pair_items.append(row_ids[ok].astype(np.int64))
                pair_scores.append(w * row_sims[ok])
                pair_sources.append(np.full(int(ok.sum()), r, dtype=np.int64))
    top = float(table.max_score)
    for r, w in zip(recent[~known], weights[~known], strict=True):
        # Content fallback (no model, or an item newer than the model): popular items of the same category.
        positions = table.category_top.get(history.recent_categories.get(int(r), -1), np.zeros(0, dtype=np.int64))[
            :NEIGHBOURS_PER_ITEM
        ]
        if len(positions) and top > 0:
            pair_items.append(table.item_ids[positions])
            pair_scores.append(0.5 * w * np.log1p(table.scores[positions]) / np.log1p(top))
            pair_sources.append(np.full(len(positions), r, dtype=np.int64))
    if not pair_items:
        return SourceResult.empty()
    items = np.concatenate(pair_items)
    scores = np.concatenate(pair_scores).astype(np.float64)
    sources = np.concatenate(pair_sources)
    keep = ~np.isin(items, recent) & ~np.isin(items, np.fromiter(exclude, dtype=np.int64, count=len(exclude)))
    items, scores, sources = items[keep], scores[keep], sources[keep]
    if len(items) == 0:
        return SourceResult.empty()
    unique, inverse = np.unique(items, return_inverse=True)
    totals = np.bincount(inverse, weights=scores)
    # evidence: the recent item with the largest term in the item's sum
    order = np.lexsort((-scores, inverse))
    first = order[np.r_[0, np.flatnonzero(np.diff(inverse[order])) + 1]]
    evidence = sources[first]
    return SourceResult(unique, totals.astype(np.float32), evidence_items=evidence)


# --------------------------------------------------------------------------------- non-model sources
def source_popular(*, table: PopularityTable, exclude: set[int], k: int = POPULAR_K) -> SourceResult:
    take = table.item_ids[: k + len(exclude)]
    scores = table.scores[: k + len(exclude)]
    keep = ~np.isin(take, np.fromiter(exclude, dtype=np.int64, count=len(exclude)))
    return SourceResult(take[keep][:k], scores[keep][:k])


def favourite_categories(*, history: ActorHistory, prefs: PreferenceSnapshot) -> list[int]:
    ranked = sorted(history.category_affinity.items(), key=lambda pair: (-pair[1], pair[0]))
    favourites = [category for category, _ in ranked[:FAVOURITE_CATEGORIES]]
    favourites += [category for category, weight in sorted(prefs.category_weights.items()) if weight > 1.0]
    return list(dict.fromkeys(c for c in favourites if c not in prefs.excluded_categories))


def source_trending(*, table: PopularityTable, categories: list[int], exclude: set[int]) -> SourceResult:
    ids, scores = [], []
    for category in categories:
        positions = table.category_top.get(category)
        if positions is None or len(positions) == 0:
            continue
        positions = positions[: TRENDING_PER_CATEGORY + len(exclude)]
        top = table.scores[positions[0]]
        ids.append(table.item_ids[positions])
        scores.append(table.scores[positions] / top if top > 0 else np.zeros(len(positions)))
    if not ids:
        return SourceResult.empty()
    item_ids, item_scores = np.concatenate(ids), np.concatenate(scores)
    keep = ~np.isin(item_ids, np.fromiter(exclude, dtype=np.int64, count=len(exclude)))
    return SourceResult(item_ids[keep], item_scores[keep])


def source_new_arrivals(
    *, pool: NewArrivals, history: ActorHistory, settings: RecommenderSettings, exclude: set[int], personalized: bool, now: float
) -> SourceResult:
    if len(pool.item_ids) == 0:
        return SourceResult.empty()
    horizon = max(settings.new_item_days, 1) * 86400.0
    freshness = np.clip(1.0 - (now - pool.created_ts) / horizon, 0.0, 1.0)
    content = np.zeros(len(pool.item_ids))
    evidence = np.full(len(pool.item_ids), -1, dtype=np.int64)
    if personalized and not history.is_empty:
        affinity = np.asarray([history.category_affinity.get(c, 0.0) for c in pool.category_ids.tolist()])
        best = np.zeros(len(pool.item_ids))
        for r in history.recent_items[:FOLDIN_ITEMS].tolist():
            jaccard = pool.tag_jaccard(set(history.recent_tags.get(r, ())))
            better = jaccard > best
            best[better], evidence[better] = jaccard[better], r
        content = affinity + 0.6 * best
    scores = freshness * (0.4 + content)
    keep = (freshness > 0) & ~np.isin(pool.item_ids, np.fromiter(exclude, dtype=np.int64, count=len(exclude)))
    keep &= ~np.isin(pool.item_ids, history.recent_items)
    order = np.argsort(-np.where(keep, scores, -np.inf), kind="stable")[: int(keep.sum())][:NEW_ARRIVALS_K]
    return SourceResult(pool.item_ids[order], scores[order].astype(np.float32), evidence_items=evidence[order])


def source_explore(
    *, table: PopularityTable, pool: NewArrivals, history: ActorHistory, prefs: PreferenceSnapshot, settings: RecommenderSettings,
    exclude: set[int], seed: int,
) -> SourceResult:
    """Items of categories the actor has never touched: popular ones, mixed with random ones by exploration_rate."""
    rng = np.random.default_rng(seed)
    blocked = set(prefs.excluded_categories) | {c for c, w in prefs.category_weights.items() if w <= 0} | {
        c for c, share in history.category_affinity.items() if share > 0}
    rate = float(np.clip(settings.exploration_rate, 0.0, 1.0))
    ids, scores = [], []
    # Categories with popularity: their most popular items, some swapped for random ones of their top lists.
    if len(table.top_categories):
        rows = np.flatnonzero(~np.isin(table.top_categories, np.fromiter(blocked, dtype=np.int64, count=len(blocked))))
        if len(rows):
            window = table.top_positions[rows, : EXPLORE_PER_CATEGORY * 4]  # (categories, 20), -1 padded
            n_random = int(round(rate * EXPLORE_PER_CATEGORY))
            head = window[:, : EXPLORE_PER_CATEGORY - n_random]
            tail = window[:, EXPLORE_PER_CATEGORY - n_random :]
            if n_random:  # random columns of the rest of each category's window (padding stays padding)
                shuffled = np.take_along_axis(tail, np.argsort(rng.random(tail.shape) + (tail < 0), axis=1), axis=1)
                chosen = np.concatenate([head, shuffled[:, :n_random]], axis=1)
            else:
                chosen = head
            top = table.scores[window[:, 0]]
            positions = chosen.ravel()
            valid = positions >= 0
            popularity = (table.scores[np.maximum(chosen, 0)] / top[:, None]).ravel()
            ids.append(table.item_ids[positions[valid]])
            scores.append((1.0 - rate) * popularity[valid] + rate * rng.random(int(valid.sum())))
    # Categories without popularity yet: their newest items.
    fresh = [c for c in dict.fromkeys(pool.category_ids.tolist()) if c not in blocked and c not in table.category_top]
    for category in fresh:
        category_ids = pool.item_ids[pool.category_ids == category][:EXPLORE_PER_CATEGORY]
        ids.append(category_ids)
        scores.append(rate * rng.random(len(category_ids)))
    if not ids:
        return SourceResult.empty()
    item_ids, item_scores = np.concatenate(ids), np.concatenate(scores)
    keep = ~np.isin(item_ids, np.fromiter(exclude, dtype=np.int64, count=len(exclude)))
    item_ids, item_scores = item_ids[keep], item_scores[keep]
    order = np.argsort(-item_scores, kind="stable")[:EXPLORE_K]
    return SourceResult(item_ids[order], item_scores[order].astype(np.float32))


def source_catalog(*, exclude: set[int], k: int) -> SourceResult:
    """A shop without any popularity yet: its newest available items (explained as such, not as popular)."""
    rows = list(
        Item.objects.filter(is_active=True, in_stock=True).exclude(pk__in=list(exclude)[:1000]).order_by("-created_at", "-id").values_list("pk", flat=True)[:k]
    )
    ids = np.asarray(rows, dtype=np.int64)
    return SourceResult(ids, np.linspace(1.0, 0.5, len(ids)).astype(np.float32))
