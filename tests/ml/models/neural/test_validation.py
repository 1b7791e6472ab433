"""The early-stopping hold-out and NDCG@k."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
import torch

from ml.models.neural.validation import holdout_matrix, ndcg_at_k


def test_holdout_and_ndcg():
    m = sp.random(50, 30, density=0.3, random_state=0, format="csr", dtype=np.float32)
    m.data[:] = 1
    split = holdout_matrix(m, np.random.default_rng(0), val_fraction=0.2)
    assert len(split.users) == 10
    assert split.train.nnz + split.truth.nnz == m.nnz
    assert split.train[split.users].multiply(split.truth).nnz == 0
    truth = sp.csr_matrix(np.array([[0, 1, 0, 0], [1, 0, 0, 1]], dtype=np.float32))
    scores = torch.tensor([[0.0, 1.0, 0.5, 0.2], [0.9, 0.1, 0.8, 0.0]])
    got = ndcg_at_k(scores, truth, 2)
    np.testing.assert_allclose(got, [1.0, 1.0 / (1 + 1 / math.log2(3))])
