import numpy as np
import pytest

from ml.dataset import Interactions
from ml.split import leave_last_out, per_user_temporal_split, random_split, temporal_split, validation_split
from ml.synthetic import planted_interactions


@pytest.fixture(scope="module")
def data() -> Interactions:
    return planted_interactions(n_users=200, n_items=80, n_clusters=4, interactions_per_user=15, seed=2,
                                repeat_probability=0.2).to_interactions()


def pairs(x: Interactions) -> set[tuple[int, int]]:
    c = x.matrix.tocoo()
    return set(zip(c.row.tolist(), c.col.tolist(), strict=False))


def pair_last_time(x: Interactions) -> dict[tuple[int, int], float]:
    out: dict[tuple[int, int], float] = {}
    for u, i, t in zip(x.log.user_index.tolist(), x.log.item_index.tolist(), x.log.timestamp.tolist(), strict=False):
        out[(u, i)] = max(out.get((u, i), -np.inf), t)
    return out


def test_random_split_disjoint_complete_seeded(data):
    train, test = random_split(data, test_size=0.25, seed=1)
    assert train.user_map is data.user_map and test.item_map is data.item_map
    assert not (pairs(train) & pairs(test))
    assert pairs(train) | pairs(test) == pairs(data)
    again = random_split(data, test_size=0.25, seed=1)[1]
    other = random_split(data, test_size=0.25, seed=2)[1]
    assert pairs(again) == pairs(test) and pairs(other) != pairs(test)
    counts, held = data.user_counts(), test.user_counts()
    many = counts >= 2
    assert (held[many] >= 1).all() and (held <= np.maximum(counts - 1, 0)).all()
    assert abs(held.sum() / counts.sum() - 0.25) < 0.05
    # weights of held-out pairs are unchanged (all events of a pair move together)
    np.testing.assert_allclose(test.matrix.toarray()[test.matrix.toarray() > 0],
                               data.matrix.toarray()[test.matrix.toarray() > 0])
    assert len(train.log) + len(test.log) == len(data.log)


def test_random_split_without_log():
    m = Interactions.from_matrix(np.ones((5, 6)))
    train, test = random_split(m, test_size=0.5, seed=0)
    assert train.nnz + test.nnz == 30 and test.log is None
    with pytest.raises(ValueError, match="log"):
        leave_last_out(m)


def test_leave_last_out_takes_the_latest(data):
    train, test = leave_last_out(data, n=1)
    last = pair_last_time(data)
    counts = data.user_counts()
    assert (test.user_counts() == np.where(counts > 1, 1, 0)).all()
    for u, i in pairs(test):
        user_times = [t for (uu, _), t in last.items() if uu == u]
        assert last[(u, i)] == max(user_times)
    assert not (pairs(train) & pairs(test))
    train2, test2 = leave_last_out(data, n=2)
    assert test2.user_counts().max() == 2 and pairs(test) <= pairs(test2)


def test_per_user_temporal_split(data):
    train, test = per_user_temporal_split(data, test_size=0.3)
    last_train, last_test = pair_last_time(train), pair_last_time(test)
    for u in range(data.n_users):
        tr = [t for (uu, _), t in last_train.items() if uu == u]
        te = [t for (uu, _), t in last_test.items() if uu == u]
        if tr and te:
            assert max(tr) <= min(te)


def test_temporal_split_global_cutoff(data):
    train, test = temporal_split(data, test_size=0.2, filter_seen=False, drop_cold=False)
    cutoff = test.meta["cutoff"]
    assert train.log.timestamp.max() < cutoff <= test.log.timestamp.min()
    assert len(train.log) + len(test.log) == len(data.log)
    assert abs(len(test.log) / len(data.log) - 0.2) < 0.01
    train_f, test_f = temporal_split(data, cutoff=cutoff)
    assert not (pairs(train_f) & pairs(test_f))  # filter_seen
    assert (train_f.user_counts()[test_f.user_counts() > 0] > 0).all()  # drop_cold
    assert (train_f.item_counts()[test_f.item_counts() > 0] > 0).all()
    with pytest.raises(ValueError):
        temporal_split(data)


def test_validation_split_dispatches(data):
    train, _ = random_split(data, seed=0)
    fit, val = validation_split(train, method="leave_last_out")
    assert fit.user_map is data.user_map and not (pairs(fit) & pairs(val))
    fit2, val2 = validation_split(train)
    assert pairs(fit2) | pairs(val2) == pairs(train)
    with pytest.raises(ValueError):
        validation_split(train, method="nope")
