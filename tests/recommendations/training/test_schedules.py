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
        "recommendations.ranker_train",
    }  # created by the data migrations
    nightly = PeriodicTask.objects.get(name="Vitrine: nightly retrain")
    assert (nightly.crontab.hour, nightly.crontab.minute) == ("3", "30")
    PeriodicTask.objects.filter(name="Vitrine: nightly retrain").update(enabled=False)  # an admin's edit
    call_command("setup_schedules")
    assert PeriodicTask.objects.filter(name__in=names).count() == len(SCHEDULES)
    assert not PeriodicTask.objects.get(name="Vitrine: nightly retrain").enabled
    call_command("setup_schedules", "--reset")
    assert PeriodicTask.objects.get(name="Vitrine: nightly retrain").enabled
