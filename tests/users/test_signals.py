"""users.signals: the account services send them, so apps above users add their data without users importing them."""
import pytest

from tests.factories import UserFactory
from users.models import User
from users.services import user_data_export, user_delete, user_session_history_claim
from users.signals import session_history_claimed, user_data_requested, user_erasing

pytestmark = pytest.mark.django_db


@pytest.fixture
def connect():
    """Connect receivers for one test only."""
    connected = []

    def _connect(signal, receiver):
        signal.connect(receiver, weak=False)
        connected.append((signal, receiver))

    yield _connect
    for signal, receiver in connected:
        signal.disconnect(receiver)


def test_export_merges_the_sections_receivers_return(connect):
    connect(user_data_requested, lambda sender, user, **kwargs: {"extra": [user.username]})
    data = user_data_export(user=UserFactory(username="ada"))
    assert data["extra"] == ["ada"] and data["user"]["username"] == "ada" and "preferences" in data


def test_erasing_is_sent_before_the_user_row_goes_and_a_failing_receiver_keeps_the_account(connect):
    seen = []
    connect(user_erasing, lambda sender, user, **kwargs: seen.append(User.objects.filter(pk=user.pk).exists()))
    user = UserFactory()
    user_delete(user=user)
    assert seen == [True] and not User.objects.filter(pk=user.pk).exists()

    def refuse(sender, user, **kwargs):
        raise RuntimeError("cannot erase")

    connect(user_erasing, refuse)
    kept = UserFactory()
    with pytest.raises(RuntimeError):
        user_delete(user=kept)
    assert User.objects.filter(pk=kept.pk).exists()


def test_claim_sums_what_receivers_moved_and_needs_a_session_key(connect):
    calls = []
    connect(session_history_claimed, lambda sender, user, session_key, **kwargs: calls.append(session_key) or 2)
    user = UserFactory()
    assert user_session_history_claim(user=user, session_key="") == 0 and calls == []
    assert user_session_history_claim(user=user, session_key="anon-1") == 2 and calls == ["anon-1"]
