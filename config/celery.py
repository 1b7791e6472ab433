"""Celery application.

With ``REDIS_URL`` set, tasks go to the Redis broker and a worker (``make worker``) runs them.
Without it (the embedded default) ``task_always_eager`` runs them in process, so ``make run`` needs no Redis.
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("vitrine")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
