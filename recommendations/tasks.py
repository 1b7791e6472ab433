"""Celery tasks of the recommendations app (autodiscovery imports this module).

Training's tasks live with training (``recommendations.training.tasks``) and are imported here to be
registered; serving's are thin wrappers below. Each takes ids, calls one service, and owns its retry policy;
each is safe to run twice. Arguments and results are JSON.
"""
from celery import shared_task
from django.core.management import call_command

from recommendations.serving import popularity_refresh
from recommendations.training import (
    model_version_train_task,
    model_versions_cleanup_task,
    training_retrain_task,
)

__all__ = [
    "model_version_train_task",
    "model_versions_cleanup_task",
    "popularity_refresh_task",
    "ranker_train_task",
    "sessions_clear_task",
    "training_retrain_task",
]


@shared_task(name="recommendations.popularity_refresh", acks_late=True, soft_time_limit=120, time_limit=180,
             autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def popularity_refresh_task() -> int:
    return popularity_refresh()


@shared_task(name="recommendations.ranker_train", acks_late=True, soft_time_limit=600, time_limit=900,
             autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def ranker_train_task() -> dict:
    from recommendations.serving import ranker_train

    result = ranker_train()
    return {"trained": result.trained, "impressions": result.n_samples, "message": result.message}


@shared_task(name="recommendations.sessions_clear", acks_late=True, soft_time_limit=600, time_limit=900,
             autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def sessions_clear_task() -> None:
    """Delete expired sessions (whatever the session engine; Django's ``clearsessions``). Harmless to repeat."""
    call_command("clearsessions")
