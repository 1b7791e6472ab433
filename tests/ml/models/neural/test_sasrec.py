"""SASRec's causal attention."""

from __future__ import annotations

import torch

from ml.models.neural.sasrec import SASRecNet


def test_sasrec_causal_mask_blocks_future_positions():
    torch.manual_seed(0)
    net = SASRecNet(30, hidden=16, max_len=8, n_blocks=2, n_heads=2, dropout=0.0).eval()
    a = torch.tensor([[0, 0, 3, 4, 5, 6, 7, 8]])
    b = a.clone()
    b[0, 6] = 21  # change a future item
    with torch.no_grad():
        ha, hb = net(a), net(b)
    torch.testing.assert_close(ha[0, :6], hb[0, :6])  # earlier positions unchanged
    assert not torch.allclose(ha[0, 6:], hb[0, 6:])
    assert torch.isfinite(ha).all()  # padded rows never see an all-masked row (NaN)
