import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ml.cli.evaluate import main
from ml.synthetic import planted_interactions

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def synth_csv(tmp_path_factory) -> Path:
    d = planted_interactions(n_users=150, n_items=80, n_clusters=4, interactions_per_user=12, seed=3)
    path = tmp_path_factory.mktemp("data") / "events.csv"
    with path.open("w") as f:
        f.write("user_id,item_id,event_type,value,timestamp\n")
        for row in zip(d.user_ids.tolist(), d.item_ids.tolist(), d.event_types.tolist(), d.values.tolist(), d.timestamps.tolist(), strict=False):
            f.write(",".join(map(str, row)) + "\n")
    return path


def run_cli(args, capsys):
    code = main([*map(str, args), "--no-progress"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_leaderboard_sorted_and_written(synth_csv, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, stderr = run_cli(
        ["--data", synth_csv, "--models", "pop,itemknn,ease", "--split", "random", "--k", "5", "--out", out], capsys
    )
    assert code == 0, stderr
    lines = stdout.splitlines()
    assert lines[0].split()[:2] == ["model", "ndcg@5"] and "fit_s" in lines[0]
    payload = json.loads((out / "leaderboard.json").read_text())
    ndcgs = [r["metrics"]["ndcg@5"] for r in payload["results"]]
    assert ndcgs == sorted(ndcgs, reverse=True)
    assert [ln.split()[0] for ln in lines[2:5]] == [r["model"] for r in payload["results"]]
    assert payload["meta"]["split"] == "random" and payload["meta"]["k"] == 5
    assert {"coverage@5", "novelty@5", "gini@5", "arp@5", "mrr@5"} <= set(payload["results"][0]["metrics"])
    assert (out / "leaderboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # planted structure: collaborative models beat popularity
    by_name = {r["model"]: r["metrics"]["ndcg@5"] for r in payload["results"]}
    assert by_name["ease"] > by_name["pop"]


def test_movielens_with_items_threshold_and_temporal_split(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = [(u, i, int(rng.integers(1, 6)), 880000000 + n) for n, (u, i) in enumerate((u, i) for u in range(1, 31) for i in rng.choice(np.arange(1, 21), 10, replace=False))]
    udata = tmp_path / "u.data"
    udata.write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in rows))

    def flags(genre: int) -> str:
        return "|".join("1" if j == genre else "0" for j in range(19))

    (tmp_path / "u.item").write_text(
        "".join(f"{i}|Movie {i}|01-Jan-1995||http://x|{flags(1 + i % 3)}\n" for i in range(1, 21)), encoding="latin-1"
    )
    code, stdout, stderr = run_cli(
        ["--data", udata, "--format", "movielens", "--items", tmp_path / "u.item", "--implicit-threshold", "3",
         "--min-user-interactions", "3", "--split", "user-temporal", "--models", "pop,pop_category", "--out", tmp_path / "o"],
        capsys,
    )  # fmt: skip
    assert code == 0, stderr
    payload = json.loads((tmp_path / "o" / "leaderboard.json").read_text())
    assert "ild_category@10" in payload["results"][0]["metrics"]
    kept = sum(r >= 3 for _, _, r, _ in rows)
    assert payload["meta"]["nnz"] <= kept and payload["meta"]["split"] == "user-temporal"


def test_search_reports_chosen_params(synth_csv, tmp_path, capsys):
    code, stdout, stderr = run_cli(
        ["--data", synth_csv, "--models", "ease", "--search", "--search-trials", "3", "--split", "leave-last-out", "--out", tmp_path],
        capsys,
    )
    assert code == 0, stderr
    assert "ease: chosen" in stdout and "validation ndcg@10" in stdout
    result = json.loads((tmp_path / "leaderboard.json").read_text())["results"][0]
    search = result["search"]
    assert len(search["trials"]) == 3 and search["trials"][0]["params"] == {}  # defaults first
    assert result["params"]["l2"] == search["best_params"].get("l2", 500.0)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--models", "pop,nosuchmodel"], "unknown model(s): nosuchmodel"),
        (["--params", "{not json"], "--params: not valid JSON"),
        (["--params", '{"ease": {"l2": 1}}'], "--params names models not in --models"),
        (["--params", '{"pop": {"nope": 1}}'], "unknown parameter"),
        (["--test-size", "1.5"], "--test-size"),
        (["--implicit-threshold", "4", "--format", "csv"], None),  # fine: the CSV has values
    ],
)
def test_bad_options_exit_2(synth_csv, tmp_path, capsys, extra, message):
    args = ["--data", synth_csv, "--models", "pop", "--out", tmp_path, *extra]
    code, _, stderr = run_cli(args, capsys)
    if message is None:
        assert code == 0, stderr
    else:
        assert code == 2 and message in stderr


def test_bad_files_exit_2(tmp_path, capsys):
    code, _, stderr = run_cli(["--data", tmp_path / "missing.csv"], capsys)
    assert code == 2 and "no such file" in stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,colour\n1,red\n")
    code, _, stderr = run_cli(["--data", bad, "--models", "pop"], capsys)
    assert code == 2 and "unknown column" in stderr
    udata = tmp_path / "u.data"
    udata.write_text("1,2,3,4\n")
    code, _, stderr = run_cli(["--data", udata, "--format", "movielens", "--models", "pop"], capsys)
    assert code == 2 and "not a movielens" in stderr
    code, _, stderr = run_cli(["--data", bad, "--models", "pop", "--implicit-threshold", "4"], capsys)
    assert code == 2


def test_unknown_format_exits_2_as_a_module(synth_csv):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "ml.evaluate", "--data", str(synth_csv), "--format", "parquet"],
        cwd=REPO, capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "invalid choice: 'parquet'" in proc.stderr
