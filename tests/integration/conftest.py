"""Integration fixtures: a real Celery worker process over the real Redis broker and PostgreSQL test database.

Skipped unless REDIS_URL is set and the database is PostgreSQL (CI's second pass sets both).
"""
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def integration_services_available() -> bool:
    return bool(settings.REDIS_URL) and settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def pytest_collection_modifyitems(config, items):
    if integration_services_available():
        return
    skip = pytest.mark.skip(reason="needs REDIS_URL and a PostgreSQL DATABASE_URL (run by CI's real-services pass)")
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)


def _database_url_for(settings_dict: dict) -> str:
    user = settings_dict.get("USER") or "postgres"
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else f"{user}@"
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


def worker_start(*, queue: str, database_url: str, log_path: Path, extra_env: dict | None = None,
                 new_session: bool = False) -> subprocess.Popen:
    """Start ``celery worker`` on ``queue`` against ``database_url``; returns once it is ready.

    ``new_session`` puts the worker and its pool children in their own process group (``os.killpg``).
    """
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        **(extra_env or {}),
    }
    log = open(log_path, "a")  # noqa: SIM115 - the child keeps its own descriptor
    start = log_path.stat().st_size
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--concurrency=1",
         "--pool=prefork", "-Q", queue, "--without-gossip", "--without-mingle", "-n", f"{queue}-{uuid.uuid4().hex[:4]}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=new_session,
    )
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Celery worker exited early:\n{log_path.read_text()}")
        if "ready." in log_path.read_text()[start:]:
            return process
        time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"Celery worker did not start in 60 s:\n{log_path.read_text()}")


def worker_stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def integration_database_url(django_db_setup, django_db_blocker) -> str:
    with django_db_blocker.unblock():
        return _database_url_for(connection.settings_dict)


@pytest.fixture(scope="session")
def integration_artifact_dir(tmp_path_factory) -> Path:
    """Model artifacts of the integration run (shared by the workers and the test process, never var/)."""
    return tmp_path_factory.mktemp("artifacts")


@pytest.fixture(scope="session")
def celery_worker_process(integration_database_url, integration_artifact_dir, tmp_path_factory):
    """Start ``celery worker`` as a separate OS process bound to the test database and a private queue."""
    if not integration_services_available():
        pytest.skip("integration services not configured")
    from config.celery import app

    queue = f"vitrine-test-{uuid.uuid4().hex[:8]}"
    app.conf.task_default_queue = queue
    app.conf.task_always_eager = False
    log_path = tmp_path_factory.mktemp("celery") / "worker.log"
    log_path.touch()
    process = worker_start(queue=queue, database_url=integration_database_url, log_path=log_path,
                           extra_env={"VITRINE_ARTIFACT_DIR": str(integration_artifact_dir)})
    yield {"process": process, "queue": queue, "log_path": log_path, "artifact_dir": integration_artifact_dir}
    worker_stop(process)
