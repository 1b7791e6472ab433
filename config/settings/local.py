"""Local development / embedded default (``make run``)."""
from config.settings.base import *  # noqa: F403 - a settings layer starts from every base setting
from config.settings.base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
