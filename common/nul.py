"""NUL characters (``\\x00``) refused in every piece of client text, at the door.

PostgreSQL's ``text``, ``varchar`` and ``jsonb`` cannot hold ``\\x00``: a NUL that reaches a query is a
``DataError`` (a 500) on PostgreSQL while SQLite stores it. The API's JSON parser refuses it in JSON bodies
(``common.parsers``); this middleware refuses it in the URL path, the query string, form bodies (site forms and
form-encoded API requests), cookies and the ``Authorization`` header, for every view at once: a 400 in the one
JSON error shape for the API and the site's scripts, Django's 400 page for people.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse, QueryDict, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.views import defaults

from common.exceptions import ValidationFailed, json_response_from_error
from common.views import answers_json

NUL = "\x00"
NUL_MESSAGE = "Null characters (\\x00) are not allowed."


def _nul_key(data: QueryDict) -> str | None:
    """The first key of ``data`` whose name or any value holds a NUL, else ``None``."""
    for key, values in data.lists():
        if NUL in key or any(NUL in value for value in values if isinstance(value, str)):
            return key.replace(NUL, "\\x00")
    return None


def _nul_fields(request: HttpRequest) -> Iterable[str]:
    """Where ``request`` carries a NUL, lazily (the form body is parsed only when the rest is clean)."""
    if NUL in request.path_info:
        yield "path"
    if NUL in request.headers.get("Authorization", ""):
        yield "Authorization"
    if any(NUL in key or NUL in value for key, value in request.COOKIES.items()):
        yield "cookies"
    if (key := _nul_key(request.GET)) is not None:
        yield key
    # Only form bodies: request.POST is empty for JSON (parsed by common.parsers), and reading it here is what
    # CsrfViewMiddleware does for every site form anyway (DRF reuses the parsed form for API requests).
    form = request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
    if not form:
        return
    try:
        fields = request.POST
    except (MultiPartParserError, UnreadablePostError):
        return  # a malformed body: the view's own parser answers it in the one error shape
    if (key := _nul_key(fields)) is not None:
        yield key


class NulRefusalMiddleware:
    """Answers 400 to a request with a NUL anywhere in its text, before any view (or database) sees it.

    Placed after ``CsrfViewMiddleware``: its ``process_view`` runs after the CSRF check, so a forged form still
    gets its 403 first.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        field = next(iter(_nul_fields(request)), None)
        if field is None:
            return None
        if answers_json(request):
            return json_response_from_error(ValidationFailed(NUL_MESSAGE, errors={field: [NUL_MESSAGE]}))
        return defaults.bad_request(request, SuspiciousOperation(NUL_MESSAGE))
