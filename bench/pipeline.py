"""Training pipeline benchmark: wall time from "events in PostgreSQL" to "new version active", by stage.

    .venv/bin/python bench/pipeline.py                      # 100k, 1M and 5M events
    .venv/bin/python bench/pipeline.py --sizes 100000 1000000 --database-url postgres://root@127.0.0.1:5432/vitrine_bench_pipeline

For each size, in a fresh process (so peak memory is per size): synthetic events with planted structure
(``ml.synthetic.planted_interactions``) are loaded into an empty PostgreSQL database with COPY (users, items,
events; then ANALYZE), and the training pipeline of the Celery task (``model_version_train``) runs once with
iALS: snapshot (binary COPY out) -> dataset -> train on the temporal split -> evaluate -> refit on everything
-> Faiss index + atomic artifact write -> verify + promote. The clock starts after the load. Also timed:
the first ``serving_model_get()`` of a web process after the swap (loading the new version from disk).

Results go to ``bench/results/pipeline.json`` and a Markdown table on stdout. The database named in
``--database-url`` is created when missing and emptied for each size: never point it at real data.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "pipeline.json"
DEFAULT_DATABASE_URL = "postgres://root@127.0.0.1:5432/vitrine_bench_pipeline"
DEFAULT_SIZES = (100_000, 1_000_000, 5_000_000)
EVENTS_PER_USER = 20
ITEMS_PER_USER = 0.2  # catalogue size relative to the number of users (min 1000 items)
MODEL = {"name": "ials"}  # the registry's defaults: 64 factors, 15 iterations
STAGE_GROUPS = {  # the stages -> the pipeline's
    "snapshot": ("snapshot",),
    "train": ("dataset", "train", "refit"),
    "evaluate": ("evaluate",),
    "index": ("index",),
    "swap": ("swap",),
}


def _setup_django(database_url: str, artifact_dir: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["VITRINE_ARTIFACT_DIR"] = artifact_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        os.environ.pop(name, None)  # in-process: local-memory cache, eager tasks
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _ensure_database(database_url: str) -> None:
    from urllib.parse import urlparse

    import psycopg

    url = urlparse(database_url)
    name = url.path.lstrip("/")
    admin_url = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _copy(cursor, table: str, columns: list[str], lines) -> None:
    """COPY ``lines`` (tab-separated text rows) into ``table``, in blocks."""
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        buffer = io.StringIO()
        for n, line in enumerate(lines, 1):
            buffer.write(line)
            if n % 200_000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


def load_events(n_events: int, seed: int = 0) -> dict:
    """Empty the tables, then COPY planted users, items and events (timestamps within the last 300 days)."""
    from django.db import connection
    from django.utils import timezone

    from catalog.models import Category, Item
    from ml.synthetic import planted_interactions
    from recommendations.models import Event, ModelVersion
    from users.models import User

    n_users = max(100, n_events // EVENTS_PER_USER)
    n_items = max(1000, int(n_users * ITEMS_PER_USER))
    started = time.perf_counter()
    data = planted_interactions(n_users=n_users, n_items=n_items, n_clusters=50, interactions_per_user=EVENTS_PER_USER,
                                seed=seed, noise=0.1)
    now = timezone.now()
    ts = data.timestamps
    offsets = (ts - ts.min()) / max(float(ts.max() - ts.min()), 1.0) * (300 * 86400.0)
    start = now.timestamp() - 300 * 86400.0 - 60
    generated = time.perf_counter() - started

    tables = [model._meta.db_table for model in (Event, ModelVersion, Item, Category, User)]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        raw = cursor.cursor
        stamp = now.isoformat()
        _copy(raw, User._meta.db_table,
              ["id", "password", "is_superuser", "username", "first_name", "last_name", "email", "is_staff",
               "is_active", "date_joined"],
              (f"{i}\t!\tf\tbench{i}\t\t\t\tf\tt\t{stamp}\n" for i in range(1, n_users + 1)))
        _copy(raw, Category._meta.db_table, ["id", "name", "slug", "description"],
              (f"{c}\tCategory {c}\tcategory-{c}\t\n" for c in range(1, len(data.category_names) + 1)))
        categories = data.item_categories + 1
        _copy(raw, Item._meta.db_table,
              ["id", "sku", "title", "description", "category_id", "tags", "attributes", "price", "image_url",
               "in_stock", "is_active", "created_at"],
              (f"{i + 1}\tSKU-{i:07d}\tItem {i}\t\t{categories[i]}\t[]\t{{}}\t{data.item_prices[i]:.2f}\t\tt\tt\t{stamp}\n"
               for i in range(n_items)))
        users = (data.user_ids - 1_000_000 + 1).tolist()
        items = (data.item_ids - 5_000_000 + 1).tolist()
        times = [dt.datetime.fromtimestamp(start + o, dt.UTC).isoformat() for o in offsets.tolist()]
        _copy(raw, Event._meta.db_table,
              ["client_event_id", "user_id", "session_key", "item_id", "event_type", "value", "context", "timestamp",
               "created_at"],
              (f"b{n}\t{u}\t\t{i}\t{t}\t\\N\t{{}}\t{when}\t{stamp}\n"
               for n, (u, i, t, when) in enumerate(zip(users, items, data.event_types.tolist(), times, strict=False))))
        for model in (User, Category, Item):
            table = model._meta.db_table
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Event._meta.db_table}")
    return {"n_events": int(len(data)), "n_users": n_users, "n_items": n_items,
            "generate_seconds": round(generated, 2), "load_seconds": round(time.perf_counter() - started - generated, 2)}


def run_one(n_events: int, database_url: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="vitrine-bench-") as artifact_dir:
        _setup_django(database_url, artifact_dir)
        from django.core.management import call_command

        from recommendations.models import ModelVersion
        from recommendations.training import (
            model_version_request,
            model_version_train,
            serving_model_get,
            serving_model_reset,
        )
        from recommendations.tuning import recommender_settings_update

        call_command("migrate", verbosity=0)
        loaded = load_events(n_events)
        recommender_settings_update(data={"training_models": [MODEL], "training_window_days": 365})

        version, _ = model_version_request(config=MODEL)
        started = time.perf_counter()
        version = model_version_train(version_id=version.pk)
        wall = time.perf_counter() - started
        if version.status != ModelVersion.Status.ACTIVE:
            raise SystemExit(f"version {version.pk} ended {version.status}: {version.error}")
        serving_model_reset()
        load_started = time.perf_counter()
        served = serving_model_get()
        web_load = time.perf_counter() - load_started
        assert served is not None and served.version_id == version.pk
        artifact_bytes = sum(p.stat().st_size for p in Path(artifact_dir).rglob("*") if p.is_file())
        timings = version.timings
        return {
            **loaded,
            "snapshot_events": version.n_events,
            "model": MODEL,
            "wall_seconds": round(wall, 2),
            "stages": {group: round(sum(timings.get(s, 0.0) for s in parts), 2) for group, parts in STAGE_GROUPS.items()},
            "pipeline_timings": timings,
            "web_first_load_seconds": round(web_load, 2),
            "ndcg@10": version.metrics.get("ndcg@10"),
            "recall@10": version.metrics.get("recall@10"),
            "eval_users": version.metrics.get("n_eval_users"),
            "index": served.index.kind_ if served.index is not None else None,
            "artifact_mb": round(artifact_bytes / 2**20, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }


def _table(results: list[dict]) -> str:
    head = ("events", "users", "items", "wall s", "snapshot", "train", "evaluate", "index", "swap", "web load",
            "ndcg@10", "peak RSS MB")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        s = r["stages"]
        lines.append("| " + " | ".join([
            f"{r['n_events']:,}", f"{r['n_users']:,}", f"{r['n_items']:,}", f"{r['wall_seconds']:.1f}",
            f"{s['snapshot']:.1f}", f"{s['train']:.1f}", f"{s['evaluate']:.1f}", f"{s['index']:.1f}", f"{s['swap']:.2f}",
            f"{r['web_first_load_seconds']:.2f}", f"{r['ndcg@10']:.3f}", f"{r['peak_rss_mb']:.0f}",
        ]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run one size, print JSON
    args = parser.parse_args()
    if args.one:
        print("RESULT " + json.dumps(run_one(args.one, args.database_url)))
        return
    _ensure_database(args.database_url)
    results = []
    for size in args.sizes:
        print(f"== {size:,} events", file=sys.stderr, flush=True)
        proc = subprocess.run([sys.executable, __file__, "--one", str(size), "--database-url", args.database_url],
                              capture_output=True, text=True, cwd=ROOT)
        if proc.returncode:
            sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
            raise SystemExit(f"size {size} failed")
        result = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))[7:])
        print(json.dumps(result), file=sys.stderr, flush=True)
        results.append(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    meta = {"machine": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    RESULTS.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    print(_table(results))
    print(f"\n(written to {RESULTS.relative_to(ROOT)})")


if __name__ == "__main__":
    main()
