import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from catalog.models import Category, Item
from recommendations.models import Event, RecommenderSettings
from recommendations.tuning import recommender_settings_invalidate
from users.models import User


@pytest.fixture
def shop(db):
    """Two categories of 8 items; each of 30 users views/buys items of one category (planted taste)."""
    now = timezone.now()
    categories = [Category.objects.create(name=name, slug=name.lower()) for name in ("Books", "Garden")]
    items = [
        Item.objects.create(
            sku=f"SKU-{c}-{i}", title=f"{cat.name} item {i}", category=cat, price=Decimal("9.99"),
            tags=[cat.slug, f"t{i % 3}"], created_at=now,
        )
        for c, cat in enumerate(categories)
        for i in range(8)
    ]  # fmt: skip
    users = [User.objects.create(username=f"shopper{u}") for u in range(30)]
    rng = np.random.default_rng(0)
    events = []
    for u, user in enumerate(users):
        liked = items[(u % 2) * 8 : (u % 2) * 8 + 8]
        for n, idx in enumerate(rng.choice(8, size=6, replace=False)):
            events.append(Event(
                client_event_id=f"e-{u}-{n}", user=user, item=liked[idx], event_type="view" if n % 2 else "purchase",
                timestamp=now - dt.timedelta(hours=100 - n * 10 - u * 0.1),
            ))  # fmt: skip
    for s in range(5):  # anonymous sessions
        for n in range(3):
            events.append(Event(client_event_id=f"anon-{s}-{n}", session_key=f"sess{s}", item=items[n], event_type="click",
                                timestamp=now - dt.timedelta(hours=50 - n)))  # fmt: skip
    Event.objects.bulk_create(events)
    return {"items": items, "users": users, "n_user_events": 30 * 6}


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("evaluate", *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_leaderboard_from_the_event_table(shop, tmp_path):
    stdout, stderr = run("--models", "pop,itemknn,ease", "--split", "random", "--k", "5", "--out", str(tmp_path))
    lines = stdout.splitlines()
    assert lines[0].split()[:2] == ["model", "ndcg@5"]
    payload = json.loads((tmp_path / "leaderboard.json").read_text())
    meta = payload["meta"]
    assert meta["n_events"] == shop["n_user_events"]  # anonymous events skipped by default
    assert meta["n_users"] == 30 and meta["n_items"] == 16
    results = {r["model"]: r for r in payload["results"]}
    assert set(results) == {"pop", "itemknn", "ease"}
    assert "ild_category@5" in results["pop"]["metrics"]  # categories came from the catalogue
    assert results["ease"]["metrics"]["ndcg@5"] > results["pop"]["metrics"]["ndcg@5"]  # planted taste
    assert (tmp_path / "leaderboard.png").exists()


@pytest.mark.django_db
def test_event_type_weights_come_from_settings(shop, tmp_path):
    RecommenderSettings.objects.update_or_create(pk=1, defaults={"event_type_weights": {"purchase": 8.0, "view": 0.0}})
    recommender_settings_invalidate()
    run("--models", "pop", "--split", "random", "--out", str(tmp_path))
    meta = json.loads((tmp_path / "leaderboard.json").read_text())["meta"]
    assert meta["event_type_weights"] == {"purchase": 8.0, "view": 0.0}
    assert meta["nnz"] == 30 * 3  # views weigh 0 and are dropped: three purchases per user remain


@pytest.mark.django_db
def test_anonymous_sessions_and_default_models(shop, tmp_path):
    RecommenderSettings.objects.update_or_create(pk=1, defaults={"training_models": [{"name": "pop", "by": "weight"}]})
    recommender_settings_invalidate()
    stdout, _ = run("--include-anonymous", "--split", "random", "--out", str(tmp_path))
    payload = json.loads((tmp_path / "leaderboard.json").read_text())
    assert payload["meta"]["n_users"] == 35 and payload["meta"]["params"] == {"pop": {"by": "weight"}}
    assert payload["results"][0]["params"]["by"] == "weight"


@pytest.mark.django_db
def test_bad_input_is_a_command_error(shop, tmp_path):
    with pytest.raises(CommandError, match="unknown model") as info:
        run("--models", "nope", "--out", str(tmp_path))
    assert info.value.returncode == 2
    with pytest.raises(CommandError, match="--test-size"):
        run("--models", "pop", "--test-size", "0", "--out", str(tmp_path))


@pytest.mark.django_db
def test_no_events(db, tmp_path):
    with pytest.raises(CommandError, match="no events"):
        run("--models", "pop", "--out", str(tmp_path))
