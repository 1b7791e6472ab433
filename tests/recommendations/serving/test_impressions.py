"""The impression buffer: pages wait in the process and are written in one statement per flush."""
from __future__ import annotations

import logging
import time
import uuid

import pytest
from django.db import DatabaseError
from rest_framework.test import APIClient

from recommendations.events.ingest import Actor
from recommendations.models import Impression
from recommendations.serving import impressions as impressions_module
from recommendations.serving.impressions import (
    ImpressionBuffer,
    ImpressionRow,
    impression_buffer,
    impressions_flush,
    impressions_log,
)
from recommendations.shop.privacy import user_history_reset
from tests.factories import ItemFactory, UserFactory
from users.services import user_delete, user_session_history_claim


@pytest.fixture
def buffered(settings):
    """Buffering on, with an interval long enough that only the test flushes (a fresh buffer, discarded after)."""
    settings.VITRINE_IMPRESSIONS_FLUSH_SECONDS = 3600
    impressions_module._buffer = None
    yield
    buffer = impressions_module._buffer
    if buffer is not None:
        buffer._stopped = True
        buffer._wake.set()
    impressions_module._buffer = None


def rows_for(items, *, feed: str = "f1") -> list[ImpressionRow]:
    return [ImpressionRow(item_id=item.pk, position=k, source="popular", score=1.0 - k / 10, reason="popular",
                          context={"feed": feed}) for k, item in enumerate(items)]


def log_page(*, actor: Actor, items, request_id: str | None = None) -> str:
    request_id = request_id or str(uuid.uuid4())
    impressions_log(request_id=request_id, actor=actor, rows=rows_for(items), surface="feed", model_version_id=None,
                    settings_version=1)
    return request_id


@pytest.mark.django_db
def test_a_served_page_is_buffered_and_written_by_the_next_flush(world, buffered):
    client = APIClient()
    client.force_authenticate(world.user_of_group(0))
    response = client.get("/api/v1/recommendations/", {"n": 8})
    assert response.status_code == 200
    request_id = response.json()["request_id"]
    assert not Impression.objects.filter(request_id=request_id).exists()
    assert impression_buffer().pending_rows == 8

    assert impressions_flush() == 8
    stored = list(Impression.objects.filter(request_id=request_id).order_by("position"))
    assert [i.item_id for i in stored] == [item["id"] for item in response.json()["items"]]
    assert stored[0].user_id == world.user_of_group(0).pk and stored[0].surface == "feed"
    assert impression_buffer().pending_rows == 0


@pytest.mark.django_db
def test_many_pages_go_out_in_one_statement(buffered, django_assert_max_num_queries):
    items = ItemFactory.create_batch(5)
    users = UserFactory.create_batch(30)
    for user in users:
        log_page(actor=Actor(user_id=user.pk), items=items)
    with django_assert_max_num_queries(4):  # savepoint, (SET LOCAL on PostgreSQL,) one INSERT for 150 rows, release
        assert impressions_flush() == 150
    assert Impression.objects.count() == 150


@pytest.mark.parametrize(
    "transactional",
    # In the flusher's own transaction (COPY on PostgreSQL, then the filtering INSERT when a foreign key fails),
    # and inside a caller's transaction (the filtering INSERT straight away).
    [pytest.param(True, marks=pytest.mark.django_db(transaction=True)), pytest.param(False, marks=pytest.mark.django_db)],
)
def test_rows_of_a_deleted_user_or_item_are_skipped_without_failing_the_batch(buffered, transactional):
    items = ItemFactory.create_batch(3)
    kept_user, gone_user = UserFactory(), UserFactory()
    log_page(actor=Actor(user_id=kept_user.pk), items=items, request_id="kept")
    log_page(actor=Actor(user_id=gone_user.pk), items=items, request_id="gone")
    gone_user.delete()
    items[2].delete()
    assert impressions_flush() == 2
    assert sorted(Impression.objects.values_list("request_id", "item_id")) == [("kept", items[0].pk), ("kept", items[1].pk)]


@pytest.mark.django_db
def test_a_database_error_keeps_the_rows_for_the_next_flush(buffered, monkeypatch, caplog):
    items = ItemFactory.create_batch(2)
    log_page(actor=Actor(session_key="s-1"), items=items)
    real_write = impressions_module.impression_pages_write

    def failing(**kwargs):
        raise DatabaseError("database is down")

    monkeypatch.setattr(impressions_module, "impression_pages_write", failing)
    with caplog.at_level(logging.ERROR):
        assert impressions_flush() == 0
    assert "retrying" in caplog.text and impression_buffer().pending_rows == 2
    monkeypatch.setattr(impressions_module, "impression_pages_write", real_write)
    assert impressions_flush() == 2 and Impression.objects.count() == 2


