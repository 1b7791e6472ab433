"""A cache that is down, as production sees it: django-redis pointed at a closed port with IGNORE_EXCEPTIONS.

Serving and token authentication use Django's cache directly and rely on ``IGNORE_EXCEPTIONS`` (set in
``config/settings/base.py``) to read a Redis outage as a miss; tests of that path run against this backend.
"""
from django.test import override_settings

REDIS_DOWN_CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "IGNORE_EXCEPTIONS": True,
                    "SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}


def redis_down() -> override_settings:
    """``with redis_down():`` every cache call inside fails and reads as a miss."""
    return override_settings(CACHES=REDIS_DOWN_CACHES)
