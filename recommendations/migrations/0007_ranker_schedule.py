"""Data migration: add the learned ranker's hourly refit to the periodic jobs (existing rows are left alone)."""
from django.db import migrations


def create_schedules(apps, schema_editor):
    from recommendations.training import schedules_setup

    schedules_setup(apps=apps)


class Migration(migrations.Migration):

    dependencies = [
        ("recommendations", "0006_event_session_partial_index"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, migrations.RunPython.noop)]
