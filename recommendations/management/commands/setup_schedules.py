"""``manage.py setup_schedules [--reset]``: create the periodic jobs (nightly retrain, fast updates)."""
from django.core.management.base import BaseCommand

from recommendations.training import SCHEDULES, schedules_setup


class Command(BaseCommand):
    help = "Create the django-celery-beat rows for the recommender's periodic jobs (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="Overwrite rows an admin has edited.")

    def handle(self, *args, reset: bool = False, **options):
        changed = schedules_setup(reset=reset)
        for schedule in SCHEDULES:
            state = "created" if schedule.name in changed else "kept"
            self.stdout.write(f"{state:8} {schedule.name} -> {schedule.task}")
