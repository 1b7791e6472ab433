"""BERT4Rec's bidirectional attention and Cloze masking."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.models.neural.bert4rec import BERT4RecNet, cloze_mask
from ml.models.neural.sequence import pad_left


def test_bert4rec_is_bidirectional():
    torch.manual_seed(0)
    net = BERT4RecNet(30, hidden=16, max_len=8, dropout=0.0).eval()
    a = torch.tensor([[0, 0, 3, 4, 5, 6, 7, 31]])  # 31 = [MASK]
    b = a.clone()
    b[0, 6] = 21
    with torch.no_grad():
        assert not torch.allclose(net.encoder(a)[0, :6], net.encoder(b)[0, :6])


def test_bert4rec_masking_ratio():
    rng = np.random.default_rng(0)
    seqs = [rng.integers(0, 50, size=n) for n in rng.integers(5, 40, size=2000)]
    tokens = pad_left(seqs, 40)
    inputs, labels = cloze_mask(tokens, mask_token=51, mask_prob=0.2, rng=rng)
    valid = tokens != 0
    masked = inputs == 51
    assert not (masked & ~valid).any(), "padding is never masked"
    assert masked.sum() / valid.sum() == pytest.approx(0.2, abs=0.01)
    np.testing.assert_array_equal(labels[masked], tokens[masked])
    assert (labels[~masked] == 0).all()
    assert masked.any(axis=1).all(), "every sequence trains"
    # the "mask only the last item" samples
    inputs, _ = cloze_mask(tokens, 51, 0.2, rng, last_mask_ratio=1.0)
    assert ((inputs == 51).sum(1) == 1).all() and (inputs[:, -1] == 51).all()
