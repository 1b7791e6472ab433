"""The negative sampler."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ml.models.neural.data import NegativeSampler


def test_negative_sampler_avoids_positives():
    m = sp.csr_matrix(np.array([[1, 1, 1, 0, 0], [0, 0, 0, 0, 1]], dtype=np.float32))
    users = np.array([0, 0, 1, 1] * 50)
    neg = NegativeSampler(m).sample(users, 3, np.random.default_rng(0))
    assert neg.shape == (200, 3)
    assert not np.isin(neg[users == 0], [0, 1, 2]).any() and not (neg[users == 1] == 4).any()
