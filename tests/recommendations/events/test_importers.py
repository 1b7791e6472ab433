"""``import_events`` / ``recommendations.events.importers``: CSV and MovieLens u.data, streamed in chunks."""
import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from common.importing import ImportSummary
from recommendations.events.importers import event_import_file, event_import_rows
from recommendations.models import Event
from tests.common.importing_support import import_command_refusal, import_command_run
from tests.factories import CategoryFactory, ItemFactory, UserFactory
from users.models import Preferences

pytestmark = pytest.mark.django_db

EVENTS_CSV = (
    "user,item_sku,event_type,timestamp,value,client_event_id,session_key,device\n"
    "alice,SKU-A,view,2026-01-01T10:00:00Z,,,,mobile\n"  # 2
    "bob,SKU-B,rating,1767225600,4,,,desktop\n"  # 3
    "alice,NOPE,view,2026-01-01T10:00:00Z,,,,\n"  # 4: unknown SKU
    "alice,SKU-A,dance,2026-01-01T10:00:00Z,,,,\n"  # 5: unknown event type
    ",SKU-A,click,2026-01-01T10:05:00Z,,,anon-session-1,tablet\n"  # 6: anonymous session
    ",SKU-A,view,2026-01-01T10:00:00Z,,,,\n"  # 7: no user, no session
    "bob,SKU-A,rating,2026-01-01T10:00:00Z,,,,\n"  # 8: rating without value
    "bob,SKU-A,view,not-a-time,,,,\n"  # 9: bad timestamp
    "bob,SKU-A,view,2026-01-01T11:00:00Z,,fixed-id-1,,phone\n"  # 10: unknown device
    "bob,SKU-A,purchase,2026-01-01T11:00:00Z,,fixed-id-2,,\n"  # 11
    "bad name!,SKU-A,view,2026-01-01T11:00:00Z,,,,\n"  # 12: not a valid username
)

U_DATA = "196\t101\t3\t881250949\n186\t102\t5\t891717742\n22\t999\t1\t878887116\n196\t102\t4.5\t881250950\n1\t101\tx\t881250951\n"


@pytest.fixture
def catalog(db):
    category = CategoryFactory(name="Things", slug="things")
    return {sku: ItemFactory(sku=sku, category=category) for sku in ("SKU-A", "SKU-B", "ml-101", "ml-102")}


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def _final(progress) -> ImportSummary:
    *_, summary = progress
    return summary


def _run(*args, expect: int = 0) -> str:
    return import_command_run("import_events", *args, expect=expect)


def test_csv_good_rows_kept_bad_rows_reported_by_line(tmp_path, catalog):
    path = _write(tmp_path, "events.csv", EVENTS_CSV)
    summary = _final(event_import_file(path=path, file_format="csv", create_users=True))
    assert summary.rows == 11
    assert summary.created == 4 and summary.duplicates == 0
    assert [line for line, _ in summary.errors] == [4, 5, 7, 8, 9, 10, 12]
    messages = dict(summary.errors)
    assert "sku" in messages[4] and "event_type" in messages[5] and "user" in messages[7]
    assert "value" in messages[8] and "timestamp" in messages[9] and "device" in messages[10] and "user" in messages[12]
    alice = get_user_model().objects.get(username="alice")
    assert not alice.has_usable_password() and Preferences.objects.filter(user=alice).exists()
    view = Event.objects.get(user=alice)
    assert view.item == catalog["SKU-A"] and view.context == {"device": "mobile"}
    assert view.timestamp == dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)
    rating = Event.objects.get(event_type="rating")
    assert rating.value == 4.0 and rating.user.username == "bob"
    assert rating.timestamp == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # Unix seconds
    anonymous = Event.objects.get(event_type="click")
    assert anonymous.user is None and anonymous.session_key == "anon-session-1"
    assert Event.objects.filter(client_event_id="fixed-id-2").exists()


def test_unknown_users_are_rejected_without_create_users(tmp_path, catalog):
    UserFactory(username="bob")
    out = _run(_write(tmp_path, "events.csv", EVENTS_CSV), expect=1)
    assert "line 2: user: Unknown user 'alice' (pass --create-users" in out
    assert not get_user_model().objects.filter(username="alice").exists()
    assert Event.objects.filter(user__username="bob").count() == 2  # lines 3 and 11
    assert Event.objects.filter(session_key="anon-session-1").count() == 1


