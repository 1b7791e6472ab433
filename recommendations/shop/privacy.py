"""The shopper's own data kept by recommendations (events, impressions): export, delete, reset, claim at login.

Account-level actions live in ``users.services`` and reach these through ``users.signals`` (see ``receivers``);
the "My data" pages call them directly.
"""
from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from common.services import cache_invalidate_around_commit
from recommendations.models import Event, Impression
from recommendations.serving import actor_state_touch, impressions_claim, impressions_forget
from users.models import User

EXPORT_CHUNK = 2000


def _serving_state_touch(*, user_id: int) -> None:
    """The user's next recommendations are rebuilt (their history changed): now and, in a transaction, at commit."""
    cache_invalidate_around_commit(lambda: actor_state_touch(user_ids={user_id}))


def user_history_export(*, user: User) -> dict[str, list[dict[str, Any]]]:
    """The ``events`` and ``impressions`` sections of the user's data export, oldest first, JSON-ready."""
    events = Event.objects.filter(user=user).order_by("timestamp", "id").values(
        "id", "client_event_id", "item_id", "item__title", "event_type", "value", "context", "timestamp"
    )
    impressions = Impression.objects.filter(user=user).order_by("created_at", "id").values(
        "request_id", "item_id", "position", "source", "reason", "surface", "created_at"
    )
    return {
        "events": [
            {
                "id": row["id"],
                "client_event_id": row["client_event_id"],
                "item": row["item_id"],
                "item_title": row["item__title"],
                "event_type": row["event_type"],
                "value": row["value"],
                "context": row["context"],
                "timestamp": row["timestamp"].isoformat(),
            }
            for row in events.iterator(chunk_size=EXPORT_CHUNK)
        ],
        "impressions": [
            {**row, "created_at": row["created_at"].isoformat()} for row in impressions.iterator(chunk_size=EXPORT_CHUNK)
        ],
    }


def user_event_delete(*, user: User, event_id: int) -> bool:
    """Delete one of the user's own events (never anyone else's). Returns whether something was deleted."""
    deleted, _ = Event.objects.filter(pk=event_id, user=user).delete()
    if deleted:
        _serving_state_touch(user_id=user.pk)
    return bool(deleted)


def user_history_reset(*, user: User) -> int:
    """Forget the user's interaction history (events and impressions); preferences stay. Returns events deleted.

    Also the recommendations part of an account deletion (inside its transaction).
    """
    # Before the rows go: impressions still buffered, here or in another process, must not be written after.
    impressions_forget(user_ids={user.pk})
    with transaction.atomic():
        deleted, _ = Event.objects.filter(user=user).delete()
        Impression.objects.filter(user=user).delete()
    _serving_state_touch(user_id=user.pk)
    return deleted


def session_history_claim(*, user: User, session_key: str) -> int:
    """Move an anonymous session's events and impressions onto ``user`` (sign-in or sign-up). Returns the events
    moved; the user's next recommendations are rebuilt from them.

    Client event ids are unique per actor: where the user already has an event with the same client id as one
    of the session's, the user's own copy wins and the session's duplicate is dropped (it is the same event,
    sent twice; moving it would break the user's idempotency).
    """
    if not session_key:
        return 0
    impressions_claim(session_key=session_key, user_id=user.pk)
    moved = _session_events_move(user=user, session_key=session_key)
    if moved:
        actor_state_touch(user_ids={user.pk}, session_keys={session_key})
    return moved


def _session_events_move(*, user: User, session_key: str, attempts: int = 3) -> int:
    """Drop the session's events whose client id the user already has, move the rest (one transaction).

    A concurrent write of the same user and client id between the two statements makes the move violate the
    per-user unique index; the transaction is then rolled back and tried again (nothing is lost either way).
    """
    for attempt in range(attempts):
        try:
            with transaction.atomic():
                session_events = Event.objects.filter(user__isnull=True, session_key=session_key)
                owned = Event.objects.filter(user=user).values("client_event_id")
                session_events.filter(client_event_id__in=owned).delete()
                moved = session_events.update(user=user, session_key="")
                Impression.objects.filter(user__isnull=True, session_key=session_key).update(user=user, session_key="")
            return moved
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    return 0
