"""Model-specific checks of the neural recommenders against hand computations."""

from __future__ import annotations

import io
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

torch = pytest.importorskip("torch")

from ml.artifacts import ArtifactError, write_checksums  # noqa: E402
from ml.dataset import Interactions  # noqa: E402
from ml.models.base import Recommender  # noqa: E402
from ml.models.neural.bert4rec import BERT4Rec, BERT4RecNet, cloze_mask  # noqa: E402
from ml.models.neural.data import NegativeSampler, scipy_to_torch_csr  # noqa: E402
from ml.models.neural.feature_ranker import FIELDS, USER_FIELDS  # noqa: E402
from ml.models.neural.fm import FactorizationMachine, FMNet, fm_pairwise_naive  # noqa: E402
from ml.models.neural.lightgcn import LightGCN, LightGCNNet, normalized_adjacency  # noqa: E402
from ml.models.neural.multivae import (  # noqa: E402
    MultiVAE,
    anneal_beta,
    gaussian_kl,
    multinomial_log_likelihood,
    multivae_loss,
)
from ml.models.neural.sasrec import SASRec, SASRecNet  # noqa: E402
from ml.models.neural.sequence import pad_left  # noqa: E402
from ml.models.neural.training import fit_loop, resolve_device  # noqa: E402
from ml.models.neural.validation import holdout_matrix, ndcg_at_k  # noqa: E402
from ml.models.neural.widedeep import WideDeep, WideDeepNet  # noqa: E402
from ml.models.registry import model_from_config  # noqa: E402
from ml.synthetic import planted_interactions  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def small() -> Interactions:
    return planted_interactions(n_users=80, n_items=40, n_clusters=4, interactions_per_user=10, seed=3).to_interactions()


# --------------------------------------------------------------------------- LightGCN


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


# --------------------------------------------------------------------------- MultiVAE


def test_multivae_loss_pieces_by_hand():
    logits = torch.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    x = torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]])
    mu = torch.tensor([[0.5, -0.2], [0.0, 1.0]])
    logvar = torch.tensor([[0.1, -0.3], [0.0, 0.2]])
    lg = logits.numpy().astype(np.float64)
    logsoft = lg - np.log(np.exp(lg).sum(1, keepdims=True))
    ll = (logsoft * x.numpy()).sum(1)
    np.testing.assert_allclose(multinomial_log_likelihood(logits, x).numpy(), ll, rtol=1e-6)
    m, lv = mu.numpy().astype(np.float64), logvar.numpy().astype(np.float64)
    kl = 0.5 * (np.exp(lv) + m**2 - 1 - lv).sum(1)
    np.testing.assert_allclose(gaussian_kl(mu, logvar).numpy(), kl, rtol=1e-6)
    assert float(multivae_loss(logits, x, mu, logvar, beta=0.3)) == pytest.approx(float(np.mean(-ll + 0.3 * kl)), rel=1e-6)
    assert float(gaussian_kl(torch.zeros(1, 4), torch.zeros(1, 4))) == 0.0  # q = prior


def test_multivae_beta_annealing():
    assert anneal_beta(0, 100, 0.2) == 0.0
    assert anneal_beta(10, 100, 0.2) == pytest.approx(0.1)
    assert anneal_beta(1000, 100, 0.2) == pytest.approx(0.2)  # capped
    assert anneal_beta(5, 0, 0.2) == pytest.approx(0.2)


