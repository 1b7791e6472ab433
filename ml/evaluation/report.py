"""Leaderboards: a text table, a JSON file and a PNG bar chart (matplotlib, Agg backend)."""
from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ml.utils.files import atomic_write_text

__all__ = [
    "format_table",
    "grouped_bar_chart",
    "leaderboard",
    "metric_columns",
    "plot_leaderboard",
    "to_jsonable",
    "write_json",
    "write_report",
]

_BEYOND_ORDER = ("coverage", "ild_category", "ild_embedding", "novelty", "gini", "arp", "rmse", "mae")


def metric_columns(results: Sequence[Mapping[str, Any]]) -> list[str]:
    """Metric names present in any result: ranking metrics first (NDCG, MAP, ...), then the rest."""
    from ml.evaluation.metrics import RANKING_METRICS

    present: list[str] = []
    for result in results:
        for name in result.get("metrics", {}):
            if name not in present:
                present.append(name)

    def rank(name: str) -> tuple[int, int, str]:
        base = name.split("@")[0]
        if base in RANKING_METRICS:
            return 0, RANKING_METRICS.index(base), name
        if base in _BEYOND_ORDER:
            return 1, _BEYOND_ORDER.index(base), name
        return 2, 0, name

    return sorted(present, key=rank)


def leaderboard(results: Iterable[Mapping[str, Any]], sort_by: str | None = None) -> list[Mapping[str, Any]]:
    """Results sorted by ``sort_by`` (default: the first ``ndcg@k`` metric), best first.

    Failed runs (``"error"`` key) and NaN scores go last.
    """
    results = list(results)
    if sort_by is None:
        names = metric_columns(results)
        sort_by = next((n for n in names if n.startswith("ndcg@")), names[0] if names else None)

    def key(result: Mapping[str, Any]) -> tuple[int, float]:
        value = result.get("metrics", {}).get(sort_by) if sort_by else None
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return 1, 0.0
        return 0, -float(value)

    return sorted(results, key=key)


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "nan"
        if abs(value) >= 1000:
            return f"{value:.0f}"
        if abs(value) >= 10:
            return f"{value:.2f}"
        return f"{value:.{digits}f}"
    return str(value)


def format_table(results: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None, *, show_params: bool = False) -> str:
    """A fixed-width text table: model, every metric, fit seconds; below it the failures and, with
    ``show_params``, the parameters chosen by a search."""
    columns = list(columns) if columns is not None else metric_columns(results)
    header = ["model", *columns, "fit_s"]
    rows = []
    for result in results:
        if "error" in result:
            rows.append([result["model"], *(["-"] * len(columns)), "-"])
            continue
        metrics = result.get("metrics", {})
        rows.append([result["model"], *(_fmt(metrics.get(c)) for c in columns), _fmt(result.get("fit_seconds"), 2)])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=False)))]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=False))))
    notes = []
    for result in results:
        if "error" in result:
            notes.append(f"{result['model']}: FAILED: {result['error']}")
        elif show_params and "search" in result:
            search = result["search"]
            chosen = json.dumps(to_jsonable(search["best_params"]), sort_keys=True) if search["best_params"] else "defaults"
            notes.append(
                f"{result['model']}: chosen {chosen} (validation {search['metric']}={_fmt(search['best_score'])}, "
                f"{len(search['trials'])} trials)"
            )
    return "\n".join(lines + ([""] + notes if notes else []))


def to_jsonable(obj: Any) -> Any:
    """numpy scalars/arrays to Python, NaN/inf to None (JSON has no NaN), paths to strings."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(payload: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, json.dumps(to_jsonable(payload), indent=2, sort_keys=False, allow_nan=False) + "\n")


def grouped_bar_chart(ax, labels: Sequence[str], series: Mapping[str, Sequence[float]], *, title: str = "", ylabel: str = "", log: bool = False) -> None:
    """Bars grouped by ``labels`` (x axis), one colour per series; NaN/None bars are left out."""
    n = max(len(series), 1)
    width = 0.8 / n
    x = np.arange(len(labels))
    for j, (name, values) in enumerate(series.items()):
        vals = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
        ax.bar(x + (j - (n - 1) / 2) * width, np.nan_to_num(vals, nan=0.0), width, label=name)
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=30, ha="right")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.grid(axis="y", alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)


def plot_leaderboard(results: Sequence[Mapping[str, Any]], path: str | Path, *, title: str = "") -> Path:
    """PNG with three stacked panels: ranking metrics, [0, 1] beyond-accuracy metrics, fit seconds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in results if "error" not in r]
    labels = [r["model"] for r in ok]
    columns = metric_columns(ok)
    from ml.evaluation.metrics import RANKING_METRICS

    ranking = [c for c in columns if c.split("@")[0] in RANKING_METRICS]
    unit = [c for c in columns if c.split("@")[0] in ("coverage", "ild_category", "ild_embedding", "gini")]
    fig, axes = plt.subplots(3, 1, figsize=(max(9.0, 0.9 * len(labels) + 4), 14))
    grouped_bar_chart(axes[0], labels, {c: [r["metrics"].get(c) for r in ok] for c in ranking}, title="Accuracy")
    grouped_bar_chart(axes[1], labels, {c: [r["metrics"].get(c) for r in ok] for c in unit}, title="Beyond accuracy")
    grouped_bar_chart(axes[2], labels, {"fit seconds": [r.get("fit_seconds") for r in ok]}, title="Fit time (s)", log=True)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(results: Sequence[Mapping[str, Any]], out_dir: str | Path, *, meta: Mapping[str, Any] | None = None, title: str = "") -> dict[str, Path]:
    """``leaderboard.json``, ``leaderboard.png`` and ``leaderboard.txt`` in ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ordered = leaderboard(results)
    paths = {
        "json": write_json({"meta": dict(meta or {}), "results": list(ordered)}, out_dir / "leaderboard.json"),
        "png": plot_leaderboard(ordered, out_dir / "leaderboard.png", title=title),
        "txt": out_dir / "leaderboard.txt",
    }
    paths["txt"].write_text(format_table(ordered, show_params=True) + "\n")
    return paths
