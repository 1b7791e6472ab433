"""Signal receivers of serving (connected by RecommendationsConfig.ready)."""
from collections.abc import Set
from typing import Any

from django.dispatch import receiver

from common.services import cache_invalidate_around_commit
from recommendations.events import events_recorded
from recommendations.serving.cache import actor_state_touch


@receiver(events_recorded, dispatch_uid="serving.actor_state_touch")
def actor_state_touch_on_events(*, user_ids: Set[int], session_keys: Set[str], **kwargs: Any) -> None:
    """Real time: the actors' next recommendations are rebuilt from their new events, without retraining.

    Touched now (the sender's own transaction block has committed) and again after an enclosing transaction
    commits, so a request in another process cannot cache candidates built from the rows as they were before.
    """
    cache_invalidate_around_commit(lambda: actor_state_touch(user_ids=user_ids, session_keys=session_keys))
