"""The login lockout's two hooks into django-axes (``AXES_USERNAME_CALLABLE``, ``AXES_LOCKOUT_CALLABLE``).

Axes counts failed logins per account and per client address (``common.throttling.client_ip``) and refuses
any login, right password or not, from a locked account or address until the cool-off ends. Its middleware
answers a refused login with ``lockout_response``: the one JSON error shape (429, ``Retry-After``) to API and
JSON clients, a page saying when to try again to people.
"""
from __future__ import annotations

import unicodedata
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from common.exceptions import ApplicationError, json_response_from_error
from common.views import answers_json
from users.models import User

LOCKED_OUT_CODE = "locked_out"
USERNAME_MAX_LENGTH = User._meta.get_field("username").max_length  # longer names match no account


def lockout_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The name a failed login counts against: the submitted username, case-folded (``Ada`` and ``ada`` share
    one count), without NUL characters (PostgreSQL refuses them) and at most the longest possible username.

    Parameters
    ----------
    request : HttpRequest
        The login request (its POST data when ``credentials`` has no username).
    credentials : dict or None
        What was passed to ``authenticate``.

    Returns
    -------
    str or None
        ``None`` when no username was submitted (the attempt then counts against the client address only).
    """
    username = (credentials or {}).get("username")
    if username is None:
        username = request.POST.get("username")
    if not isinstance(username, str):
        return None
    return unicodedata.normalize("NFKC", username.replace("\x00", "")).casefold()[:USERNAME_MAX_LENGTH]


def lockout_seconds() -> int:
    """The cool-off in whole seconds: how long a lockout lasts after the failure that caused it."""
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """The answer to a login refused by the lockout: 429 with ``Retry-After`` (the whole cool-off, an upper bound).

    Parameters
    ----------
    request : HttpRequest
        The refused login (the token API or the site's login page).
    original_response : HttpResponse, optional
        What the view answered (a 400 or the login form again); replaced.
    credentials : dict, optional
        What was passed to ``authenticate``; unused.

    Returns
    -------
    HttpResponse
        ``{"detail", "code": "locked_out", "errors": {}}`` for API and JSON clients, else the site's page
        (``too_many_attempts_page``).
    """
    seconds = lockout_seconds()
    if answers_json(request):
        message = f"Too many failed sign-in attempts. Please try again in {wait_phrase(seconds)}."
        error = ApplicationError(
            message, code=LOCKED_OUT_CODE, status=settings.AXES_HTTP_RESPONSE_CODE, headers={"Retry-After": str(seconds)}
        )
        return json_response_from_error(error)
    return too_many_attempts_page(request, seconds=seconds, what="failed sign-in attempts")


def wait_phrase(seconds: int) -> str:
    """``"40 seconds"``, ``"1 minute"``, ``"15 minutes"``: a wait for people, rounded up to whole minutes past 90 s."""
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minutes"


def too_many_attempts_page(request: HttpRequest, *, seconds: int, what: str) -> HttpResponse:
    """The site's 429 page (``users/too_many_attempts.html``) with ``Retry-After``.

    Parameters
    ----------
    request : HttpRequest
        The refused request.
    seconds : int
        How long to wait (``Retry-After``), in seconds.
    what : str
        What there were too many of, e.g. ``"sign-up attempts"``.
    """
    message = f"Too many {what}. Please try again in {wait_phrase(seconds)}."
    response = render(request, "users/too_many_attempts.html", {"message": message}, status=429)
    response["Retry-After"] = str(seconds)
    return response
