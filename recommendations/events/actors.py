"""Who did something: a signed-in user or an anonymous browser session, and the one key that names them."""
import hashlib
import hmac
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.http import HttpRequest
from django.middleware.csrf import get_token

# 20 hex digits (80 bits) of HMAC-SHA256: collisions among even a billion sessions stay below one in a million.
SESSION_TAG_LENGTH = 20


def session_tag(session_key: str) -> str:
    """A keyed hash of a session key (HMAC-SHA256 with ``SECRET_KEY``, 20 hex digits): the session's name in
    cache keys, markers and cursors, so no key store ever shows a usable session key."""
    digest = hmac.new(settings.SECRET_KEY.encode(), b"vitrine.session:" + session_key.encode(), hashlib.sha256)
    return digest.hexdigest()[:SESSION_TAG_LENGTH]


@dataclass(frozen=True)
class Actor:
    """Who did it: a user id, or an anonymous session key."""

    user_id: int | None = None
    session_key: str = ""

    @property
    def key(self) -> str:
        """The actor's name in cache keys and impression markers: ``u<user id>``, or ``s<session tag>`` with
        the session key's keyed hash (:func:`session_tag`), never the session key itself.

        Raises
        ------
        ValueError
            The actor has neither a user id nor a session key.
        """
        if self.user_id is not None:
            return f"u{int(self.user_id)}"
        if self.session_key:
            return f"s{session_tag(self.session_key)}"
        raise ValueError("An actor needs a user id or a session key.")

    @staticmethod
    def keys(*, user_ids: np.ndarray, session_keys: np.ndarray) -> np.ndarray:
        """:attr:`key` of many actors at once (one hash per distinct session, no per-row Python).

        Parameters
        ----------
        user_ids : ndarray of int, shape (n,)
            User ids; a negative id means "no user" (the row's session key names the actor).
        session_keys : ndarray of str, shape (n,)

        Returns
        -------
        ndarray of str, shape (n,)
            ``u<user id>`` where there is a user, else ``s<session tag>``.
        """
        user_ids = np.asarray(user_ids)
        distinct, inverse = np.unique(np.asarray(session_keys, dtype=str), return_inverse=True)
        tags = np.array([f"s{session_tag(key)}" for key in distinct.tolist()], dtype=str)
        session_names = tags[inverse.reshape(-1)] if len(distinct) else np.asarray(session_keys, dtype=str)
        return np.where(user_ids >= 0, np.char.add("u", user_ids.astype(str)), session_names)


def actor_from_request(request: HttpRequest, *, create: bool = True) -> Actor | None:
    """The signed-in user, or the browser session (created when ``create``; else None without one).

    Only a request that writes something for an anonymous visitor (events, feedback, a cart) should pass
    ``create=True``: a session row is made for it and its cookie is set. Reads pass ``create=False`` so a
    client without a session cookie creates no row. Works for Django and DRF requests alike.
    """
    if request.user.is_authenticated:
        return Actor(user_id=request.user.pk)
    if not request.session.session_key:
        if not create:
            return None
        request.session.save()
        get_token(request)  # the response sets the CSRF cookie: the session's next writes must pass the check
    return Actor(session_key=request.session.session_key)


#: The permission a staff client needs to send events naming a ``user`` (the event admin's "add" right).
RECORD_FOR_OTHERS_PERMISSION = "recommendations.add_event"


def events_on_behalf_allowed(*, user) -> bool:
    """Whether ``user`` may send events naming another user: active staff holding ``recommendations.add_event``
    (superusers hold every permission). Writing a superuser's events takes a superuser as well (see
    ``event_ingest(allow_superuser_field=...)``)."""
    return bool(user.is_authenticated and user.is_active and user.is_staff and user.has_perm(RECORD_FOR_OTHERS_PERMISSION))
