import pytest

from tests.recommendations.serving_support import install_model, serving_model_fit, world_create


@pytest.fixture
def world(db, monkeypatch):
    """A small shop with planted taste groups whose fitted iALS model is the active serving model."""
    world = world_create()
    world.serving = serving_model_fit(world)
    install_model(monkeypatch, world.serving)
    return world
