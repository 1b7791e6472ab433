"""Signal receivers of the shop pages and the shopper's data (connected by RecommendationsConfig.ready)."""
from typing import Any

from django.dispatch import receiver

from recommendations.shop.privacy import session_history_claim, user_history_export, user_history_reset
from users.signals import session_history_claimed, user_data_requested, user_erasing


@receiver(user_data_requested, dispatch_uid="recommendations.shop.user_data_requested")
def _user_data_requested(sender, user, **kwargs) -> dict[str, Any]:
    return user_history_export(user=user)


@receiver(user_erasing, dispatch_uid="recommendations.shop.user_erasing")
def _user_erasing(sender, user, **kwargs) -> None:
    user_history_reset(user=user)


@receiver(session_history_claimed, dispatch_uid="recommendations.shop.session_history_claimed")
def _session_history_claimed(sender, user, session_key: str, **kwargs) -> int:
    return session_history_claim(user=user, session_key=session_key)
