"""Event ingestion throughput: the batch API (POST /api/v1/events/) versus raw COPY into the same table.

    .venv/bin/python bench/ingest.py [--batches 100] [--runs 3] [--clients 4] [--workers 2]

Creates a fresh PostgreSQL database (default ``vitrine_bench_ingest``: dropped and created), migrates it, creates items
and a user with an API token, starts gunicorn (``config.wsgi``, sync workers) against it, and then, for each
run, empties the event table and sends ``--batches`` batches of ``--batch-size`` events from ``--clients``
concurrent HTTP clients (token auth, keep-alive where the server allows). The same rows are then written with
one ``COPY ... FROM STDIN`` (psycopg) into the emptied table. Prints a table (medians over runs) and writes
``bench/results/ingest.json``. Needs only the project's virtualenv and a PostgreSQL server.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import queue
import random
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench.gunicorn_server import gunicorn_start, gunicorn_stop  # noqa: E402 - after the sys.path line (run as a script)

RESULTS = ROOT / "bench" / "results" / "ingest.json"
EVENT_TYPES = ("view", "view", "view", "click", "click", "add_to_cart", "purchase", "like", "skip", "dwell", "rating")
DEVICES = ("mobile", "desktop", "tablet")
COPY_COLUMNS = ("client_event_id", "user_id", "session_key", "item_id", "event_type", "value", "context", "timestamp", "created_at")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", "postgres://root@127.0.0.1:5432"), help="server URL, no database")
    parser.add_argument("--db", default="vitrine_bench_ingest", help="dropped and re-created (own name: bench/pipeline.py uses vitrine_bench)")
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=100, help="batches per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--keep-db", action="store_true", help="leave the benchmark database in place at the end")
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_recreate(*, server: str, name: str) -> None:
    import psycopg

    for maintenance in ("postgres", "template1"):
        try:
            connection = psycopg.connect(f"{server}/{maintenance}", autocommit=True)
            break
        except psycopg.OperationalError:
            continue
    else:
        raise SystemExit(f"Cannot connect to PostgreSQL at {server}.")
    with connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def database_drop(*, server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_prepare(*, n_items: int) -> tuple[list[int], int, str]:
    """Migrate the benchmark database, create items and a user with a token. Returns (item ids, user id, token)."""
    import django

    django.setup()
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    from catalog.models import Category, Item
    from users.services import auth_token_create, user_create

    call_command("migrate", verbosity=0, interactive=False)
    category = Category.objects.create(name="Bench", slug="bench")
    now = timezone.now()
    Item.objects.bulk_create(
        [Item(sku=f"BENCH-{n:05d}", title=f"Bench item {n}", category=category, price=Decimal("9.99"), created_at=now) for n in range(n_items)],
        batch_size=1000,
    )
    item_ids = list(Item.objects.order_by("pk").values_list("pk", flat=True))
    user = user_create(username="bench", password="bench-password-123")
    _, token = auth_token_create(user=user, name="bench")
    connections.close_all()
    return item_ids, user.pk, token


def make_batches(*, item_ids: list[int], n_batches: int, batch_size: int, seed: int = 1) -> list[list[dict]]:
    rng = random.Random(seed)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    batches = []
    for b in range(n_batches):
        events = []
        for n in range(batch_size):
            event_type = rng.choice(EVENT_TYPES)
            event = {
                "client_event_id": f"bench-{b}-{n}",
                "item": rng.choice(item_ids),
                "event_type": event_type,
                "timestamp": (start + dt.timedelta(seconds=b * batch_size + n)).isoformat().replace("+00:00", "Z"),
                "context": {"device": rng.choice(DEVICES), "local_hour": rng.randrange(24)},
            }
            if event_type == "rating":
                event["value"] = float(rng.randint(1, 5))
            elif event_type == "dwell":
                event["value"] = round(rng.uniform(2, 300), 1)
            events.append(event)
        batches.append(events)
    return batches


def post_batches(*, port: int, token: str, bodies: list[bytes], clients: int) -> tuple[float, list[float]]:
    """Send every body once from ``clients`` threads; returns (wall seconds, per-request latencies)."""
    work: queue.Queue[bytes] = queue.Queue()
    for body in bodies:
        work.put(body)
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}", "Connection": "keep-alive"}

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            try:
                body = work.get_nowait()
            except queue.Empty:
                break
            started = time.perf_counter()
            try:
                connection.request("POST", "/api/v1/events/", body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except (http.client.HTTPException, OSError):  # server closed the connection: reconnect once
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                connection.request("POST", "/api/v1/events/", body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status not in (200, 201):
                    failures.append(f"{response.status}: {payload[:300]!r}")
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} API requests failed, e.g. {failures[0]}")
    return wall, latencies


def copy_rows(*, database_url: str, batches: list[list[dict]], user_id: int) -> float:
    """COPY the same events into the (emptied) table in one transaction; returns seconds."""
    import psycopg

    now = dt.datetime.now(dt.UTC)
    rows = [
        (
            event["client_event_id"], user_id, "", event["item"], event["event_type"], event.get("value"),
            json.dumps(event["context"]), dt.datetime.fromisoformat(event["timestamp"]), now,
        )
        for batch in batches
        for event in batch
    ]
    with psycopg.connect(database_url) as connection:
        started = time.perf_counter()
        with connection.cursor() as cursor, cursor.copy(f"COPY recommendations_event ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        connection.commit()
        return time.perf_counter() - started


def table_empty(*, database_url: str) -> None:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("TRUNCATE recommendations_event")
        connection.execute("VACUUM ANALYZE recommendations_event")


def count_events(*, database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as connection:
        return connection.execute("SELECT count(*) FROM recommendations_event").fetchone()[0]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    args = parse_args()
    database_url = f"{args.pg}/{args.db}"
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))
    port = args.port or free_port()

    print(f"Recreating database {args.db} and migrating ...", flush=True)
    database_recreate(server=args.pg, name=args.db)
    item_ids, user_id, token = django_prepare(n_items=args.items)
    batches = make_batches(item_ids=item_ids, n_batches=args.batches, batch_size=args.batch_size)
    bodies = [json.dumps(batch).encode() for batch in batches]
    total = args.batches * args.batch_size

    print(f"Starting gunicorn ({args.workers} workers) on port {port} ...", flush=True)
    server = gunicorn_start(port=port, workers=args.workers, env_extra={"DATABASE_URL": database_url}, drop_env=("REDIS_URL",))
    api_runs, copy_runs, latencies_all = [], [], []
    try:
        warmup = [json.dumps([dict(event, client_event_id=f"warm-{w}-{event['client_event_id']}") for event in batches[w % len(batches)]]).encode() for w in range(2 * args.workers)]
        post_batches(port=port, token=token, bodies=warmup, clients=args.clients)
        for run in range(args.runs):
            table_empty(database_url=database_url)
            wall, latencies = post_batches(port=port, token=token, bodies=bodies, clients=args.clients)
            stored = count_events(database_url=database_url)
            if stored != total:
                raise SystemExit(f"API run stored {stored} events, expected {total}")
            api_runs.append(total / wall)
            latencies_all.extend(latencies)
            table_empty(database_url=database_url)
            seconds = copy_rows(database_url=database_url, batches=batches, user_id=user_id)
            copy_runs.append(total / seconds)
            print(f"run {run + 1}/{args.runs}: API {total / wall:,.0f} events/s ({wall:.2f}s), COPY {total / seconds:,.0f} events/s ({seconds:.2f}s)", flush=True)
    finally:
        gunicorn_stop(server)
        if not args.keep_db:
            database_drop(server=args.pg, name=args.db)

    api, copy = statistics.median(api_runs), statistics.median(copy_runs)
    result = {
        "benchmark": "event ingestion: batch API vs COPY",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "config": {
            "events_per_run": total, "batch_size": args.batch_size, "batches_per_run": args.batches, "runs": args.runs,
            "clients": args.clients, "gunicorn_workers": args.workers, "items": args.items, "auth": "token (regular user)",
        },
        "api_events_per_s": {"median": round(api), "runs": [round(v) for v in api_runs]},
        "copy_events_per_s": {"median": round(copy), "runs": [round(v) for v in copy_runs]},
        "copy_over_api": round(copy / api, 2),
        "api_batch_latency_ms": {"p50": round(1000 * percentile(latencies_all, 0.5), 1), "p95": round(1000 * percentile(latencies_all, 0.95), 1)},
        "targets": {"api_events_per_s_at_least": 5000, "copy_over_api_at_most": 3.0},
        "meets_targets": bool(api >= 5000 and copy / api <= 3.0),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")

    print()
    print(f"{'':28}{'events/s (median of ' + str(args.runs) + ')':>26}")
    print(f"{'API  (HTTP, batches of ' + str(args.batch_size) + ')':28}{api:>26,.0f}")
    print(f"{'COPY (psycopg, one stream)':28}{copy:>26,.0f}")
    print(f"{'ratio COPY / API':28}{copy / api:>26.2f}")
    print(f"API batch latency p50 {result['api_batch_latency_ms']['p50']} ms, p95 {result['api_batch_latency_ms']['p95']} ms "
          f"({args.clients} clients, {args.workers} gunicorn workers, {os.cpu_count()} CPUs)")
    print(f"targets: API >= 5,000 events/s and COPY/API <= 3: {'met' if result['meets_targets'] else 'NOT met'}")
    print(f"wrote {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")


if __name__ == "__main__":
    main()