def test_multivae_scores_equal_decoder_logits(small):
    model = MultiVAE(hidden=16, latent=8, epochs=2, batch_size=32, device="cpu").fit(small)
    users = np.arange(5)
    with torch.no_grad():
        x = torch.from_numpy(small.matrix[users].toarray())
        logits = model.net_.eval()(x)[0].numpy()
    np.testing.assert_allclose(model.score_indices(users), logits, rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------- SASRec / BERT4Rec


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


def test_sequence_models_read_order(small):
    sas = SASRec(hidden=16, max_len=10, epochs=2, batch_size=32, device="cpu").fit(small)
    items = small.item_map.external_ids[[1, 5, 9]].tolist()
    fwd = sas.sequence_vectors([items])
    rev = sas.sequence_vectors([items[::-1]])
    assert not np.allclose(fwd, rev)
    # known users are scored from their logged sequence: equals folding in that sequence
    log = small.log.positive()
    u = int(log.user_index[0])
    seq = small.item_map.to_external(log.item_index[log.user_index == u]).tolist()
    np.testing.assert_allclose(sas.sequence_vectors([seq])[0], sas.user_vectors([u])[0], rtol=1e-4, atol=1e-5)
    ids, _ = sas.recommend_for_items([seq[-3:]], 5)  # anonymous session
    assert ids.shape == (1, 5) and not np.isin(ids, seq[-3:]).any()


# --------------------------------------------------------------------------- FM / Wide & Deep


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


# --------------------------------------------------------------------------- shared machinery


def test_save_load_uses_weights_only(small, tmp_path: Path):
    model = NCF_small().fit(small)
    path = model.save(tmp_path / "ncf")
    state = torch.load(path / "weights.pt", weights_only=True)
    assert set(state) == set(model.net_.state_dict())
    loaded = Recommender.load(path)
    np.testing.assert_array_equal(loaded.score_indices([0, 1]), model.score_indices([0, 1]))

    # a weights file that needs unpickling of arbitrary objects is refused even with a
    # valid checksum (weights_only=True), not executed
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    buf = io.BytesIO()
    torch.save({"x": Evil()}, buf)
    (path / "weights.pt").write_bytes(buf.getvalue())
    write_checksums(path, ["config.json", "arrays.npz", "weights.pt"])
    with pytest.raises(ArtifactError):
        Recommender.load(path)


def NCF_small():
    from ml.models.neural.ncf import NCF

    return NCF(factors=4, mlp_layers=1, epochs=2, batch_size=256, device="cpu")


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError):
            resolve_device("cuda")
    with pytest.raises(ValueError):
        resolve_device("tpu")
    with pytest.raises(ValueError):
        MultiVAE(device="tpu")._validate_params()


def test_fit_loop_early_stopping_restores_best_state():
    net = torch.nn.Linear(1, 1, bias=False)
    scores = iter([0.1, 0.5, 0.3, 0.2, 0.4, 0.9])
    seen = []

    def run_epoch(epoch):
        with torch.no_grad():
            net.weight.fill_(float(epoch))
        return 0.0

    history = fit_loop(net, run_epoch, epochs=6, evaluate=lambda: next(scores), patience=3, progress=seen.append)
    assert history.best_epoch == 1 and history.stopped_early and len(history.epochs) == 5  # 3 evals w/o gain
    assert float(net.weight.detach()) == 1.0  # weights of the best epoch restored
    assert [r["epoch"] for r in seen] == [0, 1, 2, 3, 4] and seen[1]["val_ndcg"] == 0.5


def test_negative_sampler_avoids_positives():
    m = sp.csr_matrix(np.array([[1, 1, 1, 0, 0], [0, 0, 0, 0, 1]], dtype=np.float32))
    users = np.array([0, 0, 1, 1] * 50)
    neg = NegativeSampler(m).sample(users, 3, np.random.default_rng(0))
    assert neg.shape == (200, 3)
    assert not np.isin(neg[users == 0], [0, 1, 2]).any() and not (neg[users == 1] == 4).any()


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


def test_progress_callback_and_history(small):
    events = []
    model = MultiVAE(hidden=8, latent=4, epochs=3, batch_size=32, patience=0, device="cpu")
    model.progress_callback = events.append
    model.fit(small)
    assert [e["epoch"] for e in events] == [0, 1, 2] and all("val_ndcg" in e for e in events)
    assert len(model.history.epochs) == 3 and model.history.seconds_per_epoch > 0


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
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])
