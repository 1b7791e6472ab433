"""Real PostgreSQL + Redis + Celery worker."""
import threading

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from recommendations.models import Event
from recommendations.tasks import popularity_refresh_task
from tests.factories import EventFactory, ItemFactory, UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_task_runs_in_the_worker_process_against_committed_data(celery_worker_process):
    items = ItemFactory.create_batch(3)
    for item, n in zip(items, (5, 1, 3), strict=True):
        for _ in range(n):  # n buyers (one buyer's repeats would count once)
            EventFactory(user=UserFactory(), item=item, event_type="purchase")
    result = popularity_refresh_task.delay()
    assert result.get(timeout=60) == 3
    # The worker wrote the ranking into Redis through Django's cache; this process reads it back.
    ranked = cache.get("popular:v1:all")
    assert [item_id for item_id, _ in ranked] == [items[0].pk, items[2].pk, items[1].pk]
    assert "recommendations.popularity_refresh" in celery_worker_process["log_path"].read_text()


def test_concurrent_resends_of_one_batch_store_each_event_once():
    assert connection.vendor == "postgresql"
    user = UserFactory()
    items = ItemFactory.create_batch(4)
    batch = [{"client_event_id": f"race-{i}", "item": items[i % 4].pk, "event_type": "click"} for i in range(200)]
    responses = []

    def send() -> None:
        client = APIClient()
        client.force_authenticate(user)
        responses.append(client.post("/api/v1/events/", batch, format="json"))
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(response.status_code in (200, 201) for response in responses)
    assert Event.objects.count() == 200
    assert sum(response.json()["accepted"] for response in responses) >= 200


def test_concurrent_batches_of_two_actors_with_the_same_ids_store_both_and_each_once():
    """Per-actor idempotency on the ON CONFLICT path: a user and an anonymous session resend the same ids."""
    from django.test import Client

    user = UserFactory()
    items = ItemFactory.create_batch(4)
    batch = [{"client_event_id": f"race-{i}", "item": items[i % 4].pk, "event_type": "click"} for i in range(100)]
    anonymous = Client()
    # One session for this client's requests: reads make none, the first write does (its event is one of the 100).
    first = anonymous.post("/api/v1/events/", batch[:1], content_type="application/json")
    assert first.status_code == 201 and anonymous.cookies.get("sessionid")
    responses = []

    def send(as_user: bool) -> None:
        if as_user:
            client = APIClient()
            client.force_authenticate(user)
            responses.append(client.post("/api/v1/events/", batch, format="json"))
        else:
            responses.append(anonymous.post("/api/v1/events/", batch, content_type="application/json"))
        connection.close()

    threads = [threading.Thread(target=send, args=(n % 2 == 0,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(response.status_code in (200, 201) for response in responses)
    assert Event.objects.filter(user=user).count() == 100
    assert Event.objects.filter(user__isnull=True).values("session_key").distinct().count() == 1
    assert Event.objects.count() == 200
    assert sum(response.json()["accepted"] for response in responses) == 199  # + the session's first event


def test_cache_is_redis():
    from django_redis import get_redis_connection

    cache.set("integration-probe", 42, 30)
    assert get_redis_connection("default").ping()
    assert cache.get("integration-probe") == 42
