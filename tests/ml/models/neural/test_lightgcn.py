"""LightGCN against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from ml.models.neural.data import scipy_to_torch_csr
from ml.models.neural.lightgcn import LightGCN, LightGCNNet, normalized_adjacency


def test_lightgcn_adjacency_is_symmetric_normalisation():
    r = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 0]], dtype=np.float32))  # 2 users, 3 items (item 2 isolated)
    n = 5
    a = np.zeros((n, n))
    a[:2, 2:] = r.toarray()
    a[2:, :2] = r.toarray().T
    deg = a.sum(1)
    d = np.diag([1 / math.sqrt(x) if x > 0 else 0.0 for x in deg])
    expected = d @ a @ d
    got = normalized_adjacency(r).toarray()
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    # e.g. the user0-item1 edge: 1 / sqrt(deg(u0)=2 * deg(i1)=2)
    assert got[0, 3] == pytest.approx(0.5)
    assert (got[4] == 0).all()  # isolated node
    dense = scipy_to_torch_csr(normalized_adjacency(r), torch.device("cpu")).to_dense().numpy()
    np.testing.assert_allclose(dense, expected, rtol=1e-6)


def test_lightgcn_layer_mean_matches_dense_propagation():
    torch.manual_seed(0)
    r = sp.random(6, 5, density=0.5, random_state=1, format="csr", dtype=np.float32)
    r.data[:] = 1
    a_hat = normalized_adjacency(r)
    net = LightGCNNet(6, 5, factors=4, n_layers=3)
    users, items = net.propagate(scipy_to_torch_csr(a_hat, torch.device("cpu")))
    e0 = torch.cat([net.user_emb.weight, net.item_emb.weight]).detach().numpy().astype(np.float64)
    a = a_hat.toarray().astype(np.float64)
    layers = [e0, a @ e0, a @ a @ e0, a @ a @ a @ e0]  # no weights, no non-linearity
    mean = sum(layers) / 4
    np.testing.assert_allclose(users.detach().numpy(), mean[:6], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(items.detach().numpy(), mean[6:], rtol=1e-5, atol=1e-6)


def test_lightgcn_bpr_and_ego_l2_by_hand():
    torch.manual_seed(0)
    r = sp.csr_matrix(np.eye(3, dtype=np.float32))
    adj = scipy_to_torch_csr(normalized_adjacency(r), torch.device("cpu"))
    net = LightGCNNet(3, 3, factors=2, n_layers=1)
    u, p, q = torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([2, 2])
    bpr, reg = net.bpr_loss(adj, u, p, q, l2=0.1)
    uf, itf = net.propagate(adj)
    x = (uf[u] * itf[p]).sum(1) - (uf[u] * itf[q]).sum(1)
    assert float(bpr.detach()) == pytest.approx(float(-torch.log(torch.sigmoid(x)).mean().detach()), rel=1e-5)
    ego = net.user_emb.weight[u].pow(2).sum() + net.item_emb.weight[p].pow(2).sum() + net.item_emb.weight[q].pow(2).sum()
    assert float(reg.detach()) == pytest.approx(0.1 * float(ego.detach()) / 2 / 2, rel=1e-5)


def test_lightgcn_fold_in_is_one_node_propagation(small):
    model = LightGCN(factors=8, n_layers=2, epochs=2, batch_size=256, lr=1e-2, device="cpu").fit(small)
    items = np.array([1, 4, 7])
    history = sp.csr_matrix((np.ones(3, np.float32), (np.zeros(3), items)), shape=(1, small.n_items))
    got = model.fold_in_vectors(history)[0]
    # by hand: e_u^(k+1) = sum_i e_i^(k) / sqrt(|N_u| |N_i|), e_u^(0) = 0, mean over K+1 layers
    adj = scipy_to_torch_csr(normalized_adjacency(small.binarized()), torch.device("cpu"))
    with torch.no_grad():
        layers = [x[small.n_users :].numpy() for x in model.net_.layers(adj)]
    deg = small.item_counts()[items]
    e = [np.zeros(8)]
    for k in range(2):
        e.append((layers[k][items] / np.sqrt(3 * deg)[:, None]).sum(0))
    np.testing.assert_allclose(got, np.mean(e, axis=0), rtol=1e-4, atol=1e-6)
