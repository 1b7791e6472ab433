"""Token authentication that remembers token -> user in the cache, so a warm API request costs no query for auth.

DRF's ``TokenAuthentication`` reads ``Token`` joined to ``User`` on every request. Here the user's concrete
fields, except the password, are cached for ``VITRINE_AUTH_CACHE_SECONDS`` (0: no cache, DRF's behaviour) under
a hash of the token, and rebuilt into a real ``User`` whose password is a deferred field (loaded only if read).

Only successes are cached: an unknown token or an inactive user always goes to the database and fails there.
Saving or deleting a user or a token drops its entries (``users.receivers``), so a password change, a
deactivation, a new token or a deleted account counts from the next request. Writes that send no signals
(``QuerySet.update``, raw SQL), and the rare request that reads the old row just before a write commits and
caches it just after, are bounded by the TTL.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import models, router
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from common.services import cache_invalidate_around_commit

# Bump when the cached entry changes shape.
KEY_PREFIX = "auth:token:v1"


def auth_cache_key(token_key: str) -> str:
    # A hash, never the token itself: cache keys show up in monitoring and ``KEYS`` listings.
    return f"{KEY_PREFIX}:{hashlib.sha256(token_key.encode()).hexdigest()}"


def auth_cache_forget(*, user_id: int | None = None, token_keys: Iterable[str] = ()) -> None:
    """Drop the cached entries of these tokens and of every token of ``user_id``."""
    keys = [auth_cache_key(key) for key in token_keys]
    if user_id is not None:
        keys += [auth_cache_key(key) for key in Token.objects.filter(user_id=user_id).values_list("key", flat=True)]

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
    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        ttl = settings.VITRINE_AUTH_CACHE_SECONDS
        if ttl <= 0:
            return super().authenticate_credentials(key)
        cache_key = auth_cache_key(key)
        entry = cache.get(cache_key)
        if entry is not None:
            user = _instance(get_user_model(), entry["user"])
            token = _instance(Token, {"key": key, "user_id": user.pk, "created": entry["created"]})
            token.user = user
            return user, token
        # Raises AuthenticationFailed for an unknown token or an inactive user: neither is ever cached.
        user, token = super().authenticate_credentials(key)
        fields = {f.attname: getattr(user, f.attname) for f in user._meta.concrete_fields if f.name != "password"}
        cache.set(cache_key, {"user": fields, "created": token.created}, ttl)
        return user, token
