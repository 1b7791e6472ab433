"""Data migration: the recommender's periodic jobs as django-celery-beat rows (editable in the admin)."""
from django.db import migrations


def create_schedules(apps, schema_editor):
    from recommendations.training import schedules_setup

    schedules_setup(apps=apps)


class Migration(migrations.Migration):

    dependencies = [
        ("recommendations", "0004_training_pipeline"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, migrations.RunPython.noop)]
