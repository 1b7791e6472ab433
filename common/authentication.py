"""The CSRF check for anonymous browser sessions on the API.

DRF's ``SessionAuthentication`` checks CSRF only when the session belongs to a signed-in user. An anonymous
visitor's session cookie also names someone (their events, feed and hidden items), so a page on another site
must not be able to write with it. Clients that send no session cookie (scripts, token clients) are unaffected.
"""
from django.conf import settings
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request


class AnonymousSessionCsrfAuthentication(SessionAuthentication):
    """Authenticates nobody; listed after the real authenticators, it runs only when none of them recognised
    the client. A request carrying a session cookie then passes Django's CSRF check (safe methods always do);
    a failure is a 403 in the one error shape."""

    def authenticate(self, request: Request) -> None:
        if settings.SESSION_COOKIE_NAME in request._request.COOKIES:
            self.enforce_csrf(request)
        return None
