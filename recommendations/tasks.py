"""Celery tasks: thin wrappers that take ids, call one service, and own their retry policy."""
from celery import shared_task

from recommendations.services.popularity import popularity_refresh


@shared_task(name="recommendations.popularity_refresh", acks_late=True, soft_time_limit=120, time_limit=180,
             autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def popularity_refresh_task() -> int:
    return popularity_refresh()
