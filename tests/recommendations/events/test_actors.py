"""``recommendations.events.actors``: the actor of a request and the one key that names it in caches."""
import numpy as np
import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore

from recommendations.events import Actor, actor_from_request
from tests.factories import UserFactory


def test_the_key_names_a_user_or_a_session():
    assert Actor(user_id=7).key == "u7"
    assert Actor(user_id=7, session_key="abc").key == "u7"  # a signed-in user's events are not the session's
    assert Actor(session_key="abc").key == "sabc"
    with pytest.raises(ValueError, match="user id or a session key"):
        Actor().key  # noqa: B018 - the property raises; nothing to keep


@pytest.mark.parametrize("actor, key", [(Actor(user_id=0), "u0"), (Actor(user_id=12), "u12"), (Actor(session_key="k3y"), "sk3y")])
def test_the_key_is_the_format_serving_caches_under(actor, key):
    """Keys already in the cache (state tokens, candidates, impression markers) keep their names."""
    assert actor.key == key


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
