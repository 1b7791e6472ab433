"""``recommendations.events.actors``: the actor of a request and the one key that names it in caches."""
import numpy as np
import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import override_settings

from recommendations.events import Actor, actor_from_request
from recommendations.events.actors import SESSION_TAG_LENGTH, session_tag
from tests.factories import UserFactory


def test_the_key_names_a_user_or_a_session():
    assert Actor(user_id=7).key == "u7"
    assert Actor(user_id=7, session_key="abc").key == "u7"  # a signed-in user's events are not the session's
    assert Actor(session_key="abc").key == "s" + session_tag("abc")
    with pytest.raises(ValueError, match="user id or a session key"):
        Actor().key  # noqa: B018 - the property raises; nothing to keep


@pytest.mark.parametrize("actor, key", [(Actor(user_id=0), "u0"), (Actor(user_id=12), "u12")])
def test_user_keys_stay_readable(actor, key):
    """Users' keys already in the cache (state tokens, candidates, impression markers) keep their names."""
    assert actor.key == key


def test_a_session_key_never_appears_in_its_key():
    """Fault 8: a cache key names a session by a keyed hash of its key (SECRET_KEY), never the key itself."""
    session_key = "q1w2e3r4t5y6u7i8o9p0asdfghjklzxc"
    key = Actor(session_key=session_key).key
    assert session_key not in key and len(key) == 1 + SESSION_TAG_LENGTH and key.startswith("s")
    assert Actor(session_key=session_key).key == key != Actor(session_key=session_key[:-1] + "v").key
    with override_settings(SECRET_KEY="another-secret-" + "x" * 40):  # keyed: not guessable without the secret
        assert Actor(session_key=session_key).key != key


@pytest.mark.django_db
def test_the_actor_of_a_request(rf):
    request = rf.get("/")
    request.user, request.session = AnonymousUser(), SessionStore()
    assert actor_from_request(request, create=False) is None
    actor = actor_from_request(request)
    assert actor.user_id is None and actor.session_key == request.session.session_key != ""
    request.user = UserFactory()
    assert actor_from_request(request, create=False) == Actor(user_id=request.user.pk)


def test_many_keys_at_once_match_one_at_a_time():
    actors = [Actor(user_id=3), Actor(session_key="abc"), Actor(user_id=0), Actor(session_key="z9")]
    user_ids = np.array([-1 if a.user_id is None else a.user_id for a in actors])
    session_keys = np.array([a.session_key for a in actors])
    assert Actor.keys(user_ids=user_ids, session_keys=session_keys).tolist() == [a.key for a in actors]
