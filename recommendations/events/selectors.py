"""Read-side queries over events."""
from django.db.models import QuerySet

from recommendations.models import Event


def event_list(*, user_id: int | None = None, session_key: str = "") -> QuerySet[Event]:
    """A user's (or an anonymous session's) own events, newest first."""
    queryset = Event.objects.select_related("item")
    if user_id is not None:
        return queryset.filter(user_id=user_id)
    if session_key:
        return queryset.filter(user__isnull=True, session_key=session_key)
    return queryset.none()
