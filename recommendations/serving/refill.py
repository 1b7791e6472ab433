"""The refill: broader pools for a feed session whose candidates ran short, so the feed ends only when the shop does.

The actor's candidate table (:mod:`~recommendations.serving.candidates`) holds a few hundred items; a long
scroll serves them all. The feed then goes on from a per-session :class:`RefillPool`, grown a chunk at a time
and only when a page needs it:

1. the rest of the popularity table, most popular first: each item is ``popular``, also ``trending`` in the
   actor's favourite categories and ``explore`` in categories the actor never touched;
2. then the rest of the available catalogue, newest first (``catalog``; ``explore`` too in untouched
   categories), read by keyset pages of the primary key.

Items served in the session, the actor's exclusions (purchased, skipped, hidden) and blocked categories never
enter the pool; served rows are dropped whenever it grows, so it stays about one chunk long. When both stages
are spent, ``exhausted`` is true: what the pool still holds is all that is left unseen.

:class:`PageFiller` decides a page from the candidates first and from the refill only for the slots they
leave, and tells the pipeline whether anything unseen is left (the cursor's condition).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from catalog.models import Item
from recommendations.events import Actor
from recommendations.models import RecommenderSettings
from recommendations.serving.actors import ActorHistory, PreferenceSnapshot, actor_history_get
from recommendations.serving.candidates import CandidateTable, candidates_merge
from recommendations.serving.cards import ItemCard, item_cards_get
from recommendations.serving.decide import SPARE, PageDecision, RecommendedItem, decisions_join, page_decide, page_items
from recommendations.serving.ranking import LearnedRanker
from recommendations.serving.rerank import allowed_mask
from recommendations.serving.sources import SourceResult, favourite_categories
from recommendations.serving.tables import NewArrivals, PopularityTable, new_arrivals_get, popularity_table_get

FILL_ROUNDS = 3  # decide again, without them, when picks turned out unavailable (twice at most)
REFILL_CHUNK = 400  # items added per growth: about 4 pages of the largest size (MAX_N = 100)
CATALOG_SCAN = 2000  # catalogue rows read per keyset query while filling a chunk
_EMPTY_IDS = np.zeros(0, dtype=np.int64)


@dataclass
class RefillPool:
    """A feed session's refill: candidate rows not served yet, and how far each broader pool has been read."""

    signature: str  # the candidate signature it was built under (model, settings, state token, preferences)
    table: CandidateTable
    exclude: np.ndarray = field(default_factory=lambda: _EMPTY_IDS)  # sorted: never recommended to this actor
    favourites: tuple[int, ...] = ()  # categories whose popular items are "trending" for the actor
    touched: tuple[int, ...] = ()  # categories the actor has interacted with (the others are "explore")
    popular_done: bool = False
    catalog_after: int | None = None  # keyset: the next catalogue rows have a smaller primary key
    catalog_done: bool = False

    @property
    def exhausted(self) -> bool:
        return self.popular_done and self.catalog_done


def refill_pool_new(
    *, signature: str, history: ActorHistory, prefs: PreferenceSnapshot, personalized: bool
) -> RefillPool:
    """An empty pool for this actor (``personalized``: their history shapes the trending and explore labels)."""
    exclude = np.unique(np.fromiter(set(history.exclude_items) | set(prefs.hidden_items), dtype=np.int64))
    used = history if personalized else ActorHistory()
    return RefillPool(
        signature=signature,
        table=CandidateTable.empty(),
        exclude=exclude,
        favourites=tuple(favourite_categories(history=used, prefs=prefs)) if personalized else (),
        touched=tuple(sorted(c for c, share in used.category_affinity.items() if share > 0)),
    )


