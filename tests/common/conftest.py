import pytest
from rest_framework.throttling import SimpleRateThrottle

WINDOW_START = 60 * 29_000_000  # a minute boundary


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    """The throttles' time, 10 s into a window, with 3 requests a minute per scope: ``clock[0] = ...`` moves it."""
    now = [WINDOW_START + 10.0]
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "3/min", "user": "3/min"})
    monkeypatch.setattr(SimpleRateThrottle, "timer", staticmethod(lambda: now[0]))
    return now
