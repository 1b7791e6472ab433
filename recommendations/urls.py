"""Site pages of the recommendations app (feed, swipe, preferences, my data...)."""
from django.urls import path  # noqa: F401

urlpatterns: list = []
