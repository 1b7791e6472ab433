import subprocess
import sys
from pathlib import Path

import pytest

from ml.models.base import Recommender
from ml.models.registry import available_models, config_class, get_model_class, model_from_config, model_to_config

CLASSIC = ["content", "ease", "ials", "itemknn", "pop", "pop_category", "slim", "tifuknn", "trending"]


def test_all_classic_models_are_registered():
    names = available_models()
    assert set(CLASSIC) <= set(names)
    for name in CLASSIC:
        cls = get_model_class(name)
        assert issubclass(cls, Recommender) and cls.name == name


def test_model_from_config_builds_and_validates():
    model = model_from_config({"name": "ease", "l2": 250})
    assert type(model).__name__ == "EASE" and model.l2 == 250
    assert model_to_config(model) == {"name": "ease", **model.get_params()}
    assert model_from_config("pop").get_params() == {"by": "users"}
    with pytest.raises(ValueError, match="unknown model"):
        model_from_config({"name": "nope"})
    with pytest.raises(ValueError, match="unknown parameter"):
        model_from_config({"name": "ease", "lambda": 3})
    with pytest.raises(ValueError, match="should be"):
        model_from_config({"name": "ease", "l2": "big"})
    with pytest.raises(ValueError, match="should be"):
        model_from_config({"name": "itemknn", "weighting": "jaccard"})
    with pytest.raises(ValueError):
        model_from_config({"name": "ials", "factors": 0})
    cfg = config_class(get_model_class("slim"))
    assert cfg().n_neighbors == 100


def test_registry_and_core_are_import_light():
    code = (
        "import sys, ml, ml.split, ml.synthetic, ml.artifacts\n"
        "from ml.models.registry import available_models, get_model_class\n"
        "available_models(); get_model_class('ease'); get_model_class('ials')\n"
        "bad = [m for m in ('django', 'torch', 'faiss') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    root = Path(__file__).resolve().parents[3]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, timeout=120)
