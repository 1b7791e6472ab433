"""Deciding a feed page: ranking -> rules and re-ranking -> reasons, from what the request has already read.

Everything here is pure: no cache, database, impression log, cursor or clock. The feed
(:func:`~recommendations.serving.pipeline.feed_recommendations_get`) reads the inputs and logs the result
around it; the admin's preview calls the same functions with the live and the edited settings, so both show
pages decided the same way.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommendations.models import RecommenderSettings
from recommendations.serving.actors import PreferenceSnapshot
from recommendations.serving.candidates import SOURCES, CandidateTable
from recommendations.serving.cards import ItemCard
from recommendations.serving.explanations import Reason, reason_for, reason_render
from recommendations.serving.ranking import LearnedRanker, features_compute, fusion_scores
from recommendations.serving.rerank import page_plan

SPARE = 4  # extra picks in case an item went out of stock since the candidates were built


@dataclass
class RecommendedItem:
    item: ItemCard
    position: int
    score: float
    source: str
    explanation: dict


@dataclass(frozen=True)
class PagePick:
    """An item the page shows if it is still available, and what its impression records."""

    item_id: int
    source: str  # a name of SOURCES
    score: float  # relevance after the user's category weights
    reason: Reason
    features: list[float]  # the ranker's features of the item, rounded to 4 decimals


@dataclass(frozen=True)
class PageDecision:
    picks: list[PagePick]  # in page order: up to n + SPARE
    n: int  # items the page shows
    ranker: str  # "fusion" or "learned"
    interaction_types: dict[int, str]  # recent item -> strongest event type (the verb of a reason)

    @property
    def card_ids(self) -> set[int]:
        """The items whose cards the page needs: the picks and the items their reasons cite."""
        return {pick.item_id for pick in self.picks} | {pick.reason.item for pick in self.picks if pick.reason.item is not None}


def page_decide(
    *,
    candidates: CandidateTable,
    settings: RecommenderSettings,
    prefs: PreferenceSnapshot,
    context_affinity: dict[int, float],
    ranker: LearnedRanker | None,
    served: frozenset[int],
    n: int,
    embeddings: np.ndarray | None = None,
) -> PageDecision:
    """Rank the candidates, apply the rules and re-rank them into a page, and give each pick its reason.

    Parameters
    ----------
    candidates
        The actor's candidate table, ``m`` rows (stage 1).
    settings
        Recommender settings (live, or edited ones in the admin's preview).
    prefs
        The actor's controls: hidden items, excluded and weighted categories, diversity and exploration levels.
    context_affinity
        Category -> lift in [-1, 1] for the request's device and daypart ({} without context).
    ranker
        The learned ranker, or None for the fusion of source scores.
    served
        Items already served in this feed session: never picked again.
    n
        Items the page shows; ``n + SPARE`` are picked.
    embeddings
        ``(n_model_items, d)`` item vectors of the model for MMR diversity, or None.

    Returns
    -------
    PageDecision
        The picks in page order, before the availability check of :func:`page_items`.
    """
    features = features_compute(table=candidates, context_affinity=context_affinity)
    if ranker is not None:
        relevance, ranker_kind = ranker.score(features), "learned"
    else:
        relevance, ranker_kind = fusion_scores(features=features, settings=settings), "fusion"
    plan = page_plan(
        table=candidates, relevance=relevance, prefs=prefs, settings=settings, served=served, n=n + SPARE, embeddings=embeddings,
    )
    rounded = np.round(features[plan.rows].astype(np.float64), 4).tolist()
    picks = [
        PagePick(
            item_id=int(candidates.item_ids[row]),
            source=SOURCES[source],
            score=score,
            reason=reason_for(table=candidates, row=row, source=source),
            features=rounded[k],
        )
        for k, (row, source, score) in enumerate(zip(plan.rows.tolist(), plan.sources.tolist(), plan.relevance.tolist(), strict=True))
    ]
    return PageDecision(picks=picks, n=n, ranker=ranker_kind, interaction_types=candidates.interaction_types)


def decisions_join(first: PageDecision, then: PageDecision, *, limit: int | None = None) -> PageDecision:
    """``first``'s picks followed by ``then``'s (at most ``limit`` in all): a page filled from a second pool.

    The caller decides ``then`` with ``first``'s picks counted as served, so no item is picked twice.
    """
    picks = first.picks + then.picks
    return PageDecision(
        picks=picks[:limit] if limit is not None else picks,
        n=first.n,
        ranker=first.ranker,
        interaction_types={**then.interaction_types, **first.interaction_types},
    )


def page_items(*, decision: PageDecision, cards: dict[int, ItemCard]) -> list[RecommendedItem]:
    """The page: the first ``decision.n`` picks whose card is available, with their explanations rendered.

    ``cards``: the cards of ``decision.card_ids`` (a missing card is an item gone from the catalog).
    """
    titles = {pk: card.title for pk, card in cards.items()}
    items: list[RecommendedItem] = []
    for pick in decision.picks:
        card = cards.get(pick.item_id)
        if card is None or not card.is_available:
            continue
        explanation = reason_render(
            pick.reason, titles=titles, category_names={card.category.id: card.category.name},
            interaction_types=decision.interaction_types,
        )
        items.append(RecommendedItem(item=card, position=len(items), score=round(pick.score, 6), source=pick.source, explanation=explanation))
        if len(items) >= decision.n:
            break
    return items
