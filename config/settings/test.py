"""Settings for pytest. Same services as the environment gives (SQLite by default, PostgreSQL/Redis in CI)."""
from config.settings.base import *  # noqa: F403 - a settings layer starts from every base setting
from config.settings.base import REST_FRAMEWORK, env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON_RATE", default="10000/min"),
        "user": env.str("THROTTLE_USER_RATE", default="10000/min"),
        "events_anon": env.str("THROTTLE_EVENTS_ANON_RATE", default="100000/min"),
        "login": env.str("THROTTLE_LOGIN_RATE", default="10000/min"),
        "signup": env.str("THROTTLE_SIGNUP_RATE", default="10000/min"),
    },
}

# Tests read their impressions back at once (tests of the buffer itself turn it on).
VITRINE_IMPRESSIONS_FLUSH_SECONDS = env.float("VITRINE_IMPRESSIONS_FLUSH_SECONDS", default=0.0)

# The login lockout stays on, as in production: each test's failures roll back with its transaction, and tests
# log in with force_login (Client.login passes no request, which axes refuses).
