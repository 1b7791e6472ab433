"""``manage.py seed_demo``: fill the database with a simulated shop for local demos."""
import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from demo.services import ADMIN_ACCOUNT, DEMO_ACCOUNT, DemoRefusedInProduction, demo_allowed_check, demo_seed
from recommendations.serving import popularity_refresh


class Command(BaseCommand):
    help = "Create a synthetic shop (categories, items, shoppers, events) plus admin/admin and demo/demo accounts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="Random seed; same seed and --end give identical rows.")
        parser.add_argument("--users", type=int, default=1000)
        parser.add_argument("--items", type=int, default=2000)
        parser.add_argument("--events", type=int, default=100_000)
        parser.add_argument("--end", default="", help="Time of the last event, ISO 8601 (default: now, to the hour).")
        parser.add_argument("--reset", action="store_true", help="Delete the existing demo data first.")

    def handle(self, *args, **options) -> None:
        try:
            demo_allowed_check()  # before anything else: production never gets demo data or admin/admin
        except DemoRefusedInProduction as error:
            raise CommandError(str(error), returncode=2) from error
        end = None
        if options["end"]:
            end = parse_datetime(options["end"])
            if end is None:
                raise CommandError(f"--end must be ISO 8601, got {options['end']!r}.", returncode=2)
            if end.tzinfo is None:
                end = end.replace(tzinfo=dt.UTC)
        if min(options["users"], options["items"], options["events"]) < 1:
            raise CommandError("--users, --items and --events must be positive.", returncode=2)
        try:
            result = demo_seed(
                seed=options["seed"],
                n_users=options["users"],
                n_items=options["items"],
                n_events=options["events"],
                end=end,
                reset=options["reset"],
            )
        except ValueError as error:
            raise CommandError(str(error), returncode=2) from error
        if result.already_seeded:
            self.stdout.write("Demo data already seeded; nothing to do (use --reset to rebuild it).")
            return
        popularity_refresh()
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {result.categories} categories, {result.items} items, {result.users} users and "
                f"{result.events} events in {result.seconds:.1f}s (seed {options['seed']})."
            )
        )
        self.stdout.write(f"Demo shopper: {DEMO_ACCOUNT} / {DEMO_ACCOUNT}")
        if result.admin_created:
            self.stderr.write(
                self.style.WARNING(
                    f"WARNING: created superuser {ADMIN_ACCOUNT} / {ADMIN_ACCOUNT} for local demos only; "
                    "never seed demo data on a reachable server."
                )
            )
