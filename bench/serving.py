"""Serving benchmark: latency and throughput of GET /api/v1/recommendations/, and Faiss recall vs speed.

    .venv/bin/python bench/serving.py                              # 2,000 and 200,000 items, 1/8/32 clients, Faiss 1M x 64
    .venv/bin/python bench/serving.py --sizes 2000 --clients 1 8 --duration 5 --no-faiss

HTTP part, for each catalog size: a fresh PostgreSQL database (``--db``, dropped and re-created) is filled with
COPY (categories, items, users with API tokens and preferences, events with planted taste groups and Zipf
popularity), an iALS model is trained on the events and activated through ``recommendations.training.model_store``
(artifacts + Faiss index: exact below 50,000 items, HNSW above), then gunicorn serves the project with
PostgreSQL and Redis (``--redis``; keys under their own prefix, removed at the end). Authenticated clients
(token auth, keep-alive) hit ``GET /api/v1/recommendations/?n=20`` for ``--duration`` seconds per cell:

* warm cache: a set of users whose candidate lists are already cached scroll their feeds (page 1, then the
  next two pages through ``next_cursor``), so every request re-ranks, hydrates, logs 20 impressions;
* cold cache: every request comes from a user never served before (candidate lists built from scratch:
  history query, ANN search, item-to-item neighbours, trending, new arrivals, exploration pool). Shared
  tables (popularity, new arrivals) are warm in both: one process rebuilds them for everybody.

Faiss part: 1M x 64 clustered vectors, 1,000 held-out queries; exact ``IndexFlatIP`` vs HNSW and IVF built
through ``ml.index.VectorIndex``, recall@10 against exact and single-query speed-up, over a parameter sweep.

Writes ``bench/results/serving.json`` and prints Markdown tables. The machine's load average is recorded
with every cell: the numbers mean little on a machine busy with other work, so read them with it.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import http.client
import json
import os
import platform
import queue
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench.gunicorn_server import gunicorn_start, gunicorn_stop  # noqa: E402 - after the sys.path line (run as a script)

RESULTS = ROOT / "bench" / "results" / "serving.json"
EVENT_TYPES = np.array(["view", "view", "view", "view", "click", "click", "like", "add_to_cart", "purchase"])
CACHE_PREFIX = "bench-serving"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", "postgres://root@127.0.0.1:5432"), help="server URL, no database")
    parser.add_argument("--db", default="vitrine_bench_serving", help="dropped and re-created for each size")
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 200_000], help="catalog sizes (items)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32], help="concurrent HTTP clients")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per cell")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (>1: gthread worker, keep-alive)")
    parser.add_argument("--warm-users", type=int, default=300)
    parser.add_argument("--n", type=int, default=20, help="items per page")
    parser.add_argument("--paced-rates", type=float, nargs="*", default=[100.0, 200.0, 300.0],
                        help="extra warm cells at the largest client count, paced at these total request rates")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--no-faiss", action="store_true")
    parser.add_argument("--faiss-n", type=int, default=1_000_000)
    parser.add_argument("--faiss-dim", type=int, default=64)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args()


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


# ------------------------------------------------------------------------------------------------ data
def database_recreate(*, server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def database_drop(*, server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def synthetic_shop(n_items: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Items in K categories (item i: category i % K, popularity rank i // K); users with two favourite
    categories; events 80% from favourites, Zipf-distributed popularity inside a category."""
    rng = np.random.default_rng(seed)
    n_categories = max(20, n_items // 1000)
    n_users = max(5000, n_items // 10)
    per_category = n_items // n_categories
    counts = rng.poisson(40, n_users) + 1
    user = np.repeat(np.arange(n_users), counts)
    favourites = rng.integers(0, n_categories, (n_users, 2))
    from_favourite = rng.random(len(user)) < 0.8
    category = np.where(from_favourite, favourites[user, rng.integers(0, 2, len(user))], rng.integers(0, n_categories, len(user)))
    rank = np.minimum(rng.zipf(1.3, len(user)) - 1, per_category - 1)
    item = rank * n_categories + category
    age_days = rng.exponential(8, len(user)).clip(0.01, 29)
    return {
        "n_categories": n_categories, "n_users": n_users, "n_items": n_categories * per_category,
        "event_user": user + 1, "event_item": item + 1, "event_type": EVENT_TYPES[rng.integers(0, len(EVENT_TYPES), len(user))],
        "event_age_days": age_days, "item_new": rng.random(n_categories * per_category) < 0.03,
    }


def copy_rows(cursor, table: str, columns: list[str], rows) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def database_fill(*, database_url: str, shop: dict) -> list[str]:
    """COPY the synthetic shop in; returns the API tokens of the users (token of user pk i at index i - 1)."""
    import psycopg

    now = dt.datetime.now(dt.UTC)
    tokens = [f"{i:064x}" for i in range(1, shop["n_users"] + 1)]  # knox's shape: 64 hex digits
    n_categories, n_items = shop["n_categories"], shop["n_items"]
    with psycopg.connect(database_url) as connection, connection.cursor() as cursor:
        copy_rows(cursor, "catalog_category", ["id", "name", "slug", "parent_id", "description"],
                  ((c + 1, f"Category {c}", f"category-{c}", None, "") for c in range(n_categories)))
        copy_rows(
            cursor, "catalog_item",
            ["id", "sku", "title", "description", "category_id", "tags", "attributes", "price", "image_url", "in_stock", "is_active", "created_at"],
            (
                (i + 1, f"SKU-{i:07d}", f"Item {i}", "A benchmark item.", i % n_categories + 1,
                 json.dumps([f"c{i % n_categories}", f"s{i % 7}"]), "{}", "19.99", "", True, True,
                 now - dt.timedelta(days=2 if shop["item_new"][i] else 30 + i % 300))
                for i in range(n_items)
            ),
        )
        copy_rows(
            cursor, "users_user",
            ["id", "password", "last_login", "is_superuser", "username", "first_name", "last_name", "email", "is_staff", "is_active", "date_joined"],
            ((u, "!", None, False, f"bench{u}", "", "", "", False, True, now) for u in range(1, shop["n_users"] + 1)),
        )
        copy_rows(
            cursor, "users_preferences",
            ["id", "user_id", "category_weights", "diversity_level", "exploration_level", "personalization_enabled", "updated_at"],
            ((u, u, "{}", 0.5, 0.2, True, now) for u in range(1, shop["n_users"] + 1)),
        )
        # Stored as knox stores them (users.AuthToken): the SHA-512 digest of the token and its first 15 characters.
        copy_rows(
            cursor, "users_authtoken", ["id", "digest", "token_key", "user_id", "name", "created", "expiry"],
            ((u, hashlib.sha512(tokens[u - 1].encode()).hexdigest(), tokens[u - 1][:15], u, "bench", now, now + dt.timedelta(days=1))
             for u in range(1, shop["n_users"] + 1)),
        )
        copy_rows(
            cursor, "recommendations_event",
            ["client_event_id", "user_id", "session_key", "item_id", "event_type", "value", "context", "timestamp", "created_at"],
            (
                (f"b{n}", int(u), "", int(i), str(t), None, "{}", now - dt.timedelta(days=float(a)), now - dt.timedelta(days=float(a)))
                for n, (u, i, t, a) in enumerate(zip(shop["event_user"], shop["event_item"], shop["event_type"], shop["event_age_days"], strict=True))
            ),
        )
        for table in ("catalog_category", "catalog_item", "users_user", "users_preferences", "users_authtoken"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        connection.commit()
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return tokens


def model_train_and_activate(*, shop: dict) -> dict:
    """iALS on the events, artifacts + Faiss index written by the model store, version activated."""
    from django.utils import timezone

    from ml.dataset import Interactions
    from ml.index import VectorIndex
    from ml.index.vector_index import IndexConfig
    from ml.models.registry import model_from_config
    from recommendations.models import DEFAULT_EVENT_TYPE_WEIGHTS, ModelVersion
    from recommendations.training import model_store, model_version_activate

    started = time.perf_counter()
    dataset = Interactions.from_events(
        user_ids=shop["event_user"], item_ids=shop["event_item"], event_types=shop["event_type"],
        event_type_weights={str(k): v for k, v in DEFAULT_EVENT_TYPE_WEIGHTS.items()},
    )
    model = model_from_config({"name": "ials", "factors": 64, "iterations": 10, "num_threads": 2, "device": "cpu"}).fit(dataset)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    index = VectorIndex(config=IndexConfig(exact_max_items=50_000, threads=2)).build(model.item_embeddings())
    index_seconds = time.perf_counter() - started
    version = ModelVersion.objects.create(model_name="ials", status=ModelVersion.Status.READY, n_users=dataset.n_users,
                                          n_items=dataset.n_items, n_events=len(shop["event_user"]))
    path, checksums = model_store.version_artifacts_write(version_id=version.pk, model_name="ials", model=model, index=index,
                                                          meta={"trained_at": timezone.now().isoformat()})
    ModelVersion.objects.filter(pk=version.pk).update(artifact_path=path, checksums=checksums, finished_at=timezone.now())
    model_version_activate(version_id=version.pk, note="serving benchmark")
    return {"version": version.pk, "fit_s": round(fit_seconds, 1), "index_s": round(index_seconds, 1), "index_kind": index.kind_,
            "users": dataset.n_users, "items": dataset.n_items, "events": len(shop["event_user"])}


# ------------------------------------------------------------------------------------------------ HTTP
class Client:
    """One keep-alive HTTP connection (reconnects when the server closes it)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = None

    def get(self, path: str, token: str) -> tuple[int, bytes, str]:
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.connection.request("GET", path, headers={"Authorization": f"Token {token}", "Connection": "keep-alive"})
                response = self.connection.getresponse()
                body = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.connection.close()
                    self.connection = None
                return response.status, body, response.getheader("Server-Timing", "")
            except (http.client.HTTPException, OSError):
                self.connection.close()
                self.connection = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


class CpuMeter:
    """CPU seconds used by the server side (gunicorn master + workers, this database's PostgreSQL backends,
    redis-server) and by the load generator (this process), between two snapshots."""

    def __init__(self, *, gunicorn_pid: int, database_url: str, database: str, redis_url: str) -> None:
        import psycopg
        import redis

        self.gunicorn_pid = gunicorn_pid
        self.database_url, self.database = database_url, database
        self.redis_pid = int(redis.Redis.from_url(redis_url).info("server")["process_id"])
        self.psycopg = psycopg

    def snapshot(self) -> dict[str, dict[int, float]]:
        """CPU seconds per process, by role (a process that exits between two snapshots drops out of both)."""
        with self.psycopg.connect(self.database_url, autocommit=True) as connection:
            backends = [row[0] for row in connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [self.database])]
        return {
            "gunicorn": {pid: process_cpu_seconds(pid) for pid in [self.gunicorn_pid, *children_of(self.gunicorn_pid)]},
            "postgres": {pid: process_cpu_seconds(pid) for pid in backends},
            "redis": {self.redis_pid: process_cpu_seconds(self.redis_pid)},
            "client": {0: time.process_time()},
        }

    @staticmethod
    def delta(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
        # processes that appeared in between (new database backends) count from zero
        return {role: sum(seconds - before[role].get(pid, 0.0) for pid, seconds in after[role].items()) for role in after}


def server_timing(header: str) -> dict[str, float]:
    parts = {}
    for part in header.split(","):
        name, _, duration = part.strip().partition(";dur=")
        if duration:
            parts[name] = float(duration)
    return parts


def run_cell(*, port: int, tokens: list[str], mode: str, clients: int, duration: float, n: int, cold_users: queue.Queue | None,
             meter: CpuMeter, rate: float | None = None) -> dict:
    """Closed loop (each client sends its next request when the previous one is answered), or paced at ``rate``
    requests/s in total (open loop: latency counts from the scheduled send time, so queueing is not hidden)."""
    latencies: list[float] = []
    timings: list[dict[str, float]] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + duration

    interval = clients / rate if rate else 0.0

    def worker(index: int) -> None:
        client = Client(port)
        mine = tokens[index::clients] if mode == "warm" else []
        position = 0
        scheduled = time.perf_counter() + index * interval / clients
        while time.perf_counter() < stop_at:
            if mode == "warm":
                token = mine[position % len(mine)]
                position += 1
                pages = 3
            else:
                try:
                    token = cold_users.get_nowait()
                except queue.Empty:
                    with lock:
                        errors.append("ran out of cold users")
                    return
                pages = 1
            cursor = None
            for _ in range(pages):
                path = f"/api/v1/recommendations/?n={n}" + (f"&cursor={cursor}" if cursor else "")
                if rate:
                    delay = scheduled - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    started = scheduled
                    scheduled += interval
                else:
                    started = time.perf_counter()
                try:
                    status, body, header = client.get(path, token)
                except Exception as exc:
                    with lock:
                        errors.append(repr(exc))
                    break
                elapsed = time.perf_counter() - started
                with lock:
                    if status != 200:
                        errors.append(f"{status} {body[:200]!r}")
                        break
                    latencies.append(elapsed)
                    timings.append(server_timing(header))
                cursor = json.loads(body)["next_cursor"]
                if time.perf_counter() >= stop_at:
                    break

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    load_before = load()
    cpu_before = meter.snapshot()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    cpu_after = meter.snapshot()
    requests = max(len(latencies), 1)
    cpu_ms = {name: round(1000 * seconds / requests, 2) for name, seconds in CpuMeter.delta(cpu_before, cpu_after).items()}
    cpu_ms["total"] = round(sum(cpu_ms.values()), 2)
    server = {name: round(statistics.mean(t.get(name, 0.0) for t in timings), 2) for name in ("candidates", "rank", "hydrate", "log", "total")} if timings else {}
    return {
        "mode": f"{mode}@{rate:g}/s" if rate else mode, "clients": clients, "requests": len(latencies), "errors": len(errors), "first_error": errors[0] if errors else None,
        "req_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(1000 * percentile(latencies, 0.50), 1), "p95_ms": round(1000 * percentile(latencies, 0.95), 1),
        "p99_ms": round(1000 * percentile(latencies, 0.99), 1),
        "server_ms_mean": server, "load_before": load_before, "load_after": load(),
        # CPU milliseconds per request; what 2 idle cores could sustain if CPU were the only limit
        "cpu_ms_per_request": cpu_ms, "cpu_bound_req_per_s_on_2_cores": round(2000 / cpu_ms["total"], 0) if cpu_ms["total"] else None,
    }


def print_cell(cell: dict) -> None:
    print(f"   {cell['mode']:12} {cell['clients']:>2} clients: {cell['req_per_s']:>7.1f} req/s  p50 {cell['p50_ms']:>7.1f}  p95 {cell['p95_ms']:>7.1f}  "
          f"p99 {cell['p99_ms']:>7.1f} ms  errors {cell['errors']}  server {cell['server_ms_mean']}  "
          f"cpu/req {cell['cpu_ms_per_request']}  load {cell['load_before']}", flush=True)


def redis_clear(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{CACHE_PREFIX}:*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])


def bench_http(args: argparse.Namespace) -> list[dict]:
    database_url = f"{args.pg}/{args.db}"
    artifact_dir = Path(tempfile.mkdtemp(prefix="vitrine-bench-serving-"))
    os.environ.update({"DATABASE_URL": database_url, "REDIS_URL": args.redis, "CACHE_KEY_PREFIX": CACHE_PREFIX,
                       "VITRINE_ARTIFACT_DIR": str(artifact_dir), "DJANGO_SETTINGS_MODULE": "config.settings.local",
                       "DJANGO_DEBUG": "false", "OPENBLAS_NUM_THREADS": "1"})
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    results = []
    try:
        for size in args.sizes:
            print(f"\n== {size:,} items: database, data, model ...", flush=True)
            connections.close_all()
            database_recreate(server=args.pg, name=args.db)
            call_command("migrate", verbosity=0, interactive=False)
            redis_clear(args.redis)
            started = time.perf_counter()
            shop = synthetic_shop(size)
            tokens = database_fill(database_url=database_url, shop=shop)
            fill_seconds = time.perf_counter() - started
            model = model_train_and_activate(shop=shop)
            connections.close_all()
            print(f"   {shop['n_items']:,} items, {shop['n_users']:,} users, {len(shop['event_user']):,} events loaded in {fill_seconds:.0f}s; "
                  f"iALS fit {model['fit_s']}s, {model['index_kind']} index {model['index_s']}s", flush=True)

            port = free_port()
            server = gunicorn_start(port=port, workers=args.workers, threads=args.threads, env_extra={})
            try:
                warm_tokens = tokens[: args.warm_users]
                cold_pool = tokens[args.warm_users:]
                # Warm-up: every worker loads the model, the shared tables are built, warm users' candidates cached.
                client = Client(port)
                for token in warm_tokens:
                    status, body, _ = client.get(f"/api/v1/recommendations/?n={args.n}", token)
                    if status != 200:
                        raise SystemExit(f"warm-up failed: {status} {body[:300]!r}")
                cold_queue: queue.Queue = queue.Queue()
                for token in cold_pool:
                    cold_queue.put(token)
                meter = CpuMeter(gunicorn_pid=server.pid, database_url=database_url, database=args.db, redis_url=args.redis)
                for clients in args.clients:
                    for mode in ("warm", "cold"):
                        cell = run_cell(port=port, tokens=warm_tokens, mode=mode, clients=clients, duration=args.duration, n=args.n,
                                        cold_users=cold_queue if mode == "cold" else None, meter=meter)
                        cell.update({"items": shop["n_items"]})
                        results.append(cell)
                        print_cell(cell)
                    if clients == max(args.clients):
                        for rate in args.paced_rates:
                            cell = run_cell(port=port, tokens=warm_tokens, mode="warm", clients=clients, duration=args.duration,
                                            n=args.n, cold_users=None, meter=meter, rate=rate)
                            cell.update({"items": shop["n_items"]})
                            results.append(cell)
                            print_cell(cell)
            finally:
                gunicorn_stop(server)
            for cell in results:
                cell.setdefault("model", model)
    finally:
        connections.close_all()
        redis_clear(args.redis)
        if not args.keep_db:
            database_drop(server=args.pg, name=args.db)
        shutil.rmtree(artifact_dir, ignore_errors=True)
    return results


# ------------------------------------------------------------------------------------------------ Faiss
def clustered(n: int, dim: int, *, seed: int, n_clusters: int = 1000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_clusters, dim)).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 200_000):
        stop = min(n, start + 200_000)
        out[start:stop] = centers[rng.integers(0, n_clusters, stop - start)] + 0.35 * rng.normal(size=(stop - start, dim)).astype(np.float32)
    return out


def single_query_ms(index, queries: np.ndarray, k: int = 10) -> float:
    started = time.perf_counter()
    for query in queries:
        index.search(query[None, :], k)
    return 1000 * (time.perf_counter() - started) / len(queries)


def bench_faiss(args: argparse.Namespace) -> dict:
    import faiss

    from ml.index import VectorIndex
    from ml.index.vector_index import IndexConfig

    n, dim, k = args.faiss_n, args.faiss_dim, 10
    print(f"\n== Faiss: {n:,} x {dim} clustered vectors", flush=True)
    vectors = clustered(n, dim, seed=0)
    rng = np.random.default_rng(2)  # held-out queries: perturbed data points, so they follow the data's clusters
    queries = vectors[rng.choice(n, 1000, replace=False)] + 0.1 * rng.normal(size=(1000, dim)).astype(np.float32)
    faiss.omp_set_num_threads(2)
    started = time.perf_counter()
    exact = VectorIndex(config=IndexConfig(kind="flat")).build(vectors)
    truth = exact.search(queries, k)[0]
    truth_seconds = time.perf_counter() - started
    faiss.omp_set_num_threads(1)  # single-query latency: one thread, as a web worker runs it
    exact_ms = single_query_ms(exact, queries[:100])
    print(f"   exact IndexFlatIP: {exact_ms:.2f} ms/query (1 thread); ground truth in {truth_seconds:.1f}s", flush=True)
    del exact

    def recall(found: np.ndarray) -> float:
        return float(np.mean([len(set(f) & set(t)) / k for f, t in zip(found, truth, strict=True)]))

    rows = []
    for kind, build, sweep_name, sweep in (
        # ivf: nlist ~ 2 sqrt(n), trained on nlist * 256 sampled vectors; hnsw: ml.index's defaults for large catalogs
        ("ivf", {"ivf_nlist": 2048, "ivf_nprobe": 1}, "nprobe", [1, 2, 4, 8, 16, 32]),
        ("hnsw", {"hnsw_m": 32, "hnsw_ef_construction": 200}, "efSearch", [32, 64, 128, 256, 512]),
    ):
        faiss.omp_set_num_threads(2)
        started = time.perf_counter()
        index = VectorIndex(config=IndexConfig(kind=kind, threads=2, **build)).build(vectors)
        build_seconds = time.perf_counter() - started
        faiss.omp_set_num_threads(1)
        for value in sweep:
            if kind == "hnsw":
                index.index_.hnsw.efSearch = value
            else:
                index.index_.nprobe = value
            found = np.vstack([index.search(q[None, :], k)[0] for q in queries])
            ms = single_query_ms(index, queries[:300])
            row = {"kind": kind, "build": build, "build_s": round(build_seconds, 1), sweep_name: value,
                   "recall_at_10": round(recall(found), 4), "ms_per_query": round(ms, 4), "speedup": round(exact_ms / ms, 1)}
            rows.append(row)
            print(f"   {kind} {sweep_name}={value:<4} recall@10 {row['recall_at_10']:.4f}  {ms:.3f} ms/query  x{row['speedup']:.0f}  (build {build_seconds:.0f}s)", flush=True)
        del index
    passing = [r for r in rows if r["recall_at_10"] >= 0.95 and r["speedup"] >= 10]
    best = max(passing, key=lambda r: r["speedup"]) if passing else None
    return {"n": n, "dim": dim, "queries": 1000, "exact_ms_per_query": round(exact_ms, 3), "sweep": rows, "best_meeting_target": best}


def main() -> None:
    args = parse_args()
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    result = {
        "benchmark": "serving: GET /api/v1/recommendations latency/throughput; Faiss recall vs speed",
        "when": started_at,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_at_start": load()},
        "config": {"sizes": args.sizes, "clients": args.clients, "duration_s": args.duration, "gunicorn_workers": args.workers,
                   "gunicorn_threads": args.threads, "page_size": args.n, "warm_users": args.warm_users,
                   "auth": "token", "impressions_logged": True, "database": "PostgreSQL", "cache": "Redis"},
        "targets": {"warm_p99_ms_at_32_clients_at_most": 50, "req_per_s_at_least": 300, "faiss_recall_at_10_at_least": 0.95,
                    "faiss_speedup_at_least": 10},
    }
    if not args.no_http:
        result["http"] = bench_http(args)
    if not args.no_faiss:
        result["faiss"] = bench_faiss(args)
    result["machine"]["load_at_end"] = load()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=str) + "\n")

    if "http" in result:
        print("\n| items | cache | clients | req/s | p50 ms | p95 ms | p99 ms | errors | CPU ms/req (server+client) | CPU-bound req/s on 2 cores | load (1m) |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for cell in result["http"]:
            cpu = cell["cpu_ms_per_request"]
            print(f"| {cell['items']:,} | {cell['mode']} | {cell['clients']} | {cell['req_per_s']:.0f} | {cell['p50_ms']} | {cell['p95_ms']} | "
                  f"{cell['p99_ms']} | {cell['errors']} | {cpu['total'] - cpu['client']:.1f}+{cpu['client']:.1f} | "
                  f"{cell['cpu_bound_req_per_s_on_2_cores']:.0f} | {cell['load_before'][0]} |")
    if "faiss" in result:
        faiss_result = result["faiss"]
        print(f"\nFaiss {faiss_result['n']:,} x {faiss_result['dim']}: exact {faiss_result['exact_ms_per_query']} ms/query")
        print("| index | parameter | recall@10 | ms/query | speed-up |")
        print("|---|---|---:|---:|---:|")
        for row in faiss_result["sweep"]:
            parameter = f"efSearch={row['efSearch']}" if "efSearch" in row else f"nprobe={row['nprobe']}"
            print(f"| {row['kind']} | {parameter} | {row['recall_at_10']} | {row['ms_per_query']} | {row['speedup']} |")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
