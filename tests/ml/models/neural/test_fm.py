"""The FM's pairwise term against the naive O(n^2) sum."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.models.neural.fm import FMNet, fm_pairwise_naive


def test_fm_pairwise_term_equals_naive_sum():
    torch.manual_seed(0)
    fm = FMNet(12, factors=5, init_std=0.5)
    idx = torch.tensor([[0, 3, 4, 7, 11]])
    val = torch.tensor([[1.0, 0.5, 0.0, 2.0, 0.25]])
    _, _, pair = fm.parts(idx, val)
    expected = fm_pairwise_naive(fm.v.weight[idx[0]], val[0])
    assert float(pair.detach()) == pytest.approx(float(expected.detach()), rel=1e-5)
    # and a brute-force check of the naive reference itself
    v = fm.v.weight[idx[0]].detach().numpy().astype(np.float64)
    x = val[0].numpy().astype(np.float64)
    brute = sum(v[i] @ v[j] * x[i] * x[j] for i in range(5) for j in range(i + 1, 5))
    assert float(expected.detach()) == pytest.approx(brute, rel=1e-5)
