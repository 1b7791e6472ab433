"""What FM and Wide & Deep share: all-items scoring, the ranking-stage score API, context."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from ml.dataset import Interactions
from ml.models.neural.feature_ranker import FIELDS, USER_FIELDS
from ml.models.neural.fm import FactorizationMachine, FMNet
from ml.models.neural.widedeep import WideDeep, WideDeepNet


def _random_slots(sizes, slots, b, side, gen):
    off, total = {}, 0
    for f in FIELDS:
        off[f] = total
        total += sizes[f]
    fs = [s for s in slots if (s in USER_FIELDS) == (side == "user")]
    idx = torch.stack([torch.randint(0, sizes[f], (b,), generator=gen) + off[f] for f in fs], 1)
    val = (idx != torch.tensor([off[f] for f in fs])).float() * torch.rand(b, len(fs), generator=gen)
    return idx, val, total


@pytest.mark.parametrize("kind", ["fm", "widedeep"])
def test_all_items_scoring_equals_pairwise_forward(kind):
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    sizes = {"user": 6, "device": 3, "hour": 25, "item": 8, "category": 4, "price": 5, "tags": 7}
    slots = list(USER_FIELDS) + ["item", "category", "price", "tags", "tags"]
    ui, uv, total = _random_slots(sizes, slots, 3, "user", gen)
    ii, iv, _ = _random_slots(sizes, slots, 8, "item", gen)
    net = FMNet(total, 4, init_std=0.3) if kind == "fm" else WideDeepNet(sizes, slots, embed_dim=4, hidden=(8, 4), cross_buckets=64)
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.3)
    net.eval()
    grid = net.score_all(ui, uv, ii, iv)
    idx = torch.cat([ui[:, None].expand(-1, 8, -1), ii[None].expand(3, -1, -1)], -1).reshape(24, -1)
    val = torch.cat([uv[:, None].expand(-1, 8, -1), iv[None].expand(3, -1, -1)], -1).reshape(24, -1)
    torch.testing.assert_close(grid, net(idx, val).reshape(3, 8), rtol=1e-5, atol=1e-5)


def test_ranker_score_api_and_context(small):
    n = len(small.log)
    rng = np.random.default_rng(0)
    import dataclasses

    log = dataclasses.replace(small.log, context={"device": rng.choice(["ios", "web"], size=n)})
    small = small.replace(log=log)  # context travels with the event log (as the training snapshot sends it)
    fm = FactorizationMachine(factors=8, epochs=2, batch_size=256, device="cpu").fit(small)
    assert fm.device_vocab_ == ["ios", "web"]
    users = np.array([0, 1, 2])
    items = np.arange(small.n_items)
    # recommend's scores are exact FM logits with each user's usual context
    logits = np.stack([fm.score(u, items) for u in users])
    np.testing.assert_allclose(fm.score_indices(users), logits, rtol=1e-4, atol=1e-4)
    web = fm.score(0, items, context={"device": "web", "hour": 3})
    ios = fm.score(0, items, context={"device": "ios", "hour": 3})
    assert web.shape == (small.n_items,) and not np.allclose(web, ios)
    assert np.isfinite(fm.score(-1, items)).all()  # anonymous user
    wd = WideDeep(embed_dim=8, hidden=16, n_hidden_layers=2, cross_buckets=512, epochs=2, batch_size=256, device="cpu").fit(small)
    np.testing.assert_allclose(wd.score_indices([4]), wd.score(4, items)[None], rtol=1e-4, atol=1e-4)
    assert wd.score(4, items[:5], context={"device": ["ios", "web", "tv", None, "web"]}).shape == (5,)


def test_ranker_without_log_or_features():
    m = sp.random(30, 20, density=0.3, random_state=0, format="csr", dtype=np.float32)
    m.data[:] = 1
    data = Interactions.from_matrix(m)
    fm = FactorizationMachine(factors=4, epochs=2, device="cpu").fit(data)
    ids, scores = fm.recommend([0, 1], 5)
    assert ids.shape == (2, 5) and np.isfinite(scores).all()
