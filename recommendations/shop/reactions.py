"""Reactions from the site: like / skip (feed cards, item pages, swipe mode) and undoing a "not interested".

Each reaction is an event at once (not batched), so the next cards are built from it (real time).
"""
from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError

from catalog.models import Item
from recommendations.events import Actor, IngestResult, event_ingest
from recommendations.models import EventType
from recommendations.serving import SESSION_PREFERENCES_KEY

REACTIONS = {"like": EventType.LIKE, "skip": EventType.SKIP}


def reaction_record(
    *, actor: Actor, item: Item, reaction: str, surface: str = "feed", client_event_id: str = "", request_id: str = ""
) -> IngestResult:
    """Record ``like`` or ``skip`` for ``item``; resending the same ``client_event_id`` records nothing twice."""
    event_type = REACTIONS.get(reaction)
    if event_type is None:
        raise ValidationError(f"Unknown reaction {reaction!r}; expected like or skip.")
    context = {"surface": str(surface)[:24]}
    if request_id:
        context["request_id"] = str(request_id)[:64]
    return event_ingest(
        actor=actor,
        events=[{
            "client_event_id": str(client_event_id or f"{reaction}-{uuid.uuid4().hex}")[:64],
            "item": item.pk,
            "event_type": event_type,
            "context": context,
        }],
    )


def not_interested_undo(*, actor: Actor, item_id: int, session=None) -> None:
    """Show a hidden item again: from the user's preferences, or from an anonymous session's choices."""
    if actor.user_id is not None:
        from users.models import User
        from users.services import preferences_item_unhide

        preferences_item_unhide(user=User.objects.get(pk=actor.user_id), item_id=item_id)
        return
    if session is None:
        return
    data = dict(session.get(SESSION_PREFERENCES_KEY) or {})
    hidden = [pk for pk in data.get("hidden_items", []) if int(pk) != int(item_id)]
    if hidden != data.get("hidden_items", []):
        data["hidden_items"] = hidden
        session[SESSION_PREFERENCES_KEY] = data
        session.modified = True
