import numpy as np
import pytest

from ml.dataset import Interactions
from ml.models.tifu import TIFUKNN

H = 3600.0


def test_user_vector_matches_hand_computation():
    # user 1 has 5 baskets (an hour apart); m=2 -> groups [b1], [b2,b3], [b4,b5]
    baskets = [["a"], ["a", "b"], ["c"], ["a"], ["b", "c"]]
    users, items, ts = [], [], []
    for j, basket in enumerate(baskets):
        for it in basket:
            users.append(1)
            items.append(it)
            ts.append(j * H + 1.0)
    users += [2, 2]  # a second user so that the item map has all items
    items += ["a", "d"]
    ts += [0.0, 0.0]
    data = Interactions.from_events(user_ids=users, item_ids=items, timestamps=ts)
    rb, rg, m = 0.5, 0.8, 2
    model = TIFUKNN(group_size=m, within_decay=rb, group_decay=rg, session_gap_seconds=60.0, n_neighbors=1).fit(data)

    vec = {c: np.zeros(4) for c in "abcd"}
    for c, idx in zip("abcd", range(4), strict=False):
        vec[c][idx] = 1.0
    b = [sum(vec[c] for c in basket) for basket in baskets]
    g1 = b[0] / 1  # first (short) group: one basket, decay exponent 0
    g2 = (rb * b[1] + b[2]) / 2
    g3 = (rb * b[3] + b[4]) / 2
    expected = (rg**2 * g1 + rg * g2 + g3) / 3
    u = data.user_map.to_index([1])[0]
    cols = data.item_map.to_index(list("abcd"))
    np.testing.assert_allclose(model.user_vectors_[u].toarray().ravel()[cols], expected, rtol=1e-6)


def test_prediction_blends_own_vector_and_nearest_neighbours():
    # three users, one basket each
    data = Interactions.from_events(
        user_ids=[1, 1, 2, 2, 3], item_ids=["a", "b", "a", "c", "d"], timestamps=[0, 0, 0, 0, 0]
    )
    model = TIFUKNN(n_neighbors=1, alpha=0.6).fit(data)
    U = model.user_vectors_.toarray()
    # nearest (Euclidean) to user 1 among users {2, 3}: user 2 (shares 'a')
    expected = 0.6 * U[0] + 0.4 * U[1]
    np.testing.assert_allclose(model.score_indices([0])[0], expected, rtol=1e-6)
    own_only = TIFUKNN(alpha=1.0).fit(data)
    np.testing.assert_allclose(own_only.score_indices([2])[0], U[2], rtol=1e-6)


def test_basket_fold_in_and_repeat_recommendation():
    data = Interactions.from_events(
        user_ids=[1, 1, 1, 2, 2], item_ids=["a", "b", "a", "b", "c"], timestamps=[0, 0, 5 * H, 0, 0]
    )
    model = TIFUKNN(n_neighbors=1, session_gap_seconds=60.0).fit(data)
    ids, scores = model.recommend_for_baskets([[["a"], ["a", "b"]], []], k=3)
    assert ids.shape == (2, 3) and ids[0, 0] == "a"  # repeats allowed by default
    ids, _ = model.recommend([1], k=3, exclude_seen=False)
    assert ids[0, 0] == "a"


def test_validation():
    with pytest.raises(ValueError):
        TIFUKNN(within_decay=0.0).fit(Interactions.from_matrix(np.ones((2, 2))))
