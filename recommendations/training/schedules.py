"""The periodic jobs of the recommender, as django-celery-beat rows (editable in the admin afterwards).

``schedules_setup`` is idempotent: it creates the rows that are missing and leaves existing ones as the admin
edited them (enabled flag, times), unless ``reset=True``. Run by a data migration and by
``manage.py setup_schedules``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.apps import apps as global_apps
from django.conf import settings


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    description: str
    crontab: dict[str, str] | None = None  # minute, hour, day_of_week, day_of_month, month_of_year
    every_seconds: int | None = None
    kwargs: dict[str, Any] | None = None


SCHEDULES: tuple[Schedule, ...] = (
    Schedule(
        name="Vitrine: nightly retrain",
        task="recommendations.training_retrain",
        description="Retrain, evaluate and (if it wins) activate every model of the recommender settings.",
        crontab={"minute": "30", "hour": "3", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
    ),
    Schedule(
        name="Vitrine: popularity refresh",
        task="recommendations.popularity_refresh",
        description="Fast update between retrains: the time-decayed popular / trending ranking.",
        every_seconds=300,
    ),
    Schedule(
        name="Vitrine: learned ranker",
        task="recommendations.ranker_train",
        description="Refit the feed's learned ranker on recent impressions and clicks (score fusion until enough data).",
        every_seconds=3600,
    ),
    Schedule(
        name="Vitrine: model versions cleanup",
        task="recommendations.model_versions_cleanup",
        description="Fail abandoned training runs, keep the last N versions' artifacts, remove orphans.",
        every_seconds=3600,
    ),
    Schedule(
        name="Vitrine: expired sessions cleanup",
        task="recommendations.sessions_clear",
        description="Delete expired sessions (Django's clearsessions): anonymous visitors' rows do not pile up.",
        crontab={"minute": "15", "hour": "4", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
    ),
)


def schedules_setup(*, apps=global_apps, reset: bool = False) -> list[str]:
    """Create the missing PeriodicTask rows (all of them with ``reset``); returns the names created/reset."""
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    changed = []
    for schedule in SCHEDULES:
        existing = PeriodicTask.objects.filter(name=schedule.name).first()
        if existing is not None and not reset:
            continue
        fields: dict[str, Any] = {
            "task": schedule.task,
            "kwargs": json.dumps(schedule.kwargs or {}),
            "description": schedule.description,
            "enabled": True,
            "crontab": None,
            "interval": None,
        }
        if schedule.crontab is not None:
            fields["crontab"], _ = CrontabSchedule.objects.get_or_create(**schedule.crontab, timezone=settings.TIME_ZONE)
        else:
            fields["interval"], _ = IntervalSchedule.objects.get_or_create(every=schedule.every_seconds, period="seconds")
        PeriodicTask.objects.update_or_create(name=schedule.name, defaults=fields)
        changed.append(schedule.name)
    if changed:
        PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": _now()})  # beat reloads
    return changed


def _now():
    from django.utils import timezone

    return timezone.now()
