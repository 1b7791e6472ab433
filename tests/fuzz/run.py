"""Fuzz the API against its own OpenAPI schema: schemathesis on a live gunicorn over a fresh PostgreSQL database.

Usage: ``python tests/fuzz/run.py [--max-examples N]`` (``make fuzz``: 100; ``.ci/run``: 50). ``DATABASE_URL``
names the PostgreSQL server (any database on it: a fresh ``vitrine_fuzz_<pid>`` database is created beside it and
dropped at the end). The run migrates, seeds a small shop (3 categories, 12 items, 1 user), starts gunicorn on
127.0.0.1 with the throttles raised out of the way, gets an API token through ``POST /api/v1/auth/token/``, then
runs ``schemathesis run --checks all`` with that token. Every response must be documented (status, content type,
body, headers) and none may be a 5xx. Exit status: schemathesis's (0 clean, 1 failures), 2 for a setup error.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.gunicorn_server import gunicorn_start, gunicorn_stop  # noqa: E402 - the project root is on the path first

USERNAME, PASSWORD = "fuzzer", "fuzz-pass-word-42"
# Raised so that 429s do not dominate the run; the throttles' own 429 is documented and checked by the tests.
THROTTLES_OFF = {
    "THROTTLE_USER_RATE": "100000000/min", "THROTTLE_ANON_RATE": "100000000/min",
    "THROTTLE_EVENTS_ANON_RATE": "100000000/min", "THROTTLE_AUTH_RATE": "100000000/min",
    "THROTTLE_LOGIN_RATE": "100000000/min", "THROTTLE_SIGNUP_RATE": "100000000/min",
    "VITRINE_LOGIN_FAILURE_LIMIT": "100000000",  # the lockout's 429 would hide the token endpoint's own answers
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_create(server_url: str) -> str:
    """A fresh database on the PostgreSQL server of ``server_url``; returns its URL."""
    import psycopg

    parts = urlsplit(server_url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise SystemExit("DATABASE_URL must name a PostgreSQL server (postgres://...)")
    name = f"vitrine_fuzz_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def database_drop(server_url: str, database_url: str) -> None:
    import psycopg

    name = urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def shop_seed() -> None:
    """Migrate and seed a small shop: two top-level categories and a child, 12 items, one user (no events)."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    from django.utils import timezone

    from catalog.models import Category, Item
    from users.models import User

    now = timezone.now()
    books = Category.objects.create(name="Books", slug="books")
    games = Category.objects.create(name="Games", slug="games")
    novels = Category.objects.create(name="Novels", slug="novels", parent=books)
    for number in range(12):
        Item.objects.create(
            sku=f"FUZZ-{number:03d}", title=f"Thing {number}", description="A fine thing to fuzz.",
            category=(books, games, novels)[number % 3], price=Decimal("9.99") + number, tags=["fuzz"], created_at=now,
        )
    User.objects.create_user(username=USERNAME, email="fuzzer@example.com", password=PASSWORD)
    from django.db import connections

    connections.close_all()


def token_get(port: int) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/auth/token/", method="POST",
        data=json.dumps({"username": USERNAME, "password": PASSWORD}).encode(), headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["token"]


def schemathesis_run(*, port: int, token: str, max_examples: int, workers: int, seed: int | None, report_dir: Path) -> int:
    command = [
        str(ROOT / ".venv" / "bin" / "schemathesis"), "--config-file", str(Path(__file__).with_name("schemathesis.toml")), "run", f"http://127.0.0.1:{port}/api/schema/",
        "--checks", "all", "--max-examples", str(max_examples), "--workers", str(workers),
        "-H", f"Authorization: Token {token}", "--request-timeout", "30", "--generation-database", "none",
        "--report", "junit", "--report-dir", str(report_dir), "--no-color",
    ]
    if seed is not None:
        command += ["--seed", str(seed)]
    return subprocess.call(command, cwd=ROOT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=100, help="Test cases per API operation (default 100).")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers and schemathesis workers (default 2).")
    parser.add_argument("--seed", type=int, default=None, help="schemathesis seed, for a reproducible run.")
    parser.add_argument("--keep-db", action="store_true", help="Leave the fuzz database behind (to inspect it).")
    args = parser.parse_args()

    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url:
        print("fuzz: set DATABASE_URL to a PostgreSQL server, e.g. postgres://root@127.0.0.1:5432/test", file=sys.stderr)
        return 2
    started = time.monotonic()
    database_url = database_create(server_url)
    var_dir = Path(os.environ.get("VITRINE_VAR_DIR", ROOT / "var")) / "fuzz"
    # The server and this process see one environment: the fresh database, local-memory cache, tasks in process.
    env = {"DATABASE_URL": database_url, "VITRINE_VAR_DIR": str(var_dir), "REDIS_URL": "", **THROTTLES_OFF}
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["DJANGO_DEBUG"] = "false"
    var_dir.mkdir(parents=True, exist_ok=True)
    server_log = var_dir / "gunicorn.log"
    server_log.unlink(missing_ok=True)
    process = None
    try:
        shop_seed()
        port = free_port()
        # The server's log (thousands of 4xx warnings) goes to a file; its errors are printed at the end.
        process = gunicorn_start(port=port, workers=args.workers, env_extra=env, log_path=server_log)
        status = schemathesis_run(
            port=port, token=token_get(port), max_examples=args.max_examples, workers=args.workers, seed=args.seed,
            report_dir=var_dir / "report",
        )
    finally:
        if process is not None:
            gunicorn_stop(process)
        if not args.keep_db:
            database_drop(server_url, database_url)
    errors = [line for line in server_log.read_text(errors="replace").splitlines() if " ERROR " in line or "Traceback" in line]
    print(f"fuzz: server log {server_log}: {len(errors)} error lines", *errors[:20], sep="\n")
    print(f"fuzz: schemathesis exit {status} in {time.monotonic() - started:.0f} s ({args.max_examples} examples per operation)")
    return status


if __name__ == "__main__":
    sys.exit(main())