def test_reimport_creates_no_duplicates(tmp_path, catalog):
    path = _write(tmp_path, "events.csv", EVENTS_CSV)
    first = _final(event_import_file(path=path, file_format="csv", create_users=True))
    stored = Event.objects.count()
    again = _final(event_import_file(path=path, file_format="csv", create_users=True))
    assert again.created == 0 and again.duplicates == first.created
    assert Event.objects.count() == stored
    assert get_user_model().objects.filter(username="alice").count() == 1


def test_user_prefix_and_item_ids(tmp_path, catalog):
    item = catalog["SKU-B"]
    path = _write(tmp_path, "e.csv", f"user,item,event_type,timestamp\n42,{item.pk},like,2026-02-01T00:00:00\n")
    out = _run(path, "--create-users", "--user-prefix", "shop-")
    assert "Imported: 1" in out
    event = Event.objects.get()
    assert event.user.username == "shop-42" and event.item == item and event.event_type == "like"
    assert event.timestamp == dt.datetime(2026, 2, 1, tzinfo=dt.UTC)  # naive means UTC


def test_movielens_u_data(tmp_path, catalog):
    path = _write(tmp_path, "u.data", U_DATA)
    out = _run(path, "--create-users", expect=1)
    assert "Rows read: 5" in out and "Imported: 3" in out and "Rejected: 2" in out
    assert "line 3: sku: No item has this SKU." in out and "line 5: value:" in out
    rating = Event.objects.get(client_event_id="ml-196-101-881250949")
    assert rating.event_type == "rating" and rating.value == 3.0 and rating.user.username == "ml-196"
    assert rating.item == catalog["ml-101"] and rating.timestamp == dt.datetime.fromtimestamp(881250949, tz=dt.UTC)
    assert Event.objects.get(client_event_id="ml-196-102-881250950").value == 4.5
    again = _run(path, "--create-users", expect=1)
    assert "Imported: 0" in again and "Duplicates (already stored, skipped): 3" in again
    assert Event.objects.count() == 3


def test_movielens_rating_event_and_prefix_options(tmp_path, catalog):
    path = _write(tmp_path, "ratings.data", "7\t101\t5\t881250949\n")
    _run(path, "--create-users", "--rating-event", "like", "--user-prefix", "lens-")
    event = Event.objects.get()
    assert event.event_type == "like" and event.value == 5.0 and event.user.username == "lens-7"


def test_rows_are_consumed_lazily_in_bounded_chunks(catalog):
    """A 10-million-row input is never materialised: rows are pulled one chunk (plus at most one more) ahead."""
    user = UserFactory()
    pulled = 0

    def ten_million_rows():
        nonlocal pulled
        for n in range(10_000_000):
            pulled += 1
            yield n + 2, {
                "external_user": user.username, "session_key": "", "sku": "SKU-A", "event_type": "view",
                "timestamp": 1767225600 + n, "context": {}, "client_event_id": f"lazy-{n}",
            }

    progress = event_import_rows(rows=ten_million_rows(), chunk_size=500)
    first = next(progress)
    assert first.created == 500 and Event.objects.count() == 500
    assert pulled <= 2 * 500
    second = next(progress)
    assert second.created == 1000 and pulled <= 3 * 500
    progress.close()


@pytest.mark.parametrize(
    ("name", "text", "args", "message"),
    [
        ("missing.csv", None, [], "File not found"),
        ("bad.csv", "user,item_sku,timestamp\nalice,A,2026-01-01\n", [], "missing column(s) event_type"),
        ("noitem.csv", "user,event_type,timestamp\n", [], "item_sku or sku or item"),
        ("events.json", "[]", [], "Cannot tell the format"),
        ("events.csv", "user,item_sku,event_type,timestamp\n", ["--format", "parquet"], "Unknown format 'parquet'"),
        ("u.data", "1|Toy Story|01-Jan-1995\n", [], "does not look like a MovieLens u.data"),
    ],
)
def test_file_level_problems_exit_with_code_2(tmp_path, catalog, name, text, args, message):
    error = import_command_refusal(command="import_events", path=tmp_path / name, text=text, args=args)
    assert message in str(error)
    assert not Event.objects.exists()


