"""Demo seeding refuses to run under production settings: no ``admin``/``admin`` superuser on a real server."""
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from catalog.models import Item
from demo.services import DemoRefusedInProduction, demo_accounts_ensure, demo_seed

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_command_refuses_under_production_settings_with_exit_2(settings):
    settings.VITRINE_PRODUCTION = True
    with pytest.raises(CommandError) as error:
        call_command("seed_demo", "--users", "30", "--items", "80", "--events", "1500", stdout=io.StringIO())
    assert error.value.returncode == 2
    assert "production" in str(error.value) and "createsuperuser" in str(error.value)
    assert not get_user_model().objects.exists() and not Item.objects.exists()


@pytest.mark.django_db
def test_services_refuse_under_production_settings(settings):
    settings.VITRINE_PRODUCTION = True
    with pytest.raises(DemoRefusedInProduction):
        demo_seed(n_users=30, n_items=80, n_events=1500)
    with pytest.raises(DemoRefusedInProduction):
        demo_accounts_ensure()
    assert not get_user_model().objects.filter(username="admin").exists()


def test_manage_py_seed_demo_exits_2_under_the_production_settings_module(tmp_path):
    """The real settings module, as an operator would run it: exit status 2 and one clear line, no traceback."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "x" * 60,
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'never-written.sqlite3'}",
        "VITRINE_VAR_DIR": str(tmp_path),
    }
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "seed_demo"], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert "Refusing to seed demo data under production settings" in done.stderr
    assert "createsuperuser" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "never-written.sqlite3").exists()
