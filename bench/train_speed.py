"""Training speed and peak memory of the registry's recommenders on planted synthetic data.

    python bench/train_speed.py                                  # 100k and 1m, classic models + baselines
    python bench/train_speed.py --sizes 100k,1m,5m --models ease,ials,itemknn,slim,pop
    python bench/train_speed.py --sizes 100k --models multivae,lightgcn --params '{"multivae": {"epochs": 5}}'

For every (model, size) a fresh Python process loads the cached dataset, then fits the model; it reports
the median fit time over repeats (repeated while cheap: up to ``--repeats`` fits within
``--repeat-budget`` seconds) and the peak resident memory of the fit: the kernel's high-water mark
``VmHWM`` is reset (``/proc/self/clear_refs``) after loading, so the number covers numpy/BLAS/C++
allocations that tracemalloc cannot see (``ru_maxrss`` of the process is the fallback where
``clear_refs`` is not writable). ``fit_mem_mb`` = fit peak - resident memory before the fit.

Baselines, run the same way:

* ``implicit-als``: ``implicit.als.AlternatingLeastSquares`` called directly on the same train matrix
  with the iALS model's parameters (factors, regularization, alpha, iterations, use_cg, threads) ->
  ratio ``ials / implicit-als`` (our wrapper's overhead: confidence transform, copies, fold-in cache).
* ``ease-solve``: the dense lower bound of EASE: the time to invert ``XᵀX + λI`` (same binarized
  matrix, same ``l2``, float32) with ``np.linalg.inv`` and with ``torch.cholesky_inverse``; the faster
  one is the bound -> ratio ``ease / ease-solve``. The Gram product itself is timed separately.

Models that cannot run at a size are skipped with the reason printed (EASE/SLIM over ``--max-dense-items``
items, a model missing from the registry, a child that exceeds ``--timeout``). Any registry name works
with ``--models`` (e.g. the neural ``multivae,lightgcn,...``); ``--params`` passes hyperparameters.

Threads: ``--threads`` (default 2) goes to every model parameter named ``num_threads`` / ``n_jobs`` and
to implicit; BLAS/OpenMP pools get ``--blas-threads`` (default 1; implicit warns and slows down with more).

Writes ``bench/results/train_speed.json`` and ``bench/results/train_speed.png``; prints a table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

#: size label -> planted_interactions arguments (events ~ n_users * interactions_per_user)
SIZES: dict[str, dict[str, float]] = {
    "100k": {"n_users": 5_000, "n_items": 2_000, "interactions_per_user": 20, "n_clusters": 20},
    "1m": {"n_users": 50_000, "n_items": 10_000, "interactions_per_user": 20, "n_clusters": 50},
    "5m": {"n_users": 200_000, "n_items": 20_000, "interactions_per_user": 25, "n_clusters": 100},
}
DEFAULT_MODELS = "pop,itemknn,ials,ease,slim"
BASELINES = ("implicit-als", "ease-solve")
DENSE_MODELS = ("ease", "slim", "ease-solve")  # need ~n_items^2 memory or time
RESULTS = REPO / "bench" / "results"
CACHE = REPO / "var" / "bench-cache"


# ------------------------------------------------------------------------------------------ data
def dataset_path(size: str, seed: int) -> Path:
    return CACHE / f"planted-{size}-seed{seed}.npz"


def build_dataset(size: str, seed: int) -> Path:
    """Generate the planted data of ``size`` once and cache its Interactions as plain arrays."""
    from ml.synthetic import planted_interactions

    path = dataset_path(size, seed)
    if path.exists():
        return path
    spec = SIZES[size]
    started = time.perf_counter()
    synth = planted_interactions(
        n_users=int(spec["n_users"]), n_items=int(spec["n_items"]), n_clusters=int(spec["n_clusters"]),
        interactions_per_user=float(spec["interactions_per_user"]), seed=seed,
    )  # fmt: skip
    data = synth.to_interactions()
    m, log = data.matrix, data.log
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(
        tmp, indptr=m.indptr, indices=m.indices, data=m.data, shape=np.array(m.shape),
        user_ids=data.user_map.external_ids, item_ids=data.item_map.external_ids,
        log_user=log.user_index, log_item=log.item_index, log_weight=log.weight, log_ts=log.timestamp,
        log_value=log.value, category=data.item_features.category, n_events=np.array(len(synth)),
    )  # fmt: skip
    tmp.replace(path)
    print(f"[data] {size}: {len(synth)} events -> {data!r} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return path


def load_dataset(path: Path):
    """The cached Interactions, rebuilt without re-aggregating (cheap: no transient peak)."""
    import scipy.sparse as sp

    from ml.dataset import EventLog, IdMap, Interactions, ItemFeatures

    z = np.load(path, allow_pickle=False)
    shape = tuple(int(x) for x in z["shape"])
    matrix = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=shape)
    log = EventLog(user_index=z["log_user"], item_index=z["log_item"], weight=z["log_weight"], timestamp=z["log_ts"],
                   value=z["log_value"])  # fmt: skip
    return Interactions(
        matrix=matrix, user_map=IdMap(z["user_ids"]), item_map=IdMap(z["item_ids"]), log=log,
        item_features=ItemFeatures(category=z["category"]),
    ), int(z["n_events"])  # fmt: skip


# ----------------------------------------------------------------------------------- child side
def _rss_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_kb(reset_ok: bool) -> int:
    if reset_ok:
        hwm = _rss_kb("VmHWM")
        if hwm is not None:
            return hwm
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux


def _model_params(name: str, params: dict, threads: int) -> dict:
    from ml.models.registry import config_class, get_model_class

    fields = {f.name for f in __import__("dataclasses").fields(config_class(get_model_class(name)))}
    out = dict(params)
    for key in ("num_threads", "n_jobs"):
        if key in fields and key not in out:
            out[key] = threads
    return out


def _fit_registry_model(name: str, params: dict, data, threads: int):
    from ml.models.registry import model_from_config

    cfg = {"name": name, **_model_params(name, params, threads)}

    def fit() -> dict:
        model_from_config(cfg).fit(data)
        return {}

    return fit, cfg


def _fit_implicit_direct(params: dict, data, threads: int):
    """implicit's ALS on the same matrix with the iALS model's parameters."""
    import warnings

    from implicit.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    from ml.models.registry import model_from_config

    ials = model_from_config({"name": "ials", **_model_params("ials", params, threads)})
    cfg = {k: getattr(ials, k) for k in ("factors", "regularization", "alpha", "iterations", "use_cg", "random_state", "num_threads")}

    def fit() -> dict:
        model = AlternatingLeastSquares(
            factors=cfg["factors"], regularization=cfg["regularization"], alpha=cfg["alpha"], iterations=cfg["iterations"],
            use_cg=cfg["use_cg"], random_state=cfg["random_state"], num_threads=cfg["num_threads"],
            calculate_training_loss=False, use_gpu=False,
        )  # fmt: skip
        with threadpool_limits(1, user_api="blas"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(data.matrix, show_progress=False)
        return {}

    return fit, {"name": "implicit-als", **cfg}


def _fit_ease_solve(params: dict, data, threads: int):
    """Gram matrix once, then the bare inversions of XᵀX + λI (numpy and torch); the faster is the bound."""
    import torch  # imported before the peak is reset: its ~300 MiB of libraries are not the solve's

    from ml.models.registry import model_from_config

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    ease = model_from_config({"name": "ease", **params})
    X = data.binarized().astype(np.float32)

    def fit() -> dict:
        t0 = time.perf_counter()
        gram = np.asarray((X.T @ X).toarray(), dtype=np.float32)
        gram[np.diag_indices_from(gram)] += float(ease.l2)
        t1 = time.perf_counter()
        np.linalg.inv(gram)
        t2 = time.perf_counter()
        g = torch.from_numpy(gram)
        torch.cholesky_inverse(torch.linalg.cholesky(g))
        t3 = time.perf_counter()
        return {"gram_seconds": t1 - t0, "numpy_inv_seconds": t2 - t1, "torch_cholesky_inverse_seconds": t3 - t2,
                "_timed": min(t2 - t1, t3 - t2)}  # fmt: skip

    return fit, {"name": "ease-solve", "l2": float(ease.l2), "dtype": "float32"}


def child(spec: dict) -> dict:
    """Run in a fresh process: load, reset the peak, fit ``repeats`` times, report."""
    data, n_events = load_dataset(Path(spec["data"]))
    name, params, threads = spec["model"], spec.get("params", {}), spec["threads"]
    if name == "implicit-als":
        fit, cfg = _fit_implicit_direct(spec.get("ials_params", {}), data, threads)
    elif name == "ease-solve":
        fit, cfg = _fit_ease_solve(spec.get("ease_params", {}), data, threads)
    else:
        fit, cfg = _fit_registry_model(name, params, data, threads)
    rss_before = _rss_kb("VmRSS") or 0
    reset_ok = _reset_peak()
    times, extra = [], {}
    budget_start = time.perf_counter()
    for _ in range(max(1, spec["repeats"])):
        started = time.perf_counter()
        extra = fit() or {}
        elapsed = time.perf_counter() - started
        times.append(extra.pop("_timed", elapsed))
        if time.perf_counter() - budget_start + elapsed > spec["repeat_budget"]:
            break
    peak = _peak_kb(reset_ok)
    return {
        "fit_seconds": statistics.median(times), "fit_seconds_min": min(times), "fit_seconds_all": times,
        "repeats": len(times),
        "peak_rss_mb": peak / 1024, "rss_before_fit_mb": rss_before / 1024,
        "fit_mem_mb": max(peak - rss_before, 0) / 1024 if reset_ok else None,
        "peak_method": "VmHWM after clear_refs" if reset_ok else "ru_maxrss (process lifetime)",
        "params": cfg, **extra,
    }  # fmt: skip


# ---------------------------------------------------------------------------------- parent side
def run_child(spec: dict, *, timeout: float, blas_threads: int) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(blas_threads), "OMP_NUM_THREADS": str(blas_threads),
           "MKL_NUM_THREADS": str(blas_threads), "PYTHONPATH": str(REPO)}  # fmt: skip
    load = os.getloadavg()[0]
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
            capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "note": f"fit did not finish within --timeout {timeout:.0f}s", "load_avg_1m": load}
    wall = time.perf_counter() - started
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"status": "error", "note": tail[:300], "load_avg_1m": load}
    return {"status": "ok", "process_seconds": wall, "load_avg_1m": load, **json.loads(lines[-1])}


def skip_reason(model: str, size: str, n_items: int, max_dense_items: int, available: set[str]) -> str | None:
    if model not in available and model not in BASELINES:
        return f"{model!r} is not in the registry"
    if model in DENSE_MODELS and n_items > max_dense_items:
        what = "dense n_items² solve" if model != "slim" else "one elastic net per item"
        return f"{n_items} items > --max-dense-items {max_dense_items} ({what}); skipped as infeasible here"
    return None


def _fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def print_table(rows: list[dict]) -> None:
    header = ["size", "events", "users", "items", "nnz", "model", "fit_s", "min_s", "reps", "peak_mb", "fit_mem_mb", "load", "status"]
    body = [[r["size"], str(r["n_events"]), str(r["n_users"]), str(r["n_items"]), str(r["nnz"]), r["model"],
             _fmt(r.get("fit_seconds"), ".3f"), _fmt(r.get("fit_seconds_min"), ".3f"), _fmt(r.get("repeats"), "d"),
             _fmt(r.get("peak_rss_mb"), ".0f"), _fmt(r.get("fit_mem_mb"), ".0f"), _fmt(r.get("load_avg_1m"), ".1f"),
             r["status"] if r["status"] == "ok" else f"{r['status']}: {r.get('note', '')}"]
            for r in rows]  # fmt: skip
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header) - 1)]
    for n, row in enumerate([header, *body]):
        print("  ".join(c.rjust(w) if i not in (0, 5) else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=False))) + "  " + row[-1])
        if n == 0:
            print("  ".join("-" * w for w in widths) + "  ------")


def comparisons(rows: list[dict]) -> list[dict]:
    """ials vs implicit-als and ease vs ease-solve, per size."""
    out = []
    by = {(r["size"], r["model"]): r for r in rows if r["status"] == "ok"}
    for size in dict.fromkeys(r["size"] for r in rows):
        for ours, ref, label in (("ials", "implicit-als", "ials / implicit ALS direct"), ("ease", "ease-solve", "ease / dense-solve lower bound")):
            a, b = by.get((size, ours)), by.get((size, ref))
            if a and b and b["fit_seconds"] > 0:
                row = {"size": size, "comparison": label, "ours_s": a["fit_seconds"], "reference_s": b["fit_seconds"],
                       "ratio": a["fit_seconds"] / b["fit_seconds"],
                       "ratio_of_min": a["fit_seconds_min"] / max(b["fit_seconds_min"], 1e-12)}  # fmt: skip
                if ref == "ease-solve":
                    row.update({k: b.get(k) for k in ("gram_seconds", "numpy_inv_seconds", "torch_cholesky_inverse_seconds")})
                out.append(row)
    return out


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ml.evaluation.report import grouped_bar_chart

    ok = [r for r in rows if r["status"] == "ok"]
    models = list(dict.fromkeys(r["model"] for r in rows))
    sizes = list(dict.fromkeys(r["size"] for r in rows))
    lookup = {(r["model"], r["size"]): r for r in ok}
    fig, axes = plt.subplots(1, 2, figsize=(max(12, 1.4 * len(models) * 2), 5.2))
    grouped_bar_chart(axes[0], models, {s: [lookup.get((m, s), {}).get("fit_seconds") for m in models] for s in sizes},
                      title="Fit time, median (s, log)", log=True)  # fmt: skip
    grouped_bar_chart(axes[1], models, {s: [lookup.get((m, s), {}).get("peak_rss_mb") for m in models] for s in sizes},
                      title="Peak RSS during fit (MiB)")  # fmt: skip
    fig.suptitle("Vitrine train speed on planted synthetic data (missing bar = skipped)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--sizes", default="100k,1m", help=f"comma-separated, of {','.join(SIZES)}")
    p.add_argument("--models", default=DEFAULT_MODELS, help="comma-separated registry names (neural ones too)")
    p.add_argument("--no-baselines", action="store_true", help="skip implicit-als and ease-solve")
    p.add_argument("--params", default="{}", help='JSON per model, e.g. \'{"ials": {"factors": 128}}\'')
    p.add_argument("--repeats", type=int, default=3, help="fits per (model, size) while under --repeat-budget")
    p.add_argument("--repeat-budget", type=float, default=30.0, help="seconds; no further repeat beyond it")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per (model, size) process")
    p.add_argument("--threads", type=int, default=2, help="num_threads / n_jobs of the models and implicit")
    p.add_argument("--blas-threads", type=int, default=1, help="OPENBLAS/OMP/MKL threads in the child processes")
    p.add_argument("--max-dense-items", type=int, default=12_000, help="EASE/SLIM/ease-solve above this are skipped")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(RESULTS))
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0

    from ml.models.registry import available_models

    sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    bad = [s for s in sizes if s not in SIZES]
    if bad:
        p.error(f"unknown size(s) {bad}; choose from {list(SIZES)}")
    params = json.loads(args.params)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not args.no_baselines:
        if "ials" in models:
            models.append("implicit-als")
        if "ease" in models:
            models.append("ease-solve")
    available = set(available_models())
    rows: list[dict] = []
    for size in sizes:
        path = build_dataset(size, args.seed)
        z = np.load(path)
        n_users, n_items = (int(x) for x in z["shape"])
        info = {"size": size, "n_events": int(z["n_events"]), "n_users": n_users, "n_items": n_items, "nnz": int(z["indices"].size)}
        for model in models:
            reason = skip_reason(model, size, n_items, args.max_dense_items, available)
            if reason:
                print(f"[skip] {model} @ {size}: {reason}", file=sys.stderr)
                rows.append({**info, "model": model, "status": "skipped", "note": reason})
                continue
            spec = {"data": str(path), "model": model, "params": params.get(model, {}), "threads": args.threads,
                    "repeats": args.repeats, "repeat_budget": args.repeat_budget,
                    "ials_params": params.get("ials", {}), "ease_params": params.get("ease", {})}  # fmt: skip
            print(f"[run] {model} @ {size} ...", file=sys.stderr, flush=True)
            result = run_child(spec, timeout=args.timeout, blas_threads=args.blas_threads)
            if result["status"] != "ok":
                print(f"[{result['status']}] {model} @ {size}: {result.get('note')}", file=sys.stderr)
            else:
                print(f"       {result['fit_seconds']:.3f}s, peak {result['peak_rss_mb']:.0f} MiB", file=sys.stderr)
            rows.append({**info, "model": model, **result})
    print_table(rows)
    comps = comparisons(rows)
    for c in comps:
        extra = ""
        if "numpy_inv_seconds" in c:
            extra = f" (gram {c['gram_seconds']:.2f}s, np.linalg.inv {c['numpy_inv_seconds']:.2f}s, torch cholesky_inverse {c['torch_cholesky_inverse_seconds']:.2f}s)"
        print(f"{c['size']:>5}  {c['comparison']}: {c['ours_s']:.3f}s / {c['reference_s']:.3f}s = {c['ratio']:.2f}x "
              f"(ratio of minimums {c['ratio_of_min']:.2f}x){extra}")

    out = Path(args.out)
    import implicit
    import scipy

    from ml.evaluation.report import write_json

    payload = {
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "numpy": np.__version__, "scipy": scipy.__version__, "implicit": implicit.__version__,
                    "threads": args.threads, "blas_threads": args.blas_threads,
                    "load_average": os.getloadavg()},  # fmt: skip
        "sizes": {s: SIZES[s] for s in sizes},
        "rows": rows,
        "comparisons": comps,
    }
    write_json(payload, out / "train_speed.json")
    plot(rows, out / "train_speed.png")
    print(f"wrote {out / 'train_speed.json'} and {out / 'train_speed.png'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