@pytest.mark.django_db
def test_the_buffer_is_bounded_by_dropping_the_oldest_pages(caplog):
    items = ItemFactory.create_batch(10)
    buffer = ImpressionBuffer(interval=3600, max_rows=25)
    buffer._stopped = True  # no thread: the test flushes
    actor_pages = []
    for k in range(4):
        page = impressions_module.ImpressionPage(
            request_id=f"r{k}", user_id=None, session_key="s", surface="feed", model_version_id=None, settings_version=1,
            created_at=impressions_module.timezone.now(), rows=tuple(rows_for(items)),
        )
        actor_pages.append(page)
        buffer.add(page)
    assert buffer.pending_rows == 20  # two pages of ten; the two oldest were dropped
    with caplog.at_level(logging.ERROR):
        assert buffer.flush() == 20
    assert "dropped the 20 oldest" in caplog.text
    assert set(Impression.objects.values_list("request_id", flat=True)) == {"r2", "r3"}


def _other_process_buffer() -> ImpressionBuffer:
    """A second buffer standing for another web process (no thread: flushed by hand)."""
    buffer = ImpressionBuffer(interval=3600, max_rows=10_000)
    buffer._stopped = True
    return buffer


def _page(*, user_id=None, session_key="", items, request_id="other") -> impressions_module.ImpressionPage:
    return impressions_module.ImpressionPage(
        request_id=request_id, user_id=user_id, session_key=session_key, surface="feed", model_version_id=None,
        settings_version=1, created_at=impressions_module.timezone.now(), rows=tuple(rows_for(items)),
    )


@pytest.mark.django_db
def test_history_reset_also_drops_rows_still_buffered_in_other_processes(buffered):
    items = ItemFactory.create_batch(3)
    user, other_user = UserFactory(), UserFactory()
    log_page(actor=Actor(user_id=user.pk), items=items, request_id="here")
    elsewhere = _other_process_buffer()
    elsewhere.add(_page(user_id=user.pk, items=items, request_id="elsewhere"))
    elsewhere.add(_page(user_id=other_user.pk, items=items, request_id="someone-else"))

    user_history_reset(user=user)
    assert not Impression.objects.filter(user=user).exists()  # this process's rows: flushed, then deleted
    time.sleep(0.01)
    elsewhere.add(_page(user_id=user.pk, items=items[:1], request_id="after-reset"))
    elsewhere.flush()
    assert set(Impression.objects.values_list("request_id", flat=True)) == {"after-reset", "someone-else"}


@pytest.mark.django_db
def test_account_deletion_leaves_no_impression_behind(buffered):
    items = ItemFactory.create_batch(2)
    user = UserFactory()
    user_id = user.pk
    log_page(actor=Actor(user_id=user_id), items=items)
    elsewhere = _other_process_buffer()
    elsewhere.add(_page(user_id=user_id, items=items))
    user_delete(user=user)
    elsewhere.flush()
    assert impressions_flush() == 0
    assert not Impression.objects.filter(user_id=user_id).exists() and Impression.objects.count() == 0


@pytest.mark.django_db
def test_a_claimed_sessions_buffered_rows_are_written_as_the_users(buffered):
    items = ItemFactory.create_batch(2)
    user = UserFactory()
    log_page(actor=Actor(session_key="anon-1"), items=items, request_id="here")
    elsewhere = _other_process_buffer()
    elsewhere.add(_page(session_key="anon-1", items=items, request_id="elsewhere"))
    user_session_history_claim(user=user, session_key="anon-1")
    elsewhere.flush()
    stored = set(Impression.objects.values_list("request_id", "user_id", "session_key"))
    assert stored == {("here", user.pk, ""), ("elsewhere", user.pk, "")}


@pytest.mark.django_db(transaction=True)
def test_the_background_thread_writes_within_the_interval(settings):
    settings.VITRINE_IMPRESSIONS_FLUSH_SECONDS = 0.1
    impressions_module._buffer = None
    try:
        items = ItemFactory.create_batch(3)
        request_id = log_page(actor=Actor(session_key="thread-test"), items=items)
        deadline = time.monotonic() + 10
        # Poll the counter, not the table: in-memory SQLite (shared cache) fails a read racing the thread's write.
        while time.monotonic() < deadline and impression_buffer().written < 3:
            time.sleep(0.05)
        assert Impression.objects.filter(request_id=request_id).count() == 3
    finally:
        impressions_module._buffer.close()
        impressions_module._buffer = None
