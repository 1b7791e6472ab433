"""Feed sessions for infinite feeds: a signed cursor names the session; the items it served are remembered.

A feed session ends when nothing unseen is left: its last page carries no cursor (the pipeline refills from
broader pools before that, :mod:`~recommendations.serving.refill`).

The cursor is ``django.core.signing`` text holding the feed id, the next page number and a tag of the actor,
so it cannot be forged, replayed by someone else, or used after ``CURSOR_MAX_AGE``. The items served in a
feed session live in the cache; if the cache lost them, they are recovered from the logged impressions
(each impression records its feed id), so later pages never repeat an item either way.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core import signing
from django.core.cache import cache

from recommendations.events import Actor
from recommendations.models import Impression
from recommendations.serving.cache import FEED_SESSION_TTL, KEY_PREFIX
from recommendations.serving.impressions import impressions_flush

CURSOR_SALT = "vitrine.recommendations.cursor"
CURSOR_MAX_AGE = FEED_SESSION_TTL
MAX_PAGES = 500


class CursorError(ValueError):
    """The cursor is malformed, expired, forged or belongs to someone else."""


@dataclass(frozen=True)
class FeedPosition:
    feed_id: str
    page: int


#: Marks the "session key" of a cookieless anonymous client's feed: no session row exists (Django's own keys are
#: lowercase letters and digits); the signed cursor carries it from page to page.
TRANSIENT_PREFIX = "~"


def actor_tag(actor: Actor) -> str:
    return actor.key  # a session appears as its keyed hash: a cursor is signed, not encrypted


def cursor_encode(*, actor: Actor, position: FeedPosition) -> str:
    payload = {"f": position.feed_id, "p": position.page, "a": actor_tag(actor)}
    if actor.user_id is None and actor.session_key.startswith(TRANSIENT_PREFIX):
        payload["t"] = actor.session_key
    return signing.dumps(payload, salt=CURSOR_SALT, compress=True)


def feed_transient_actor(*, cursor: str | None) -> Actor:
    """The actor of a feed page for an anonymous client without a session: new on a first page, the one its
    (signed) cursor names on later pages. No session row is made for a read; ``cursor_decode`` still checks
    the cursor (a bad one gets a fresh actor here and is refused there)."""
    try:
        payload = signing.loads(cursor, salt=CURSOR_SALT, max_age=CURSOR_MAX_AGE) if cursor else None
    except signing.BadSignature:
        payload = None
    key = payload.get("t") if isinstance(payload, dict) else None
    if not (isinstance(key, str) and key.startswith(TRANSIENT_PREFIX)):
        key = TRANSIENT_PREFIX + uuid.uuid4().hex
    return Actor(session_key=key)


def cursor_decode(*, actor: Actor, cursor: str | None) -> FeedPosition:
    """The position a cursor points to; no cursor starts a new feed session."""
    if not cursor:
        return FeedPosition(feed_id=uuid.uuid4().hex[:16], page=0)
    try:
        payload = signing.loads(cursor, salt=CURSOR_SALT, max_age=CURSOR_MAX_AGE)
    except signing.SignatureExpired:
        raise CursorError("The cursor has expired; start a new feed without a cursor.") from None
    except signing.BadSignature:
        raise CursorError("The cursor is not valid; use the next_cursor of a previous response.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("f"), str) or not isinstance(payload.get("p"), int):
        raise CursorError("The cursor is not valid; use the next_cursor of a previous response.")
    if payload.get("a") != actor_tag(actor):
        raise CursorError("This cursor belongs to another visitor's feed.")
    if payload["p"] > MAX_PAGES:
        raise CursorError(f"A feed session holds at most {MAX_PAGES} pages; start a new feed without a cursor.")
    return FeedPosition(feed_id=payload["f"], page=payload["p"])


def feed_served_key(feed_id: str) -> str:
    return f"{KEY_PREFIX}:feed:{feed_id}"


def feed_refill_key(feed_id: str) -> str:
    """The session's :class:`~recommendations.serving.refill.RefillPool` (kept as long as the session)."""
    return f"{KEY_PREFIX}:feed-refill:{feed_id}"


def feed_served_get(*, actor: Actor, position: FeedPosition) -> frozenset[int]:
    """Items already served in this feed session (empty on its first page)."""
    if position.page == 0:
        return frozenset()
    served = cache.get(feed_served_key(position.feed_id))
    if served is not None:
        return frozenset(served)
    impressions_flush()  # this process's last pages may still wait in its buffer
    impressions = Impression.objects.filter(surface="feed", context__feed=position.feed_id)
    if actor.user_id is not None:
        impressions = impressions.filter(user_id=actor.user_id)
    else:
        impressions = impressions.filter(user__isnull=True, session_key=actor.session_key)
    return frozenset(impressions.values_list("item_id", flat=True))


def feed_served_add(*, position: FeedPosition, previous: frozenset[int], item_ids: list[int]) -> None:
    """Remember ``item_ids`` as served in this feed session (shown, or found unavailable: never picked again)."""
    cache.set(feed_served_key(position.feed_id), sorted(set(previous) | set(item_ids)), FEED_SESSION_TTL)