def refill_grow(
    *,
    refill: RefillPool,
    served: frozenset[int] | set[int],
    prefs: PreferenceSnapshot,
    popularity: PopularityTable,
    new_arrivals: NewArrivals,
    settings: RecommenderSettings,
    serving,
    chunk: int = REFILL_CHUNK,
    now: float | None = None,
) -> RefillPool:
    """The pool with served rows dropped and up to ``chunk`` more items from the next pool that has any.

    Parameters
    ----------
    refill
        The session's pool so far.
    served
        Items served in this feed session (and picked for the page being decided): never added again.
    prefs
        The actor's controls: hidden items and blocked categories are left out.
    popularity, new_arrivals
        The shared tables (stage 1 reads the popularity table; both give most items' category and age).
    chunk
        Most items added (one database query per :data:`CATALOG_SCAN` catalogue rows read, in stage 2).

    Returns
    -------
    RefillPool
        A new pool; ``exhausted`` once both stages have nothing more to give.
    """
    now = time.time() if now is None else now
    kept = refill.table.take(allowed_mask(table=refill.table, prefs=prefs, served=served))
    known = np.union1d(refill.exclude, np.fromiter(served, dtype=np.int64, count=len(served)))
    known = np.union1d(known, kept.item_ids)
    popular_done, catalog_after, catalog_done = refill.popular_done, refill.catalog_after, refill.catalog_done
    results: dict[str, SourceResult] = {}
    if not popular_done:
        fresh = ~np.isin(popularity.item_ids, known)
        ids, scores, categories = popularity.item_ids[fresh], popularity.scores[fresh], popularity.category_ids[fresh]
        popular_done = len(ids) <= chunk
        ids, scores, categories = ids[:chunk], scores[:chunk], categories[:chunk]
        results["popular"] = SourceResult(ids, scores)
        results.update(_labelled(ids=ids, scores=scores, categories=categories, refill=refill))
    elif not catalog_done:
        ids, categories, catalog_after, catalog_done = _catalog_scan(after=catalog_after, known=known, k=chunk)
        scores = np.linspace(1.0, 0.5, len(ids)) if len(ids) else np.zeros(0)  # newest first
        results["catalog"] = SourceResult(ids, scores)
        results.update(_labelled(ids=ids, scores=scores, categories=categories, refill=refill, trending=False))
    added = candidates_merge(
        results=results, table=popularity, pool=new_arrivals, history=ActorHistory(), settings=settings, serving=serving,
        now=now, personalized=False,
    )
    added = added.take(allowed_mask(table=added, prefs=prefs, served=served))
    return replace(
        refill, table=kept.extended(added) if len(kept) else added, popular_done=popular_done, catalog_after=catalog_after,
        catalog_done=catalog_done,
    )


def _labelled(
    *, ids: np.ndarray, scores: np.ndarray, categories: np.ndarray, refill: RefillPool, trending: bool = True
) -> dict[str, SourceResult]:
    """The trending (favourite categories) and explore (untouched categories) memberships of a chunk's items."""
    out = {}
    favourite = np.isin(categories, np.asarray(refill.favourites, dtype=np.int64))
    if trending and favourite.any():
        out["trending"] = SourceResult(ids[favourite], scores[favourite])
    untouched = ~np.isin(categories, np.asarray(refill.touched, dtype=np.int64))
    if untouched.any():
        out["explore"] = SourceResult(ids[untouched], scores[untouched])
    return out


def _catalog_scan(*, after: int | None, known: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, int | None, bool]:
    """Up to ``k`` available items not in ``known`` (sorted), newest first by primary key from ``after`` down.

    Returns the ids, their categories, the keyset position to continue from and whether the catalogue is done.
    """
    ids: list[np.ndarray] = []
    categories: list[np.ndarray] = []
    found = 0
    while found < k:
        rows = Item.objects.filter(is_active=True, in_stock=True)
        if after is not None:
            rows = rows.filter(pk__lt=after)
        raw = np.asarray(list(rows.order_by("-pk").values_list("pk", "category_id")[:CATALOG_SCAN]), dtype=np.int64)
        if len(raw) == 0:
            return _joined(ids), _joined(categories), after, True
        fresh = raw[~np.isin(raw[:, 0], known)]
        if len(fresh) > k - found:  # stops inside this page: continue below the last item taken
            fresh = fresh[: k - found]
            ids.append(fresh[:, 0])
            categories.append(fresh[:, 1])
            return _joined(ids), _joined(categories), int(fresh[-1, 0]), False
        ids.append(fresh[:, 0])
        categories.append(fresh[:, 1])
        found += len(fresh)
        after = int(raw[-1, 0])
        if len(raw) < CATALOG_SCAN:
            return _joined(ids), _joined(categories), after, True
    return _joined(ids), _joined(categories), after, False


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts).astype(np.int64) if parts else _EMPTY_IDS