def test_command_prints_a_summary_with_the_first_errors(tmp_path, catalog):
    lines = ["user,item_sku,event_type,timestamp"] + [f"u{n},NOPE,view,2026-01-01T00:00:00Z" for n in range(30)]
    out = _run(_write(tmp_path, "many.csv", "\n".join(lines) + "\n"), "--create-users", "--max-errors", "5", expect=2)
    assert "Rows read: 30" in out and "Rejected: 30" in out and "Errors (first 5 of 30, by line number):" in out
    assert "line 2:" in out and "line 6:" in out and "line 7:" not in out


def test_item_ids_out_of_database_range_are_rejected_not_crashing(tmp_path, catalog):
    huge = 10**30
    path = _write(tmp_path, "e.csv", f"user,item,event_type,timestamp\nbob,{huge},view,2026-02-01T00:00:00Z\nbob,0,view,2026-02-01T00:00:00Z\n")
    summary = _final(event_import_file(path=path, file_format="csv", create_users=True))
    assert summary.rejected == 2 and [line for line, _ in summary.errors] == [2, 3]
    assert "Unknown item" in summary.errors[0][1]


def test_a_bad_byte_after_10000_rows_is_one_rejected_row_and_exit_code_1(tmp_path, catalog):
    good = "".join(f",SKU-A,view,{1767225600 + n},,,s-{n},\n" for n in range(10_000)).encode()
    path = tmp_path / "events.csv"
    path.write_bytes(
        b"user,item_sku,event_type,timestamp,value,client_event_id,session_key,device\n" + good
        + ",SKU-B,view,1767225600,,,caf\xe9,\n".encode("latin-1") + b",SKU-B,view,1767225601,,,after,\n"
    )
    out = _run(path, expect=1)
    assert "Rows read: 10002" in out and "Imported: 10001 (10001 created, 0 updated)" in out and "Rejected: 1" in out
    assert "line 10002: Not UTF-8: byte 0xe9 after '" in out and ",,,caf'. Save the file as UTF-8" in out
    assert "Result: 1 of 10002 rows rejected; 10001 rows written (exit code 1)." in out
    assert Event.objects.count() == 10_001 and Event.objects.filter(session_key="after").exists()


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_utf8_bom_and_crlf_read_like_plain_utf8_and_ids_stay_as_written(tmp_path, catalog, bom):
    ItemFactory(sku="007", category=catalog["SKU-A"].category)
    path = tmp_path / "events.csv"
    path.write_bytes(bom + b"user,item_sku,event_type,timestamp\r\n007,007,view,1767225600\r\n7,SKU-A,view,1767225600\r\n")
    out = _run(path, "--create-users")
    assert "Imported: 2" in out and "Rejected: 0" in out and "Result: complete" in out
    assert sorted(Event.objects.values_list("user__username", "item__sku")) == [("007", "007"), ("7", "SKU-A")]


def test_movielens_ids_are_opaque_bom_and_crlf_are_fine(tmp_path, catalog):
    ItemFactory(sku="ml-007", category=catalog["SKU-A"].category)
    path = tmp_path / "u.data"
    path.write_bytes(b"\xef\xbb\xbf007\t007\t4\t881250949\r\n7\t101\t5\t881250949\r\n")
    out = _run(path, "--create-users")
    assert "Imported: 2" in out and "Result: complete" in out
    assert sorted(Event.objects.values_list("user__username", "item__sku")) == [("ml-007", "ml-007"), ("ml-7", "ml-101")]


def test_a_session_key_too_long_is_rejected_not_cut(tmp_path, catalog):
    long_key = "s" * 65
    path = _write(tmp_path, "e.csv", f"session_key,item_sku,event_type,timestamp\n{long_key},SKU-A,view,1767225600\n")
    out = _run(path, expect=2)
    assert "line 2: session_key: At most 64 characters, got 65." in out and not Event.objects.exists()
