import numpy as np

from ml.dataset import Interactions, ItemFeatures
from ml.models.popularity import CategoryPopularityRecommender, PopularityRecommender, TrendingRecommender

DAY = 86400.0


def test_global_popularity_counts_users_or_weights():
    data = Interactions.from_matrix(np.array([[5, 1, 0], [0, 1, 0], [0, 1, 1]]), item_ids=["a", "b", "c"])
    ids, scores = PopularityRecommender().fit(data).recommend([0], k=3, exclude_seen=False)
    assert ids[0].tolist() == ["b", "a", "c"]  # ties broken by lower index
    ids, _ = PopularityRecommender(by="weight").fit(data).recommend([1], k=3, exclude_seen=False)
    assert ids[0, 0] == "a"


def test_category_popularity_prefers_the_users_categories():
    X = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    feats = ItemFeatures(category=[0, 0, 7, 7])
    data = Interactions.from_matrix(X, item_features=feats)
    model = CategoryPopularityRecommender(n_categories=1).fit(data)
    ids, _ = model.recommend([3], k=2)  # user 3 likes category 7: item 3 before popular items 0/1
    assert ids[0, 0] == 3
    ids, _ = model.recommend([0], k=1)
    assert ids[0, 0] == 1


def test_trending_decays_old_events():
    t0 = 1_700_000_000.0
    users = [1, 2, 3, 4, 5]
    items = ["old", "old", "old", "new", "new"]
    ts = [t0, t0, t0, t0 + 30 * DAY, t0 + 30 * DAY]
    data = Interactions.from_events(user_ids=users, item_ids=items, timestamps=ts)
    model = TrendingRecommender(half_life_days=7.0).fit(data)
    ids, scores = model.recommend([1], k=2, exclude_seen=False)
    assert ids[0].tolist() == ["new", "old"]
    np.testing.assert_allclose(scores[0], [2.0, 3 * 0.5 ** (30 / 7)], rtol=1e-5)
    assert PopularityRecommender().fit(data).recommend([1], k=1, exclude_seen=False)[0][0, 0] == "old"
