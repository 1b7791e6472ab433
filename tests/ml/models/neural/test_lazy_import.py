"""The neural package registers its models without importing torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ml.models.neural.bert4rec import BERT4Rec
from ml.models.registry import model_from_config


def test_registry_builds_by_name_without_importing_torch_early():
    model = model_from_config({"name": "bert4rec", "hidden": 16, "n_heads": 2})
    assert isinstance(model, BERT4Rec) and model.hidden == 16
    with pytest.raises(ValueError):
        model_from_config({"name": "sasrec", "hidden": 10, "n_heads": 3})  # not divisible
    code = (
        "import sys; from ml.models.registry import available_models; names = available_models(); "
        "assert {'multivae','lightgcn','ncf','sasrec','bert4rec','fm','widedeep'} <= set(names), names; "
        "assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[4])
