"""The ``next`` target of a form or link, one rule for every site page."""
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def next_url_get(request: HttpRequest, *, name: str = "next") -> str:
    """The ``next`` parameter (POST, then GET) when it is a path on this site, else ``""``.

    Only an absolute path ("/cart/") or a URL on this host: ``redirect("²")`` would read any other text as a
    view name and fail with ``NoReverseMatch`` (a 500), and an external URL would make the site an open redirect.
    """
    target = request.POST.get(name) or request.GET.get(name) or ""
    if not target:
        return ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return ""
    return target if target.startswith("/") or "://" in target else ""
