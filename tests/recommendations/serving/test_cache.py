"""Serving cache primitives: per-actor state tokens and shared tables refreshed without stampedes."""
import threading
import time

from django.core.cache import cache
from django.test import override_settings

from recommendations.serving.cache import (
    actor_state_token,
    actor_state_touch,
    actor_token_key,
    shared_table_get,
)


def test_state_tokens_change_on_touch_and_never_come_back_after_eviction():
    token = actor_state_token("u1")
    assert actor_state_token("u1") == token
    actor_state_touch(user_ids=[1], session_keys=["abc"])
    touched = actor_state_token("u1")
    assert touched != token
    cache.delete(actor_token_key("u1"))  # evicted
    assert actor_state_token("u1") not in (token, touched)
    assert actor_state_token("sabc") != actor_state_token("u2")


def counting_builder(values):
    calls = []

    def build():
        calls.append(1)
        return values[len(calls) - 1]

    return build, calls


def test_a_shared_table_is_built_once_then_served_from_the_cache():
    build, calls = counting_builder(["v1"])
    assert shared_table_get("t", build, fresh_seconds=60) == "v1"
    assert shared_table_get("t", build, fresh_seconds=60) == "v1"
    assert len(calls) == 1


@override_settings(VITRINE_SERVING_BACKGROUND_REFRESH=False)
def test_a_stale_table_is_rebuilt_inline_when_configured(monkeypatch):
    build, calls = counting_builder(["v1", "v2"])
    shared_table_get("t", build, fresh_seconds=60)
    monkeypatch.setattr(time, "time", lambda real=time.time: real() + 120)
    assert shared_table_get("t", build, fresh_seconds=60) == "v1"  # this request still gets the copy it read
    assert shared_table_get("t", build, fresh_seconds=600) == "v2"


def test_a_stale_table_is_served_while_one_background_rebuild_runs(monkeypatch):
    release = threading.Event()
    calls = []

    def build():
        calls.append(1)
        if len(calls) > 1:
            release.wait(5)
        return f"v{len(calls)}"

    shared_table_get("t", build, fresh_seconds=60)
    monkeypatch.setattr(time, "time", lambda real=time.time: real() + 120)
    assert [shared_table_get("t", build, fresh_seconds=60) for _ in range(5)] == ["v1"] * 5  # nobody waits
    release.set()
    deadline = time.monotonic() + 5
    while shared_table_get("t", build, fresh_seconds=600) != "v2":
        assert time.monotonic() < deadline, "the background rebuild never landed"
        time.sleep(0.01)
    assert len(calls) == 2  # one rebuild, not one per request
