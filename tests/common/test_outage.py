"""A database (or cache) outage answers 503 + Retry-After in the one error shape, a 503 page for people, and one
log line per outage; nothing is lost (a retried batch is stored once).

On PostgreSQL the outage is real: the connection is pointed at a closed port, so psycopg's own "connection
refused" is what the request meets. The embedded SQLite test database lives in memory and cannot be cut off, so
there every cursor fails with the error SQLite gives when another process holds the write lock past the busy
timeout (``database is locked``).
"""
import logging
import socket
import sys

import pytest
from django.db import OperationalError, connection
from django.test import Client
from redis.exceptions import ConnectionError as RedisConnectionError

from common.exceptions import ServiceUnavailable, error_from_exception
from common.outage import OUTAGE_QUIET_SECONDS, outage_log
from common.views import server_error
from recommendations.models import Event

pytestmark = pytest.mark.django_db(transaction=True)

N_FAILING = 12


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # free once the socket is closed: nothing listens there


@pytest.fixture(autouse=True)
def _fresh_outage_log():
    outage_log.reset()
    yield
    outage_log.reset()


@pytest.fixture
def database_down(monkeypatch):
    """The database is unreachable until the test ends (or calls the fixture's value to bring it back)."""
    saved = dict(connection.settings_dict)

    def restore() -> None:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
        monkeypatch.undo()

    if connection.vendor == "postgresql":
        connection.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(_closed_port()))
    else:

        def locked(*args, **kwargs):
            raise OperationalError("database is locked")

        monkeypatch.setattr(connection, "create_cursor", locked)
    yield restore
    restore()


def _batch(item, n=3):
    return [{"client_event_id": f"outage-{i}", "item": item.pk, "event_type": "view"} for i in range(n)]


def test_api_answers_503_json_with_retry_after_while_the_database_is_down(user_client, items, database_down, settings):
    settings.VITRINE_OUTAGE_RETRY_AFTER = 7
    for response in (
        user_client.get("/api/v1/items/"),
        user_client.post("/api/v1/events/", _batch(items[0]), format="json"),
        Client().get("/api/v1/recommendations/"),  # anonymous: the session and the feed both need the database
    ):
        assert response.status_code == 503, response.content[:300]
        assert response["Content-Type"] == "application/json"
        assert response["Retry-After"] == "7"
        assert response.json() == {
            "detail": "The service is temporarily unavailable. Please try again later.",
            "code": "service_unavailable",
            "errors": {},
        }


def test_site_shows_the_503_page_while_the_database_is_down(items, database_down):
    for path in ("/", f"/items/{items[0].pk}/", "/search/?q=book", "/accounts/login/"):
        response = Client(raise_request_exception=False).get(path)
        assert response.status_code == 503, (path, response.status_code)
        assert response["Content-Type"].startswith("text/html")
        assert response["Retry-After"] == "5"
        assert b"briefly unavailable" in response.content
    # A script asking for JSON gets the one shape from a site URL too.
    response = Client().get("/", HTTP_ACCEPT="application/json")
    assert response.status_code == 503 and response.json()["code"] == "service_unavailable"


def test_one_log_line_for_many_failing_requests_and_no_traceback(user_client, items, database_down, caplog):
    caplog.set_level(logging.INFO)
    anonymous = Client(raise_request_exception=False)
    for n in range(N_FAILING):
        assert user_client.get("/api/v1/items/").status_code == 503
        assert anonymous.get(f"/items/{items[n % len(items)].pk}/").status_code == 503
    records = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(records) == 1, [record.getMessage() for record in records]
    assert records[0].name == "vitrine.outage" and records[0].exc_info is None
    assert records[0].getMessage().startswith("database unavailable (OperationalError: ")
    if connection.vendor == "postgresql":  # psycopg's own words for the closed port
        assert "refused" in records[0].getMessage() or "connect" in records[0].getMessage()
    assert outage_log.failures("database") == 2 * N_FAILING


def test_a_new_outage_after_a_quiet_period_logs_again(caplog):
    caplog.set_level(logging.WARNING, logger="vitrine.outage")
    error = OperationalError("connection refused")
    outage_log.note(dependency="database", exc=error, now=1000.0)
    outage_log.note(dependency="database", exc=error, now=1000.0 + OUTAGE_QUIET_SECONDS - 1)
    outage_log.note(dependency="cache", exc=RedisConnectionError("refused"), now=1001.0)  # another dependency
    outage_log.note(dependency="database", exc=error, now=1000.0 + 3 * OUTAGE_QUIET_SECONDS)
    assert [record.getMessage().split(" ")[0] for record in caplog.records] == ["database", "cache", "database"]


def test_no_data_lost_a_batch_refused_during_the_outage_is_stored_once_when_retried(user_client, items, database_down):
    batch = _batch(items[0], n=5)
    assert user_client.post("/api/v1/events/", batch, format="json").status_code == 503
    database_down()  # the database is back
    first = user_client.post("/api/v1/events/", batch, format="json")
    again = user_client.post("/api/v1/events/", batch, format="json")
    assert first.status_code == 201 and again.status_code in (200, 201)
    assert Event.objects.filter(client_event_id__startswith="outage-").count() == 5
    assert user_client.get("/api/v1/items/").status_code == 200


def test_cache_and_broker_connection_errors_are_outages_too():
    from kombu.exceptions import OperationalError as BrokerError

    for exc in (RedisConnectionError("Connection refused"), BrokerError("Error 111 connecting"), OperationalError("x")):
        error = error_from_exception(exc)
        assert isinstance(error, ServiceUnavailable) and error.headers == {"Retry-After": "5"}
    assert error_from_exception(ValueError("not an outage")) is None


def test_an_outage_outside_any_view_is_a_503_without_djangos_traceback(rf):
    """handler500 path (a middleware saving the session fails): 503 page, marked as logged for Django."""
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        assert sys.exc_info()[1] is not None
        page = server_error(rf.get("/"))
        api = server_error(rf.get("/api/v1/items/"))
    assert page.status_code == 503 and b"briefly unavailable" in page.content and page._has_been_logged is True
    assert api.status_code == 503 and api["Retry-After"] == "5"
    plain = server_error(rf.get("/"))  # no exception in flight: an ordinary 500 page
    assert plain.status_code == 500


def test_redis_down_degrades_the_cache_without_failing_requests(user_client, items, settings, caplog):
    """With Redis as the cache, a Redis outage is ignored by the cache (django-redis IGNORE_EXCEPTIONS): pages and
    the API still answer, from the database."""
    if "redis" not in settings.CACHES["default"]["BACKEND"]:
        pytest.skip("the embedded default has no Redis")
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0"}
    }
    assert user_client.get("/api/v1/items/").status_code == 200
    assert Client().get(f"/items/{items[0].pk}/").status_code == 200
    assert user_client.get("/api/v1/recommendations/").status_code == 200
