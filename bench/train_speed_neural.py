"""Training speed of the neural recommenders: seconds per epoch and time to best validation NDCG@10.

    python bench/train_speed_neural.py                                   # 100k + 1m, all 7 models, device auto
    python bench/train_speed_neural.py --device cuda --epochs 50 --epochs-1m 20
    python bench/train_speed_neural.py --sizes 100k --models sasrec,bert4rec --threads 1

Data: ``ml.synthetic.planted_interactions`` at the sizes of ``bench/train_speed.py`` (100k events:
5k users x 2k items; 1m events: 50k users x 10k items), with item categories/tags/prices and real
timestamps (so FM / Wide&Deep get hour-of-day context and the sequence models a time order).

Each model is trained with its default (paper) hyperparameters, except ``epochs`` (the cap per size,
``--epochs`` / ``--epochs-1m``), ``patience`` (``--patience``) and the per-size overrides in
:data:`OVERRIDES` (LightGCN propagates the whole graph per mini-batch, so it gets bigger batches on
1m). Every epoch is followed by the model's own early-stopping evaluation (NDCG@10 on a held-out
slice of the training data, at most 1000 users), which is part of the epoch time.

Reported per (size, model): mean seconds per epoch (training + validation), epochs run, best
validation NDCG@10, the epoch it happened in and the wall time from the start of training to the end
of that epoch ("time to best"), plus the whole ``fit`` time (data preparation and the final user /
item vectors included). With a small epoch cap "time to best" is a lower bound of the real one.

Writes ``bench/results/train_speed_neural.json`` and ``.png``; prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

RESULTS = REPO / "bench" / "results"
MODELS = ("multivae", "lightgcn", "ncf", "sasrec", "bert4rec", "fm", "widedeep")
try:  # same sizes as the classic-model benchmark
    from bench.train_speed import SIZES as _SIZES
except Exception:  # pragma: no cover - keep this script standalone
    _SIZES = {
        "100k": {"n_users": 5_000, "n_items": 2_000, "interactions_per_user": 20, "n_clusters": 20},
        "1m": {"n_users": 50_000, "n_items": 10_000, "interactions_per_user": 20, "n_clusters": 50},
    }
SIZES = {k: _SIZES[k] for k in ("100k", "1m") if k in _SIZES}
#: per-size hyperparameter overrides (on top of the models' defaults)
OVERRIDES: dict[str, dict[str, dict]] = {
    "100k": {"lightgcn": {"batch_size": 8192}},
    "1m": {"lightgcn": {"batch_size": 32768}},
}


def build(size: str, seed: int):
    from ml.synthetic import planted_interactions

    spec = SIZES[size]
    synth = planted_interactions(
        n_users=int(spec["n_users"]),
        n_items=int(spec["n_items"]),
        n_clusters=int(spec["n_clusters"]),
        interactions_per_user=float(spec["interactions_per_user"]),
        seed=seed,
    )
    return synth.to_interactions(), len(synth)


def run_one(name: str, params: dict, data) -> dict:
    import torch

    from ml.models.registry import model_from_config

    model = model_from_config({"name": name, **params})
    started = time.perf_counter()
    model.fit(data)
    fit_seconds = time.perf_counter() - started
    h = model.history
    best = next((e for e in h.epochs if e.epoch == h.best_epoch), None)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return {
        "model": name,
        "params": params,
        "epochs_run": len(h.epochs),
        "seconds_per_epoch": h.seconds_per_epoch,
        "epoch_seconds": [e.seconds for e in h.epochs],
        "val_ndcg": [e.val_ndcg for e in h.epochs],
        "best_epoch": h.best_epoch,
        "best_val_ndcg10": h.best_val_ndcg,
        "time_to_best_seconds": best.elapsed if best else None,
        "stopped_early": h.stopped_early,
        "fit_seconds": fit_seconds,
    }


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({r["size"] for r in rows}, key=list(SIZES).index)
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    width = 0.8 / max(len(sizes), 1)
    models = [m for m in MODELS if any(r["model"] == m for r in rows)]
    for j, size in enumerate(sizes):
        by = {r["model"]: r for r in rows if r["size"] == size}
        xs = [i + j * width for i in range(len(models))]
        for ax, key in zip(axes[:2], ("seconds_per_epoch", "time_to_best_seconds"), strict=False):
            ax.bar(xs, [by.get(m, {}).get(key) or 0 for m in models], width, label=size)
        axes[2].bar(xs, [by.get(m, {}).get("best_val_ndcg10") or 0 for m in models], width, label=size)
    titles = ("seconds per epoch (train + validation)", "time to best validation NDCG@10 (s)", "best validation NDCG@10")
    for ax, title in zip(axes, titles, strict=False):
        ax.set_xticks([i + width * (len(sizes) - 1) / 2 for i in range(len(models))])
        ax.set_xticklabels(models, rotation=30)
        ax.set_title(title)
        ax.legend()
    axes[0].set_yscale("log")
    axes[1].set_yscale("log")
    fig.suptitle(f"neural recommenders on planted data ({rows[0]['device']})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100k,1m")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda[:n]")
    ap.add_argument("--epochs", type=int, default=20, help="epoch cap on 100k")
    ap.add_argument("--epochs-1m", type=int, default=3, help="epoch cap on 1m")
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    ap.add_argument("--params", default="{}", help='JSON {"model": {param: value}} added to every size')
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(RESULTS / "train_speed_neural.json"))
    args = ap.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from ml.models.neural.training import resolve_device

    device = resolve_device(args.device)
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu x{torch.get_num_threads()} threads"
    extra = json.loads(args.params)
    rows = []
    for size in args.sizes.split(","):
        t0 = time.perf_counter()
        data, n_events = build(size, args.seed)
        print(f"[data] {size}: {n_events} events, {data!r} ({time.perf_counter() - t0:.1f}s)", file=sys.stderr)
        cap = args.epochs if size == "100k" else args.epochs_1m
        for name in args.models.split(","):
            params = {"device": args.device, "epochs": cap, "patience": args.patience}
            params.update(OVERRIDES.get(size, {}).get(name, {}))
            params.update(extra.get(name, {}))
            row = {"size": size, "n_events": n_events, "n_users": data.n_users, "n_items": data.n_items,
                   "nnz": data.nnz, "device": device_name}  # fmt: skip
            try:
                row.update(run_one(name, params, data))
                row["status"] = "ok"
            except Exception as exc:  # report and continue with the next model
                row.update({"model": name, "params": params, "status": f"error: {type(exc).__name__}: {exc}"})
            rows.append(row)
            if row["status"] == "ok":
                print(
                    f"[{size}] {name:9s} {row['seconds_per_epoch']:8.2f} s/epoch  epochs {row['epochs_run']:3d}  "
                    f"best ndcg@10 {row['best_val_ndcg10']:.4f} @ep{row['best_epoch']}  "
                    f"to-best {row['time_to_best_seconds']:.1f}s  fit {row['fit_seconds']:.1f}s",
                    file=sys.stderr,
                    flush=True,
                )
            else:
                print(f"[{size}] {name}: {row['status']}", file=sys.stderr, flush=True)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "device": device_name,
            "torch_threads": torch.get_num_threads(),
            "load_average": list(os.getloadavg()),
        },
        "epoch_caps": {"100k": args.epochs, "1m": args.epochs_1m},
        "patience": args.patience,
        "sizes": {k: SIZES[k] for k in args.sizes.split(",")},
        "rows": rows,
    }
    out.write_text(json.dumps(meta, indent=2))
    ok = [r for r in rows if r["status"] == "ok"]
    if ok:
        plot(ok, out.with_suffix(".png"))

    header = f"{'size':5s} {'model':9s} {'s/epoch':>9s} {'epochs':>6s} {'best ep':>7s} {'to best s':>9s} {'val ndcg@10':>11s} {'fit s':>8s}"
    print(header)
    print("-" * len(header))
    for r in rows:
        if r["status"] != "ok":
            print(f"{r['size']:5s} {r['model']:9s} {r['status']}")
            continue
        print(
            f"{r['size']:5s} {r['model']:9s} {r['seconds_per_epoch']:9.2f} {r['epochs_run']:6d} {r['best_epoch']:7d} "
            f"{r['time_to_best_seconds']:9.1f} {r['best_val_ndcg10']:11.4f} {r['fit_seconds']:8.1f}"
        )
    print(f"\nwrote {out} and {out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
