"""API token authentication (django-rest-knox tokens) that remembers digest -> user in the cache, so a warm API
request costs one cache round trip and no query.

A token is looked up by its SHA-512 digest (``users.models.AuthToken.digest``, unique): one query joined to the
user. On success the user's concrete fields, except the password, and the token's fields are cached for
``VITRINE_AUTH_CACHE_SECONDS`` (0: no cache) under the digest, never the token itself, and never past the token's
expiry; a hit is rebuilt into a real ``User`` whose password is a deferred field (loaded only if read).

Only successes are cached: an unknown or expired token or an inactive user always goes to the database and fails
there. Saving or deleting a user or a token drops its entries (``users.receivers``), so a revocation, a password
change (which revokes every token of the user), a deactivation or a deleted account counts from the next request.
Writes that send no signals (``QuerySet.update``, raw SQL), and the rare request that reads the old row just before
a write commits and caches it just after, are bounded by the TTL.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import models, router
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.settings import knox_settings
from rest_framework.exceptions import AuthenticationFailed

from common.services import cache_invalidate_around_commit
from users.models import AuthToken

# Bump when the cached entry changes shape (v1 was keyed by DRF authtoken keys).
KEY_PREFIX = "auth:token:v2"
HEX_DIGITS = frozenset("0123456789abcdef")
# The token fields kept in the cache; ``token_key`` (the first characters of the token itself) never is.
TOKEN_FIELDS = ("id", "digest", "user_id", "name", "created", "expiry")


def auth_cache_key(digest: str) -> str:
    # The digest, never the token: cache keys show up in monitoring and ``KEYS`` listings.
    return f"{KEY_PREFIX}:{digest}"


def token_digest(token: str) -> str | None:
    """The stored digest of a client's ``token`` (as ``AuthToken.digest``), or ``None`` when it cannot be one of
    ours (wrong length, not lowercase hex after the prefix): such a token is refused without a query."""
    prefix = knox_settings.TOKEN_PREFIX
    body = token[len(prefix):] if token.startswith(prefix) else ""
    if len(body) != knox_settings.AUTH_TOKEN_CHARACTER_LENGTH or not HEX_DIGITS.issuperset(body):
        return None
    return hash_token(token)


def auth_cache_forget(*, user_id: int | None = None, digests: Iterable[str] = ()) -> None:
    """Drop the cached entries of these token digests and of every token of ``user_id``."""
    keys = [auth_cache_key(digest) for digest in digests]
    if user_id is not None:
        keys += [auth_cache_key(digest) for digest in AuthToken.objects.filter(user_id=user_id).values_list("digest", flat=True)]

    def forget() -> None:
        if keys:
            cache.delete_many(keys)

    cache_invalidate_around_commit(forget)


def _instance(model: type[models.Model], values: dict[str, Any]) -> models.Model:
    """A model instance as if loaded from the database; fields missing from ``values`` are deferred."""
    names = [field.attname for field in model._meta.concrete_fields if field.attname in values]
    # The alias a query would have set, so that ``save()`` writes only the loaded fields, as on a DB load.
    return model.from_db(router.db_for_read(model), names, [values[name] for name in names])


class CachedTokenAuthentication(TokenAuthentication):
    """knox's ``Authorization: Token <token>`` scheme with one lookup by digest and the cache described above."""

    def authenticate_credentials(self, token: bytes) -> tuple[Any, AuthToken]:
        try:
            digest = token_digest(token.decode("ascii"))
        except UnicodeError:
            digest = None
        if digest is None:
            raise AuthenticationFailed("Invalid token.")
        ttl = settings.VITRINE_AUTH_CACHE_SECONDS
        cache_key = auth_cache_key(digest)
        now = timezone.now()
        entry = cache.get(cache_key) if ttl > 0 else None
        if entry is not None and entry["token"]["expiry"] > now:
            user = _instance(get_user_model(), entry["user"])
            auth_token = _instance(AuthToken, entry["token"])
            auth_token.user = user
            return user, auth_token
        auth_token = AuthToken.objects.select_related("user").filter(digest=digest).first()
        if auth_token is None:
            raise AuthenticationFailed("Invalid token.")
        if auth_token.expiry is None or auth_token.expiry <= now:
            # Deleted when its owner next gets a token: a use of a dead token costs a query, never a write.
            raise AuthenticationFailed("Token expired.")
        user, auth_token = self.validate_user(auth_token)  # AuthenticationFailed for an inactive user
        remaining = int((auth_token.expiry - now).total_seconds())
        if ttl > 0 and remaining > 0:
            fields = {f.attname: getattr(user, f.attname) for f in user._meta.concrete_fields if f.name != "password"}
            token_fields = {name: getattr(auth_token, name) for name in TOKEN_FIELDS}
            cache.set(cache_key, {"user": fields, "token": token_fields}, min(ttl, remaining))
        return user, auth_token

    def authenticate_header(self, request) -> str:
        return knox_settings.AUTH_HEADER_PREFIX


class CachedTokenScheme(OpenApiAuthenticationExtension):
    """The scheme in the OpenAPI schema (``tokenAuth``: ``Authorization: Token <token>``), as before knox."""

    target_class = CachedTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix=knox_settings.AUTH_HEADER_PREFIX)
