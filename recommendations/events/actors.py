"""Who did something: a signed-in user or an anonymous browser session, and the one key that names them."""
from dataclasses import dataclass

import numpy as np
from django.http import HttpRequest


@dataclass(frozen=True)
class Actor:
    """Who did it: a user id, or an anonymous session key."""

    user_id: int | None = None
    session_key: str = ""

    @property
    def key(self) -> str:
        """The actor's name in cache keys and impression markers: ``u<user id>`` or ``s<session key>``.

        Raises
        ------
        ValueError
            The actor has neither a user id nor a session key.
        """
        if self.user_id is not None:
            return f"u{int(self.user_id)}"
        if self.session_key:
            return f"s{self.session_key}"
        raise ValueError("An actor needs a user id or a session key.")

    @staticmethod
    def keys(*, user_ids: np.ndarray, session_keys: np.ndarray) -> np.ndarray:
        """:attr:`key` of many actors at once (no per-row Python).

        Parameters
        ----------
        user_ids : ndarray of int, shape (n,)
            User ids; a negative id means "no user" (the row's session key names the actor).
        session_keys : ndarray of str, shape (n,)

        Returns
        -------
        ndarray of str, shape (n,)
            ``u<user id>`` where there is a user, else ``s<session key>``.
        """
        user_ids = np.asarray(user_ids)
        return np.where(
            user_ids >= 0, np.char.add("u", user_ids.astype(str)), np.char.add("s", np.asarray(session_keys, dtype=str))
        )


def actor_from_request(request: HttpRequest, *, create: bool = True) -> Actor | None:
    """The signed-in user, or the browser session (created when ``create``; else None without one).

    Works for Django and DRF requests alike (both carry ``user`` and ``session``).
    """
    if request.user.is_authenticated:
        return Actor(user_id=request.user.pk)
    if not request.session.session_key:
        if not create:
            return None
        request.session.save()
    return Actor(session_key=request.session.session_key)
