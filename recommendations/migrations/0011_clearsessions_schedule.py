"""Data migration: add the daily expired-sessions cleanup to the periodic jobs (existing rows are left alone)."""
from django.db import migrations


def create_schedules(apps, schema_editor):
    from recommendations.training import schedules_setup

    schedules_setup(apps=apps)


class Migration(migrations.Migration):

    dependencies = [
        ("recommendations", "0010_rating_semantics"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, migrations.RunPython.noop)]
