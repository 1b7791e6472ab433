"""Fixtures shared by the neural model tests."""

from __future__ import annotations

import pytest
import torch

from ml.dataset import Interactions
from ml.synthetic import planted_interactions


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def small() -> Interactions:
    return planted_interactions(n_users=80, n_items=40, n_clusters=4, interactions_per_user=10, seed=3).to_interactions()
