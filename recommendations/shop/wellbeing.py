"""Wellbeing: after a continuous stretch of feed use, the feed shows a gentle break notice.

The stretch lives in the browser session: each feed page (or next-page load) marks activity; a pause of
``BREAK_GAP`` or more starts a new stretch. The admin sets the length (``wellbeing_session_minutes``; 0 = off)
and can turn the notice off (``wellbeing_enabled``). Dismissing the notice starts a new stretch, so it comes back
only after another full stretch.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from recommendations.models import RecommenderSettings
from recommendations.tuning import recommender_settings_get

SESSION_WELLBEING_KEY = "vitrine_wellbeing"
BREAK_GAP = dt.timedelta(minutes=10)
# The session is written at most this often (each write is a database row update with the default backend;
# concurrent feed requests need not all rewrite it).
WRITE_EVERY = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class WellbeingStatus:
    show: bool
    minutes: int  # length of the current stretch, whole minutes
    limit: int  # configured minutes (0 = off)


def _limit(settings: RecommenderSettings) -> int:
    return int(settings.wellbeing_session_minutes) if settings.wellbeing_enabled else 0


def wellbeing_activity(*, session, now: dt.datetime | None = None, settings: RecommenderSettings | None = None) -> WellbeingStatus:
    """Mark feed activity now and say whether to show the break notice."""
    now = now or timezone.now()
    settings = settings or recommender_settings_get()
    data = session.get(SESSION_WELLBEING_KEY) or {}
    try:
        start = dt.datetime.fromtimestamp(float(data["start"]), tz=dt.UTC)
        last = dt.datetime.fromtimestamp(float(data["last"]), tz=dt.UTC)
        stored = True
    except (KeyError, TypeError, ValueError, OverflowError):
        start = last = now
        stored = False
    if now - last >= BREAK_GAP or last > now:
        start = now
    if not stored or start == now or now - last >= WRITE_EVERY:
        session[SESSION_WELLBEING_KEY] = {"start": start.timestamp(), "last": now.timestamp()}
        session.modified = True
    minutes = int((now - start).total_seconds() // 60)
    limit = _limit(settings)
    return WellbeingStatus(show=limit > 0 and minutes >= limit, minutes=minutes, limit=limit)


def wellbeing_dismiss(*, session, now: dt.datetime | None = None) -> None:
    """"Got it": the next notice comes after another full stretch."""
    now = now or timezone.now()
    session[SESSION_WELLBEING_KEY] = {"start": now.timestamp(), "last": now.timestamp()}
    session.modified = True
