"""Deciding a page is pure: the same inputs give the same page, with no database or cache access."""
import dataclasses

import pytest
from django.core.cache import caches

from recommendations.events.ingest import Actor
from recommendations.serving import (
    feed_inputs_get,
    feed_recommendations_get,
    item_cards_get,
    page_decide,
    page_items,
    page_items_get,
)
from recommendations.tuning import recommender_settings_get
from tests.recommendations.serving_support import page_ids

pytestmark = pytest.mark.django_db


def decide(inputs, settings, n):
    return page_decide(
        candidates=inputs.candidates, settings=settings, prefs=inputs.prefs, context_affinity={}, ranker=inputs.ranker,
        served=frozenset(), n=n, embeddings=inputs.embeddings,
    )


def test_page_decide_reads_nothing_and_repeats_itself(world, monkeypatch, django_assert_num_queries):
    settings = recommender_settings_get()
    inputs = feed_inputs_get(actor=Actor(user_id=world.user_of_group(0).pk), settings=settings)

    def no_cache(*args, **kwargs):
        raise AssertionError("page_decide used the cache")

    for method in ("get", "get_many", "set", "set_many", "add", "delete"):
        monkeypatch.setattr(caches["default"], method, no_cache)
    with django_assert_num_queries(0):
        first, second = decide(inputs, settings, 10), decide(inputs, settings, 10)
    assert first == second and first.ranker == "fusion"
    assert len(first.picks) == 10 + 4  # spare picks in case an item went out of stock
    assert {pick.reason.item for pick in first.picks if pick.reason.item is not None} <= first.card_ids


def test_the_preview_decides_the_page_the_feed_serves(world):
    actor, settings = Actor(user_id=world.user_of_group(2).pk), recommender_settings_get()
    served = feed_recommendations_get(actor=actor, n=12)
    previewed = page_items_get(decision=decide(feed_inputs_get(actor=actor, settings=settings), settings, 12))
    assert [entry.item.pk for entry in previewed] == page_ids(served)
    assert [entry.explanation for entry in previewed] == [entry.explanation for entry in served.items]


def test_page_items_skips_unavailable_picks_and_stops_at_n(world):
    settings = recommender_settings_get()
    decision = decide(feed_inputs_get(actor=Actor(user_id=world.user_of_group(1).pk), settings=settings), settings, 5)
    cards = item_cards_get(decision.card_ids)
    gone = decision.picks[0].item_id
    cards[gone] = dataclasses.replace(cards[gone], is_available=False)
    del cards[decision.picks[1].item_id]  # deleted from the catalog
    items = page_items(decision=decision, cards=cards)
    assert [entry.item.pk for entry in items] == [pick.item_id for pick in decision.picks[2:7]]
    assert [entry.position for entry in items] == list(range(5))