# ---------------------------------------------------------------------------------------- filling a page
@dataclass
class PageFiller:
    """Decides one page from the actor's candidates and, when they run short, from the session's refill."""

    actor: Actor
    table: CandidateTable
    settings: RecommenderSettings
    prefs: PreferenceSnapshot
    serving: object
    n: int
    signature: str
    context_affinity: dict[int, float]
    ranker: LearnedRanker | None
    embeddings: np.ndarray | None
    refill: RefillPool | None = None
    refill_grown: bool = False
    hydrate_seconds: float = 0.0

    def _decide(self, candidates: CandidateTable, blocked: frozenset[int]) -> PageDecision:
        return page_decide(
            candidates=candidates, settings=self.settings, prefs=self.prefs, context_affinity=self.context_affinity,
            ranker=self.ranker, served=blocked, n=self.n, embeddings=self.embeddings,
        )

    def _refill_get(self) -> RefillPool:
        if self.refill is None or self.refill.signature != self.signature:
            self.refill = refill_pool_new(
                signature=self.signature, history=actor_history_get(actor=self.actor, settings=self.settings),
                prefs=self.prefs, personalized=self.prefs.personalization_enabled,
            )
        return self.refill

    def decide(self, *, blocked: frozenset[int]) -> tuple[PageDecision, bool]:
        """Up to ``n + SPARE`` picks outside ``blocked``, and whether they are all that is left unseen."""
        want = self.n + SPARE
        decision = self._decide(self.table, blocked)
        if len(decision.picks) >= want:  # the warm path: the candidates suffice
            return decision, False
        blocked = blocked | {pick.item_id for pick in decision.picks}
        refill = self._refill_get()
        more = self._decide(refill.table, blocked)
        while len(decision.picks) + len(more.picks) < want and not refill.exhausted:
            refill = refill_grow(
                refill=refill, served=blocked, prefs=self.prefs, popularity=popularity_table_get(settings=self.settings),
                new_arrivals=new_arrivals_get(settings=self.settings), settings=self.settings, serving=self.serving,
            )
            self.refill, self.refill_grown = refill, True
            more = self._decide(refill.table, blocked)
        joined = decisions_join(decision, more, limit=want)
        return joined, len(joined.picks) < want

    def fill(
        self, *, served: frozenset[int], catalog_revision: str | None
    ) -> tuple[PageDecision, list[RecommendedItem], list[int], bool]:
        """The page: its decision, its items, the picks passed over as unavailable, and whether more is left."""
        blocked = set(served)
        decision: PageDecision | None = None
        cards: dict[int, ItemCard] = {}
        items: list[RecommendedItem] = []
        exhausted = False
        for _ in range(FILL_ROUNDS):
            found, exhausted = self.decide(blocked=frozenset(blocked))
            decision = found if decision is None else decisions_join(decision, found)
            mark = time.perf_counter()
            cards = item_cards_get(decision.card_ids, catalog_revision=catalog_revision)
            items = page_items(decision=decision, cards=cards)
            self.hydrate_seconds += time.perf_counter() - mark
            blocked.update(pick.item_id for pick in found.picks)
            if len(items) >= self.n or exhausted:
                break
        passed_over = [pick.item_id for pick in decision.picks if pick.item_id not in cards or not cards[pick.item_id].is_available]
        left = len(decision.picks) - len(passed_over) > len(items)  # available picks this page had no room for
        return decision, items, passed_over, left or not exhausted
