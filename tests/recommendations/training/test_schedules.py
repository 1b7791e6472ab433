"""The periodic jobs as django-celery-beat rows."""
import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from recommendations.training import (
    SCHEDULES,
)


@pytest.mark.django_db
def test_periodic_schedules_exist_and_setup_is_idempotent():
    names = {schedule.name for schedule in SCHEDULES}
    assert set(PeriodicTask.objects.filter(name__in=names).values_list("task", flat=True)) == {
        "recommendations.training_retrain", "recommendations.popularity_refresh", "recommendations.model_versions_cleanup",
        "recommendations.ranker_train", "recommendations.sessions_clear",
    }  # created by the data migrations
    nightly = PeriodicTask.objects.get(name="Vitrine: nightly retrain")
    assert (nightly.crontab.hour, nightly.crontab.minute) == ("3", "30")
    PeriodicTask.objects.filter(name="Vitrine: nightly retrain").update(enabled=False)  # an admin's edit
    call_command("setup_schedules")
    assert PeriodicTask.objects.filter(name__in=names).count() == len(SCHEDULES)
    assert not PeriodicTask.objects.get(name="Vitrine: nightly retrain").enabled
    call_command("setup_schedules", "--reset")
    assert PeriodicTask.objects.get(name="Vitrine: nightly retrain").enabled


@pytest.mark.django_db
def test_expired_sessions_are_cleared_daily():
    """Fault 8: anonymous visitors' session rows are removed once expired (``clearsessions``), every night."""
    import datetime as dt

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from recommendations.tasks import sessions_clear_task

    cleanup = PeriodicTask.objects.get(task="recommendations.sessions_clear")
    assert cleanup.enabled and (cleanup.crontab.hour, cleanup.crontab.minute) == ("4", "15")
    now = timezone.now()
    Session.objects.create(session_key="expired0", session_data="", expire_date=now - dt.timedelta(days=1))
    Session.objects.create(session_key="current0", session_data="", expire_date=now + dt.timedelta(days=1))
    sessions_clear_task.apply()
    assert list(Session.objects.values_list("session_key", flat=True)) == ["current0"]
